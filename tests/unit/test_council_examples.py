"""QA's own examples: the lines a model writes become advisory evidence tests that rank the
candidates passing the story's criteria and never fail one (``fleet/council/examples.py``)."""

from __future__ import annotations

from fleet.contracts import ChatResponse
from fleet.contracts import TestOutcome as Outcome
from fleet.council import examples
from fleet.council.outcome import count, ship
from fleet.evidence import EvidenceSuite, agree, evidence_of
from fleet.evidence.acceptance import Qa, build_suite, names_of_tests

ADV = "tests/test_t1_qa_examples.py::"
GIVEN = ("shift(12, 1) returns '21'",)


def test_lines_keep_new_literal_cases_of_the_tasks_functions_only():
    reply = "\n".join(
        [
            "Here are the examples:",
            "1. shift(12, 2) returns '12'",
            "- `shift(123, 1)` returns '312'",
            "shift(12, 1) returns '21'",  # given by the criteria already
            "shift(12, 2) returns '99'",  # the same call twice: the first one stands
            "other(1) returns 2",  # not a function the task is about
            "shift(x, 1) returns '1'",  # not literal
            "shift(0, 1) raises ValueError",  # QA's examples are returned values only
            "shift(5, 5)",
        ]
    )
    got = examples.lines(reply, ["shift"], GIVEN)
    assert got == ["shift(12, 2) returns '12'", "shift(123, 1) returns '312'"]
    many = "\n".join(f"shift({n}, 1) returns '{n}'" for n in range(20))
    assert len(examples.lines(many, ["shift"], ())) == examples.MAX_KEPT


def test_the_request_shows_the_code_the_given_examples_and_the_form():
    text = examples.job(
        "Implement shift",
        [*GIVEN, "it is fast"],
        ["def shift(x, n):\n    '''Rotate.'''"],
        ["shift"],
    )
    assert "def shift(x, n)" in text and "- shift(12, 1) returns '21'" in text
    assert "it is fast" not in text and "shift(ARGS) returns VALUE" in text


def _ev(pid: str, results: dict[str, bool]):
    return evidence_of(
        pid, tuple(Outcome(test_id=t, passed=ok) for t, ok in results.items()), digest=pid
    )


def test_an_advisory_test_ranks_the_passing_candidates_but_fails_none():
    # c1 and c2 pass the story's criteria; QA's example e1 is right (c1 and c3 agree with it),
    # e2 is wrong but c2, a wrong candidate, happens to share it.
    evidence = [
        _ev("c1", {"a::t1": True, f"{ADV}e1": True, f"{ADV}e2": False}),
        _ev("c2", {"a::t1": True, f"{ADV}e1": False, f"{ADV}e2": True}),
        _ev("c3", {"a::t1": False, f"{ADV}e1": True, f"{ADV}e2": False}),
    ]
    found = agree(evidence, advisory=(ADV,))
    assert found.full == {"c1": True, "c2": True, "c3": False}  # e2 keeps nobody out
    assert found.key("c1") > found.key("c2") > found.key("c3")
    plain = agree(evidence)  # the same tests as ordinary generated tests: e2 sinks c1
    assert plain.full == {"c1": False, "c2": False, "c3": False}


def test_qa_examples_become_an_advisory_module_kept_only_where_they_fail_on_the_base():
    def baseline(suite):
        assert suite.files["tests/test_t1_qa_examples.py"]
        return [
            Outcome(test_id=f"{ADV}test_shift_1", passed=False),
            Outcome(
                test_id=f"{ADV}test_shift_2", passed=True
            ),  # passes on the stub: proves nothing
            Outcome(test_id="tests/test_t1_acceptance.py::test_shift_1", passed=False),
        ]

    asked = []
    suite, notes = build_suite(
        GIVEN, name="t1", repo_tests=(), baseline=baseline,
        qa=Qa(examples=lambda c: asked.append(c) or ["shift(12, 2) returns '12'", "shift(5, 1) returns None"]),
    )  # fmt: skip
    assert asked == [GIVEN]
    assert suite.advisory == (ADV,)
    assert names_of_tests(suite.files["tests/test_t1_qa_examples.py"]) == ["test_shift_1"]
    assert "QA's own examples" in suite.files["tests/test_t1_qa_examples.py"]
    assert "tests/test_t1_qa_examples.py" in suite.protected

    def broken(_):
        raise RuntimeError("model down")

    suite, notes = build_suite(
        GIVEN, name="t1", repo_tests=(), baseline=lambda s: [], qa=Qa(examples=broken)
    )
    assert suite.advisory == () and "tests/test_t1_qa_examples.py" not in suite.files
    assert any("QA wrote no examples: RuntimeError" in n for n in notes)


