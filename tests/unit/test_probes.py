"""Probes: inputs near the examples, observed on every candidate (fleet/evidence/probes.py), and
what the council does with them: passing candidates that disagree do not settle it, behaviour
shared by more authors ranks first within the passing tier, critics and revisers see the
differences."""

from __future__ import annotations

import ast

from fleet.contracts import Evidence, Patch, Proposal
from fleet.contracts import TestOutcome as Outcome
from fleet.council.protocol import CouncilState
from fleet.council.schemas import Brief, DeliberationRequest
from fleet.evidence import EvidenceSuite, agree
from fleet.evidence.acceptance import FINDER
from fleet.evidence.probes import (
    conflicts,
    contested,
    differences,
    probe_calls,
    probe_module,
    same_behaviour,
    support,
    witnessed,
)
from fleet.evidence.suite import evidence_of, outcomes, with_suite

T = "tests/test_t1_acceptance.py::test_add_1"


def _ev(pid: str, passed: bool = True, **observed: str) -> Evidence:
    return Evidence(
        proposal_id=pid,
        passed=passed,
        tests_passed=int(passed),
        tests_failed=int(not passed),
        tests=(Outcome(test_id=T, passed=passed),),
        observed={k.replace("_", "(") + ")": v for k, v in observed.items()},
    )


def test_probe_calls_vary_each_argument_and_leave_out_the_examples_themselves():
    calls = probe_calls(["add(2, 3) returns 5", "add(0, 0) returns 0", "f(g(1)) returns 2"])
    assert calls == probe_calls(["add(2, 3) returns 5", "add(0, 0) returns 0", "f(g(1)) returns 2"])
    assert "add(2, 3)" not in calls and "add(0, 0)" not in calls
    assert {"add(3, 3)", "add(1, 0)", "add(2, 4)"} <= set(calls)  # each argument varied
    assert not any(c.startswith("f(") for c in calls)  # a call in the arguments is no literal
    assert len(probe_calls(["g([1, 2, 3], 'ab') returns 1"], limit=4)) == 4
    assert probe_calls(["the sum is shown"]) == []


def test_probe_calls_vary_strings_lists_and_keep_types():
    calls = probe_calls(["f('abc', [3, 1]) returns 1"], limit=20)
    args = [ast.literal_eval(f"({c[2:-1]},)") for c in calls]
    assert all(isinstance(a, str) and isinstance(b, list) for a, b in args)
    assert ("cba", [3, 1]) in args and ("abc", [1, 3]) in args
    # a string and a list in one call: their lengths are kept (they often go in pairs)
    assert all(len(a) == 3 and len(b) == 2 for a, b in args)
    assert len(probe_calls(["g('abc') returns 1"], limit=20)) == 4  # alone, it may change length
    assert probe_calls(["xor('010', '110') returns '100'"]) == ["xor('010', '011')"]


def test_probe_module_is_valid_python_with_one_observation_per_call():
    source = probe_module(["add(3, 3)", "add(2, 'x')"], FINDER.format(depth=1))
    assert source is not None
    tree = ast.parse(source)
    tests = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [t for t in tests if t.startswith("test_")] == ["test_probe_1", "test_probe_2"]
    assert "record_property" in source and "setitimer" in source
    assert probe_module([], FINDER.format(depth=1)) is None


def test_junit_properties_become_observations_not_tests():
    xml = (
        '<testsuites><testsuite><testcase classname="tests.test_t1_acceptance" name="test_add_1"/>'
        '<testcase classname="tests.test_t1_probes" name="test_probe_1"><properties>'
        '<property name="probe" value="add(3, 3)"/><property name="observed" value="returns 6"/>'
        "</properties></testcase></testsuite></testsuites>"
    )
    got = outcomes(xml)
    assert [t.probe for t in got] == [None, "add(3, 3)"]
    ev = evidence_of("p", got, digest="h")
    assert ev.passed and ev.tests_passed == 1 and ev.tests_failed == 0
    assert [t.test_id for t in ev.tests] == [T]
    assert ev.observed == {"add(3, 3)": "returns 6"}


