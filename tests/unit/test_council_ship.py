"""The council chooses QA's tests too: the winning patch ships only the generated tests the
candidates' evidence supports; the record names the distrusted ones."""

from __future__ import annotations

from fleet.contracts import Evidence, Patch, Proposal
from fleet.contracts import TestOutcome as Outcome
from fleet.council.outcome import distrusted, record, ship
from fleet.council.protocol import CouncilState
from fleet.council.schemas import DeliberationRequest
from fleet.evidence import EvidenceSuite
from fleet.evidence.acceptance import drop_tests, names_of_tests
from fleet.evidence.suite import with_suite

QA = "tests/test_t1_qa.py"
GOOD = "def test_right():\n    assert 1\n\n\ndef test_wrong():\n    assert 0\n"
ONLY_WRONG = "tests/test_t1_qa_2.py"
CODE = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def _suite() -> EvidenceSuite:
    files = {QA: GOOD, ONLY_WRONG: "def test_also_wrong():\n    assert 0\n"}
    return EvidenceSuite(files=files, test_paths=("tests",), protected=tuple(files))


def test_drop_tests_prunes_functions_and_empty_modules_but_keeps_them_protected():
    kept = drop_tests(_suite(), [f"{QA}::test_wrong", f"{ONLY_WRONG}::test_also_wrong"])
    assert names_of_tests(kept.files[QA]) == ["test_right"]
    assert ONLY_WRONG not in kept.files and kept.is_protected(ONLY_WRONG)
    assert drop_tests(_suite(), ["tests/other.py::test_x"]) == _suite()


def _state() -> CouncilState:
    suite = _suite()
    req = DeliberationRequest(
        id="d", story_id="s", task="t", members=("developer-1", "developer-2", "qa-1"),
        proposers=("developer-1", "developer-2"), rule="evidence", suite=suite, source="/repo",
    )  # fmt: skip
    state = CouncilState(request=req)
    for author in ("developer-1", "developer-2"):
        patch = with_suite(Patch(base_commit="c", diff=CODE, files=("calc.py",)), suite)
        state.proposals.append(
            Proposal(id=f"d:p0:{author}", deliberation_id="d", author=author,
                     role="developer", content="x", patch=patch)
        )  # fmt: skip
        state.evidence.append(
            Evidence(proposal_id=f"d:p0:{author}", passed=False, tests_passed=1, tests_failed=2,
                     tests=(Outcome(test_id=f"{QA}::test_right", passed=True),
                            Outcome(test_id=f"{QA}::test_wrong", passed=False),
                            Outcome(test_id=f"{ONLY_WRONG}::test_also_wrong", passed=False)))
        )  # fmt: skip
    return state


def test_the_winner_ships_without_the_distrusted_tests_and_the_record_names_them():
    from fleet.council.outcome import count

    state = _state()
    assert distrusted(state) == (f"{QA}::test_wrong", f"{ONLY_WRONG}::test_also_wrong")
    ship(state, "d:p0:developer-2")
    win = state.proposals[1].patch
    assert win is not None and "+def test_right():" in win.diff and "test_wrong" not in win.diff
    assert ONLY_WRONG not in win.diff and "+x = 2" in win.diff
    assert win.files == ("calc.py", QA)
    assert "test_wrong" in state.proposals[0].patch.diff  # the loser is left as it was proposed
    before = state.proposals[1]
    ship(state, "d:p0:developer-2")  # idempotent (a resumed council ships it again)
    assert state.proposals[1] == before
    result = count(state)
    assert record(state, result).distrusted == distrusted(state)


def test_nothing_is_dropped_when_every_generated_test_has_support():
    state = _state()
    state.evidence[0] = Evidence(
        proposal_id="d:p0:developer-1", passed=True, tests_passed=3,
        tests=tuple(Outcome(test_id=t, passed=True) for t in
                    (f"{QA}::test_right", f"{QA}::test_wrong", f"{ONLY_WRONG}::test_also_wrong")),
    )  # fmt: skip
    before = list(state.proposals)
    ship(state, "d:p0:developer-1")
    assert state.proposals == before and distrusted(state) == ()


