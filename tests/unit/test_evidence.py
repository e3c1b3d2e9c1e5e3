"""The evidence suite's pure parts: diff filtering, junit outcomes, CodeT agreement, tiers."""

from __future__ import annotations

from fleet.contracts import Evidence
from fleet.contracts import TestOutcome as Outcome
from fleet.council.tally import evidence_keys, rank
from fleet.evidence import EvidenceSuite, agree, evidence_of, outcomes, patch_hash, strip_paths

DIFF = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1 +1 @@
-x = 1
+x = 2
diff --git a/tests/test_acceptance.py b/tests/test_acceptance.py
--- a/tests/test_acceptance.py
+++ b/tests/test_acceptance.py
@@ -1 +1 @@
-assert x == 2
+assert True
"""


def test_a_patch_cannot_change_the_evidence_tests():
    suite = EvidenceSuite(files={"tests/test_acceptance.py": "..."}, test_paths=("tests",))
    kept, dropped = strip_paths(DIFF, suite)
    assert dropped == ("tests/test_acceptance.py",)
    assert "calc.py" in kept and "assert True" not in kept
    protected = EvidenceSuite(protected=("tests/",))
    assert strip_paths(DIFF, protected)[1] == ("tests/test_acceptance.py",)
    assert strip_paths(DIFF, EvidenceSuite())[0] == DIFF
    assert patch_hash(kept) != patch_hash(DIFF)
    # a copy of a suite file under the edit example's prefix is that file rewritten: dropped too
    copy = DIFF.replace("tests/test_acceptance.py", "path/to/tests/test_acceptance.py")
    assert strip_paths(copy, suite) == (kept, ("path/to/tests/test_acceptance.py",))
    assert not suite.is_protected("tests/test_acceptance_more.py")
    assert not suite.is_protected("path/to/test_acceptance.py")  # not the suite file's path


def test_junit_outcomes_keep_failure_excerpts():
    xml = """<testsuites><testsuite>
      <testcase classname="tests.test_a" name="test_ok"/>
      <testcase classname="tests.test_a" name="test_bad"><failure message="assert 3 == 4">long trace</failure></testcase>
      <testcase classname="tests.test_a" name="test_skip"><skipped/></testcase>
      <testcase classname="tests.test_a" name="test_err"><error message="ImportError: x"/></testcase>
    </testsuite></testsuites>"""
    got = outcomes(xml)
    assert [t.test_id for t in got] == [
        "tests/test_a.py::test_ok",
        "tests/test_a.py::test_bad",
        "tests/test_a.py::test_err",
    ]
    assert [t.passed for t in got] == [True, False, False]
    assert "assert 3 == 4" in got[1].excerpt and "ImportError" in got[2].excerpt
    ev = evidence_of("p1", got, digest="h")
    assert (ev.passed, ev.tests_passed, ev.tests_failed) == (False, 1, 2)
    assert evidence_of("p2", (), digest=None).passed is False  # no results is not a pass


def _ev(pid: str, results: dict[str, bool]) -> Evidence:
    tests = tuple(Outcome(test_id=t, passed=ok) for t, ok in results.items())
    return evidence_of(pid, tests, digest=pid)


def test_one_wrong_generated_test_cannot_sink_the_correct_candidates():
    # t_wrong expects a wrong value: every candidate fails it. c1 and c2 are correct; c3 is not.
    evidence = [
        _ev("c1", {"t1": True, "t2": True, "t_wrong": False, "repo::t0": True}),
        _ev("c2", {"t1": True, "t2": True, "t_wrong": False, "repo::t0": True}),
        _ev("c3", {"t1": False, "t2": True, "t_wrong": False, "repo::t0": True}),
    ]
    found = agree(evidence, trusted=("repo::",))
    assert found.distrusted == ("t_wrong",)
    assert found.weights["repo::t0"] == 1.0 and found.weights["t1"] == 2 / 3
    assert found.full == {"c1": True, "c2": True, "c3": False}
    assert found.consensus == {"c1": 2, "c2": 2, "c3": 1}
    assert found.scores["c1"] > found.scores["c3"]


def test_a_trusted_test_is_never_distrusted():
    evidence = [_ev("c1", {"repo::t0": False, "t1": True}), _ev("c2", {"repo::t0": False})]
    found = agree(evidence, trusted=("repo::",))
    assert found.distrusted == () and found.full == {"c1": False, "c2": False}


def test_keep_tests_every_candidate_passes_distrust_nothing():
    """A bug story's council whose candidates fixed nothing: both pass the keep tests (the base
    does) and fail the report's example and QA's. A keep test shows no progress: nothing is
    distrusted, no one passes the suite (toolz `tail` reached DONE with a dead copy of the bug)."""
    evidence = [
        _ev(c, {"keep::t3": True, "qa::t1": False, "report::t": False, "repo::t0": True})
        for c in ("c1", "c2")
    ]
    found = agree(evidence, trusted=("repo::",), advisory=("qa::", "keep::"), keep=("keep::",))
    assert found.distrusted == () and found.full == {"c1": False, "c2": False}
    # neither a keep nor an advisory test: its passes make every failing test look wrong
    assert agree(evidence, trusted=("repo::",)).distrusted == ("qa::t1", "report::t")
    # progress on a test the base fails still distrusts the one no candidate passes
    fixed = [_ev("c1", {"keep::t3": True, "qa::t1": True, "qa::t2": False}), evidence[1]]
    assert agree(fixed, keep=("keep::",)).distrusted == ("qa::t2", "report::t")


def test_advisory_examples_every_candidate_passes_distrust_nothing():
    """HumanEval/26: every first proposal dropped the repeats' first copies too ([1, 2, 3, 4] for
    the docstring's [1, 3, 4]) and passed QA's four easy examples. The examples are a model's
    guesses (advisory): passing them shows no competence that discredits the docstring's example,
    so it stays needed, no candidate passes the suite, and the council revises."""
    evidence = [
        _ev(c, {"qa::e1": True, "qa::e2": True, "crit::t1": False, "repo::t0": True})
        for c in ("c1", "c2", "c3")
    ]
    found = agree(evidence, trusted=("repo::",), advisory=("qa::",))
    assert found.distrusted == () and set(found.full.values()) == {False}
    # a needed generated test some candidate passes still discredits the one no candidate passes
    evidence[0] = _ev("c1", {"qa::e1": True, "crit::t1": False, "crit::t2": True})
    assert agree(evidence, advisory=("qa::",)).distrusted == ("crit::t1",)


def test_a_repository_test_in_a_class_is_trusted_like_the_rest_of_its_file():
    # junit names a test in a class by its dotted classname: tests/test_more.py::FirstTests::
    # test_e comes back as tests/test_more/FirstTests.py::test_e. Every candidate fails it (the
    # task's function is wrong in all of them): it must still count, not be distrusted as a
    # wrong generated test (more-itertools `first` shipped failing 3 of its package's tests).
    cls = "tests/test_more/FirstTests.py::test_e"
    evidence = [_ev("c1", {cls: False, "t1": True}), _ev("c2", {cls: False, "t1": True})]
    found = agree(evidence, trusted=("tests/test_more.py::",))
    assert found.distrusted == () and found.full == {"c1": False, "c2": False}
    assert found.weights[cls] == 1.0
    assert agree(evidence, trusted=("tests/test_mo.py::",)).distrusted == (cls,)


def test_evidence_tiers_outrank_votes():
    evidence = [_ev("c1", {"t1": True, "t2": False}), _ev("c2", {"t1": True, "t2": True})]
    keys = evidence_keys(evidence, ["c1", "c2", "c3"])
    assert keys["c2"] > keys["c1"] > keys["c3"]  # c3 has no evidence at all
    ranked, _, why = rank("evidence", [], ["c1", "c2", "c3"], evidence=evidence)
    assert ranked == ["c2", "c1", "c3"] and why is None


def test_evidence_links_its_proposal_to_the_sandbox_runs_in_the_graph():
    from fleet.contracts import FleetEvent
    from fleet.memory.graph_ops import EdgeOp, NodeOp, ops_for

    ev = _ev("d:p0:developer-1", {"t1": True, "t2": False}).model_copy(update={"runs": ("r1",)})
    ops = ops_for(FleetEvent(id="e1", story_id="s", type="council.evidence", at_ms=1, payload=ev))
    edges = [(o.rel, o.src_id, o.dst_label, o.dst_id) for o in ops if isinstance(o, EdgeOp)]
    assert edges == [("EVIDENCED_BY", "d:p0:developer-1", "ToolExecution", "r1")]
    node = next(o for o in ops if isinstance(o, NodeOp))
    assert node.props["tests_failed"] == 1 and "t2" in node.props["failing_tests"]


def test_a_candidate_ships_with_the_suite_files_and_without_its_own_edits_to_them():
    from fleet.contracts import Patch
    from fleet.evidence.suite import with_suite

    suite = EvidenceSuite(files={"tests/test_acceptance.py": "def test_a():\n    assert 1\n"})
    patch = Patch(base_commit="c", diff=DIFF, files=("calc.py", "tests/test_acceptance.py"))
    got = with_suite(patch, suite)
    assert got.files == ("calc.py", "tests/test_acceptance.py")
    assert "assert True" not in got.diff and "+def test_a():" in got.diff
    assert "--- /dev/null" in got.diff and got.diff.startswith("diff --git a/calc.py")


def test_devops_and_data_join_when_the_task_touches_their_areas():
    from fleet.council.team import members_for, proposers

    base = ("developer-1", "developer-2", "qa-1", "architect-1")
    assert members_for(base, "add a divide function") == base
    assert members_for(base, "pin the requests dependency in pyproject")[-1] == "devops-1"
    assert members_for(base, "add a migration for the users table")[-1] == "data-1"
    assert members_for(base, "x", files=["db/schema.sql", "Dockerfile"])[-2:] == (
        "devops-1",
        "data-1",
    )
    assert proposers(base) == ("developer-1", "developer-2")