def test_behaviour_compares_values_and_raises_not_timeouts():
    a = _ev("a", add_3=("returns 6"), add_4="returns 7")
    b = _ev("b", add_3="returns 9", add_4="returns 7")
    slow = _ev("slow", add_3="timeout", add_4="returns 7")
    rejects = _ev("rejects", add_3="raises TypeError", add_4="raises TypeError")
    assert conflicts(a, b) == ["add(3)"] and not same_behaviour(a, b)
    assert conflicts(a, slow) == [] and same_behaviour(a, slow)  # a timeout is no value
    assert not same_behaviour(a, rejects)  # nothing in common: no evidence of agreement
    by = {e.proposal_id: e for e in (a, b, slow)}
    authors = {"a": "dev-1", "b": "dev-2", "slow": "dev-3"}
    # slow agrees with both where it returned a value (add(4)): alike is pairwise, not a partition
    assert support(by, ["a", "b", "slow"], authors) == {"a": 2, "b": 2, "slow": 3}
    assert support(by, ["a", "b"], authors) == {"a": 1, "b": 1}
    assert support({"x": _ev("x")}, ["x"], {}) == {"x": 0}  # no probes, no support
    # raising where the others return a value is behaving differently, not agreeing with all:
    # a cut_suffix that raised NameError on one probe won the tier over two working versions
    crash = _ev("crash", add_3="raises NameError", add_4="returns 7")
    by = {e.proposal_id: e for e in (a, b, crash)}
    assert not same_behaviour(a, crash) and not same_behaviour(crash, b)
    assert support(by, ["a", "b", "crash"], {**authors, "crash": "dev-3"}) == dict.fromkeys(by, 1)
    both = _ev("both", add_3="raises NameError", add_4="returns 7")
    assert same_behaviour(crash, both)  # the same raise and the same value: alike
    assert differences(a, {"dev-2": b}) == ["on add(3): 6 here, dev-2's 9"]


def test_contested_needs_a_clash_and_no_majority_of_authors():
    a, b = _ev("a", add_3="returns 6"), _ev("b", add_3="returns 9")
    c = _ev("c", add_3="returns 6")
    by = {e.proposal_id: e for e in (a, b, c)}
    authors = {"a": "dev-1", "b": "dev-2", "c": "dev-3"}
    assert contested(by, ["a", "b"], authors)  # one against one
    assert not contested(by, ["a", "b", "c"], authors)  # two of three agree
    assert not contested(by, ["a", "c"], authors)  # no clash
    # two versions of one author count once: still one against one
    assert contested(by, ["a", "b", "c"], {"a": "dev-1", "b": "dev-2", "c": "dev-1"})


def test_the_base_commit_witnesses_where_the_candidates_differ():
    # funcy-cut-suffix: two developers wrote the same wrong change, one the right guard; all
    # passed the suite. On a non-empty suffix the two broke what the base did right.
    right = _ev("r", cut_1="returns 'name.'", cut_2="returns 'name.py'")
    wrong = _ev("w", cut_1="returns 'py'", cut_2="returns 'name.py'")
    twin = _ev("t", cut_1="returns 'py'", cut_2="returns 'name.py'")
    by = {e.proposal_id: e for e in (right, wrong, twin)}
    authors = {"r": "dev-1", "w": "dev-2", "t": "dev-3"}
    # the reported call (cut(2)): every candidate fixed it, so the base (wrong there) is no witness
    before = {"cut(1)": "returns 'name.'", "cut(2)": "returns ''"}
    assert witnessed(by, ["r", "w", "t"], before) == {"r"}
    assert support(by, ["r", "w", "t"], authors) == {"r": 1, "w": 2, "t": 2}
    assert support(by, ["r", "w", "t"], authors, before) == {"r": 2, "w": 2, "t": 2}
    # without the base two of three agree; with it, two against two: a ballot, not a majority
    assert not contested(by, ["r", "w", "t"], authors)
    assert contested(by, ["r", "w", "t"], authors, before)
    # the base raising, or silent on the split inputs, witnesses nothing
    assert witnessed(by, ["r", "w", "t"], {"cut(1)": "raises ValueError"}) == set()
    assert witnessed(by, ["r", "w", "t"], {"cut(2)": "returns ''"}) == set()
    # siding with the majority, the base makes it larger
    assert support(by, ["r", "w", "t"], authors, {"cut(1)": "returns 'py'"})["w"] == 3


def test_within_the_passing_tier_the_behaviour_more_authors_share_ranks_first():
    evidence = [
        _ev("lone", add_3="returns 9"),
        _ev("pair-1", add_3="returns 6"),
        _ev("pair-2", add_3="returns 6"),
        _ev("fails", passed=False, add_3="returns 9"),
    ]
    found = agree(evidence)
    assert found.behaviour == {"lone": 1, "pair-1": 2, "pair-2": 2}
    best = max(["lone", "pair-1", "pair-2", "fails"], key=found.key)
    assert best == "pair-1"
    assert found.key("fails") < found.key("lone")  # failing the suite still ranks lowest