def _revise(state: CouncilState, results: dict[str, bool]) -> None:
    """developer-1's round-1 revision (its own edits differ from round 0) with these results."""
    patch = Patch(base_commit="c", diff=CODE.replace("+x = 2", "+x = 3"), files=("calc.py",))
    state.proposals.append(
        Proposal(id="d:p1:developer-1", deliberation_id="d", author="developer-1",
                 role="developer", round=1, content="x",
                 patch=with_suite(patch, state.request.suite))
    )  # fmt: skip
    passed = sum(results.values())
    state.evidence.append(
        Evidence(proposal_id="d:p1:developer-1", passed=passed == len(results),
                 tests_passed=passed, tests_failed=len(results) - passed,
                 tests=tuple(Outcome(test_id=t, passed=ok) for t, ok in results.items()))
    )  # fmt: skip


def test_a_revision_that_fails_does_not_take_away_the_members_passing_patch():
    # round 0: developer-1's patch passes every test; its revision passes fewer (it chased a
    # test); the round-1 vote ranks the revision first: the tally still picks the round-0 patch
    from fleet.contracts import Ballot
    from fleet.council.outcome import count

    state = _state()
    right, wrong = f"{QA}::test_right", f"{QA}::test_wrong"
    state.evidence[0] = Evidence(
        proposal_id="d:p0:developer-1", passed=True, tests_passed=2,
        tests=(Outcome(test_id=right, passed=True), Outcome(test_id=wrong, passed=True)),
    )  # fmt: skip
    _revise(state, {right: True, wrong: False})
    state.ballots.append(
        Ballot(id="d:b1:qa-1", deliberation_id="d", voter="qa-1", role="qa", round=1,
               ranking=("d:p1:developer-1", "d:p0:developer-2"))
    )  # fmt: skip
    assert [p.id for p in state.current()] == ["d:p1:developer-1", "d:p0:developer-2"]
    assert "d:p0:developer-1" in [p.id for p in state.candidates()]
    assert count(state).winner == "d:p0:developer-1"


def test_a_revision_that_chases_a_wrong_test_does_not_make_it_trusted():
    # CodeT weighs tests by independent candidates; a revision has seen the failing test and
    # may bend to it (HumanEval/47's docstring example is wrong): the test stays distrusted, so
    # the winner does not ship it
    state = _state()
    _revise(state, {f"{QA}::test_right": False, f"{QA}::test_wrong": True,
                    f"{ONLY_WRONG}::test_also_wrong": True})  # fmt: skip
    assert distrusted(state) == (f"{QA}::test_wrong", f"{ONLY_WRONG}::test_also_wrong")


def _results(state: CouncilState, author: str, results: dict[str, bool]) -> None:
    i = next(i for i, e in enumerate(state.evidence) if e.proposal_id == f"d:p0:{author}")
    passed = sum(results.values())
    state.evidence[i] = Evidence(
        proposal_id=f"d:p0:{author}", passed=passed == len(results), tests_passed=passed,
        tests_failed=len(results) - passed,
        tests=tuple(Outcome(test_id=t, passed=ok) for t, ok in results.items()),
    )  # fmt: skip


def test_a_candidate_passing_the_whole_suite_settles_the_council_without_a_supermajority():
    # no ballot has been cast (no supermajority); developer-1 passes every test: with
    # settle_on_pass (the default) the council stops, without it a critique round follows
    from fleet.council.engine import _settled

    right, wrong, also = f"{QA}::test_right", f"{QA}::test_wrong", f"{ONLY_WRONG}::test_also_wrong"
    state = _state()
    _results(state, "developer-1", {right: True, wrong: True, also: True})
    _results(state, "developer-2", {right: True, wrong: False, also: False})
    assert state.request.settle_on_pass and _settled(state)
    off = state.model_copy(
        update={"request": state.request.model_copy(update={"settle_on_pass": False})}
    )
    assert not _settled(off)


def test_no_candidate_passing_the_whole_suite_leaves_the_council_to_critique_and_revise():
    from fleet.council.engine import _settled

    right, wrong, also = f"{QA}::test_right", f"{QA}::test_wrong", f"{ONLY_WRONG}::test_also_wrong"
    state = _state()
    _results(state, "developer-1", {right: True, wrong: False, also: False})
    _results(state, "developer-2", {right: False, wrong: True, also: False})
    assert not _settled(state)