def test_the_winner_ships_only_the_advisory_tests_it_passes():
    from fleet.contracts import Patch, Proposal
    from fleet.council.outcome import _advisory_failed
    from fleet.council.protocol import CouncilState
    from fleet.council.schemas import DeliberationRequest
    from fleet.evidence.suite import with_suite

    path = ADV[:-2]
    files = {path: "def test_e1():\n    assert 1\n\n\ndef test_e2():\n    assert 0\n"}
    suite = EvidenceSuite(
        files=files, test_paths=("tests",), protected=tuple(files), advisory=(ADV,)
    )
    req = DeliberationRequest(
        id="d", story_id="s", task="t", members=("developer-1", "developer-2", "qa-1"),
        proposers=("developer-1", "developer-2"), rule="evidence", suite=suite, source="/repo",
    )  # fmt: skip
    state = CouncilState(request=req)
    code = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    for author, e2 in (("developer-1", False), ("developer-2", True)):
        patch = with_suite(Patch(base_commit="c", diff=code, files=("m.py",)), suite)
        state.proposals.append(Proposal(id=f"d:p0:{author}", deliberation_id="d", author=author,
                                        role="developer", content="x", patch=patch))  # fmt: skip
        state.evidence.append(_ev(f"d:p0:{author}", {f"{ADV}test_e1": True, f"{ADV}test_e2": e2}))
    # both pass the suite (advisory tests fail nobody); developer-2 agrees with both examples
    assert count(state).winner == "d:p0:developer-2"
    ship(state, "d:p0:developer-1")
    win = state.proposals[0].patch
    assert win is not None and "+def test_e1():" in win.diff and "test_e2" not in win.diff
    # the latest evidence counts: a re-run the winner passes whole drops nothing
    state.evidence.append(_ev("d:p0:developer-1", {f"{ADV}test_e1": True, f"{ADV}test_e2": True}))
    assert _advisory_failed(state, "d:p0:developer-1") == ()


class _Chat:
    def __init__(self, text: str) -> None:
        self.text, self.asked = text, []

    def complete(self, messages, **kw):
        self.asked.append((messages, kw))
        return ChatResponse(text=self.text, model="m", prompt_tokens=1, completion_tokens=1)


def test_a_qa_member_writes_examples_of_the_function_the_task_names(tmp_path):
    import subprocess

    from fleet.adapters.git_repo import GitRepo
    from fleet.config import load
    from fleet.council import Brief, Member
    from fleet.council.patching import PatchTools

    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "m.py").write_text('def shift(x, n):\n    """Rotate the digits of x by n."""\n')
    for argv in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"],
    ):
        subprocess.run(["git", "-C", str(repo), *argv], check=True)  # fmt: skip
    chat = _Chat("shift(12, 2) returns '12'\nshift(7, 3) returns '7'\nnonsense")
    tools = PatchTools(write_patch=lambda *a, **k: None, repo=GitRepo)
    qa = Member("qa-1", "qa", load("roles.yaml").get("qa"), chat, temperature=0.2, tools=tools)
    brief = Brief(deliberation_id="d", story_id="s", task_id="T1", task="Implement shift",
                  round=0, step="propose", source=str(repo), base="main")  # fmt: skip
    assert qa.write_examples(brief, GIVEN) == [
        "shift(12, 2) returns '12'",
        "shift(7, 3) returns '7'",
    ]
    messages, kw = chat.asked[0]
    assert "Rotate the digits" in messages[-1].content and kw["max_tokens"] == examples.TOKENS
    assert (
        Member("qa-2", "qa", load("roles.yaml").get("qa"), chat).write_examples(brief, GIVEN) == []
    )


def test_a_failing_qa_example_is_marked_as_possibly_wrong_where_members_read_it():
    from fleet.council.patching import failing

    ev = _ev(
        "c1", {f"{ADV}test_shift_1": False, "tests/test_t1_acceptance.py::test_shift_1": False}
    )
    got = failing(ev, (), (ADV,))
    assert got[0].startswith(f"{ADV}test_shift_1 [QA's example: may itself be wrong]")
    assert "may itself be wrong" not in got[1]