def _state(*observed: tuple[str, str]) -> CouncilState:
    suite = EvidenceSuite(files={"tests/test_t1_acceptance.py": "def test_add_1():\n    pass\n"})
    req = DeliberationRequest(
        id="d", story_id="s", task="t", members=("developer-1", "developer-2", "developer-3"),
        proposers=("developer-1", "developer-2", "developer-3"), rule="evidence", suite=suite,
        source="/repo",
    )  # fmt: skip
    state = CouncilState(request=req)
    for n, (value, passed) in enumerate(observed, 1):
        author = f"developer-{n}"
        diff = f"diff --git a/c.py b/c.py\n--- a/c.py\n+++ b/c.py\n@@ -1 +1 @@\n-x\n+y{n}\n"
        patch = with_suite(Patch(base_commit="c", diff=diff, files=("c.py",)), suite)
        state.proposals.append(
            Proposal(id=f"d:p0:{author}", deliberation_id="d", author=author, role="developer",
                     content="x", patch=patch)
        )  # fmt: skip
        state.evidence.append(_ev(f"d:p0:{author}", passed=passed == "pass", add_3=value))
    return state


def test_passing_candidates_that_disagree_do_not_settle_the_council():
    from fleet.council.engine import _settled

    assert not _settled(_state(("returns 6", "pass"), ("returns 9", "pass"), ("returns 1", "fail")))
    assert _settled(_state(("returns 6", "pass"), ("returns 6", "pass"), ("returns 1", "fail")))
    assert _settled(_state(("returns 6", "pass"), ("returns 9", "pass"), ("returns 6", "pass")))
    assert _settled(_state(("returns 6", "pass"), ("returns 9", "fail"), ("returns 1", "fail")))


def test_critics_and_revisers_see_where_the_candidates_differ():
    from fleet.council.patching import cited, critique_job, revise_notes

    state = _state(("returns 6", "pass"), ("returns 9", "pass"))
    one, two = state.proposals
    brief = Brief(
        deliberation_id="d", story_id="s", task="t", round=1, step="critique",
        proposals=(one, two), evidence=tuple(state.evidence),
    )  # fmt: skip
    job = critique_job(brief, two, "correctness")
    assert "DIFFERS on add(3): 9 here, developer-1's 6" in job
    assert "say which result the task asks for" in job
    assert "differs on add(3): 9 here, developer-1's 6" in cited("looks fine", brief, two)
    notes = "\n".join(revise_notes(brief.model_copy(update={"step": "revise"}), one))
    assert "DIFFERS on add(3): 6 here, developer-2's 9" in notes
    assert "work out from the task what the right result" in notes


def test_a_function_without_examples_is_probed_with_values_of_its_annotated_types():
    from fleet.agents.stubs import named
    from fleet.evidence.probes import signature_calls

    head = 'def pair(n: int, xs: List[str]) -> int:\n    """Doc."""'
    calls = signature_calls(head)
    assert calls[:2] == ["pair(0, ['a'])", "pair(1, ['abc', 'de'])"] and len(calls) == 6
    assert signature_calls("def f(x, n: int):\n    pass") == []  # nothing is guessed
    assert signature_calls("def f(*xs: int):\n    pass") == []
    assert signature_calls("def f(m: dict):\n    pass") == []
    files = {"m.py": f"{head}\n\n\ndef other(n: int):\n    return n\n", "tests/test_m.py": ""}
    assert [s.name for s in named(files, "Implement pair, please")] == ["pair"]
    assert named(files, "Implement pairs") == []  # a word, not a substring


def test_the_suite_probes_a_named_stub_only_where_the_criteria_give_no_example():
    from fleet.evidence.acceptance import Probes, build_suite

    heads = ['def twice(n: int):\n    """Doc."""', 'def half(n: int):\n    """Doc."""']
    suite, notes = build_suite(
        ["twice(2) returns 4"], name="t1", repo_tests=[], qa=None, baseline=lambda s: (),
        probes=Probes(signatures=heads),
    )  # fmt: skip
    source = suite.probes["tests/test_t1_probes.py"]
    assert "'twice(3)'" in source and "'half(0)'" in source and "'twice(0)'" not in source
    assert "tests" in suite.test_paths and "test_t1_probes.py" not in str(suite.files)
    bare, _ = build_suite([], name="t2", repo_tests=["tests/test_x.py"], qa=None,
                          baseline=lambda s: (), probes=Probes(signatures=heads[1:]))  # fmt: skip
    assert list(bare.probes) == ["tests/test_t2_probes.py"] and "tests" in bare.test_paths
    off, _ = build_suite(["twice(2) returns 4"], name="t3", repo_tests=[], qa=None,
                         baseline=lambda s: (), probes=Probes(enabled=False))  # fmt: skip
    assert off.probes == {}
