"""The report's council section: proposals with their test results, critiques that cite them,
ballots, the winner, distrusted tests, and whether the committed change is the winner's diff."""

from __future__ import annotations

from fleet.contracts import (
    Ballot,
    Critique,
    Deliberation,
    Evidence,
    Patch,
    Proposal,
    Tally,
    Task,
    WorkspaceReport,
)
from fleet.contracts import TestOutcome as Outcome
from fleet.events import Envelope, make_event
from fleet.memory import Report, report_markdown
from fleet.memory.council_report import attempt_of, council_markdown, councils
from fleet.testing.fakes import FakeClock

DID = "s.p1-t1.a0"
T1, T2 = "tests/test_p1_t1_acceptance.py::test_divide_1", "tests/test_p1_t1_qa_1.py::test_x"


def _diff(value: str) -> str:
    return (
        f"diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-x\n+{value}\n"
    )


def _deliberation() -> Deliberation:
    props = [
        Proposal(id=f"{DID}:p0:{a}", deliberation_id=DID, author=a, role="developer",
                 content=f"{a} change", patch=Patch(base_commit="c", diff=_diff(a), files=("calc.py",)))
        for a in ("developer-1", "developer-2")
    ]  # fmt: skip
    ev = [
        Evidence(proposal_id=props[0].id, passed=False, tests_passed=0, tests_failed=2,
                 tests=(Outcome(test_id=T1, passed=False, excerpt="assert 1 == 2"),
                        Outcome(test_id=T2, passed=False, excerpt="wrong expectation"))),
        Evidence(proposal_id=props[1].id, passed=False, tests_passed=1, tests_failed=1,
                 tests=(Outcome(test_id=T1, passed=True), Outcome(test_id=T2, passed=False)),
                 observed={"divide(7, 2)": "returns 3.5", "divide(1, 0)": "raises ValueError"}),
    ]  # fmt: skip
    crit = Critique(id="c", deliberation_id=DID, author="qa-1", role="qa", round=1,
                    target=props[0].id, content="misses b == 0 [passes 0/2 tests; fails ...]")  # fmt: skip
    ballot = Ballot(id="b", deliberation_id=DID, voter="qa-1", role="qa", round=1,
                    ranking=(props[1].id, props[0].id))  # fmt: skip
    return Deliberation(
        id=DID, story_id="s", task_id="p1-t1", members=("developer-1", "developer-2", "qa-1"),
        rounds=1, proposals=tuple(props), critiques=(crit,), ballots=(ballot,), evidence=tuple(ev),
        tally=Tally(rule="evidence/borda", scores={}, winner=props[1].id), winner=props[1].id,
        distrusted=(T2,),
    )  # fmt: skip


def _rows(committed: str):
    clock = FakeClock()
    events = [
        make_event("s", "council.suite", clock=clock, envelope=Envelope(key=DID),
                   data={"deliberation_id": DID, "tests": [T1, T2], "notes": ["kept x"]}),
        make_event("s", "council.result", clock=clock, payload=_deliberation(),
                   data={"task_id": "p1-t1", "attempt": 0}),
        make_event("s", "workspace.report", clock=clock, payload=WorkspaceReport(build_ok=True),
                   data={"task_id": "p1-t1", "attempt": 0, "commit": "abc123",
                         "branch": "fleet/s/p1-t1-a0", "status": "committed", "patch": committed}),
    ]  # fmt: skip
    return [(str(i), e) for i, e in enumerate(events)]


def test_the_report_shows_patches_results_critiques_ballots_and_the_committed_change():
    found = councils(_rows(_diff("developer-2")))
    assert len(found) == 1 and found[0]["committed"]["equals_winner"] is True
    md = report_markdown(Report(story={"id": "s"}, councils=tuple(found)))
    assert "**winner: developer-2**" in md
    assert "**developer-1**, round 0" in md and "passes 0/2 evidence tests" in md
    assert "passes 1/2 evidence tests" in md and f"fails `{T1}`: assert 1 == 2" in md
    assert "+developer-2" in md and "+developer-1" in md  # both candidates' diffs
    assert "qa-1 on developer-1's proposal" in md and "[passes 0/2 tests" in md
    assert "round 1, qa-1: developer-2 > developer-1" in md
    assert f"Distrusted tests (no candidate passes them; left out of the winner): `{T2}`" in md
    assert "commit `abc123`" in md and "**equals the winner's patch** (developer-2)" in md
    assert "probes: `divide(7, 2)` returns 3.5; `divide(1, 0)` raises ValueError" in md
    assert found[0]["proposals"][0]["observed"] == {}  # no probes: nothing shown


def test_the_report_says_when_the_committed_change_is_not_the_winner():
    found = councils(_rows(_diff("something else")))
    assert found[0]["committed"]["equals_winner"] is False
    md = report_markdown(Report(story={"id": "s"}, councils=tuple(found)))
    assert "DIFFERS from the winner's patch" in md


def test_plan_councils_show_their_task_dags_and_text_councils_are_left_to_the_graph():
    plan = (
        Task(id="t1", story_id="s", role="developer", description="divide"),
        Task(id="t2", story_id="s", role="developer", description="docs", depends_on=("t1",)),
    )
    d = Deliberation(
        id="s.plan1", story_id="s", members=("architect-1",),
        proposals=(Proposal(id="s.plan1:p0:architect-1", deliberation_id="s.plan1",
                            author="architect-1", role="architect", content="2 tasks", plan=plan),),
        winner="s.plan1:p0:architect-1",
    )  # fmt: skip
    text = d.model_copy(
        update={"id": "x", "proposals": (d.proposals[0].model_copy(update={"plan": ()}),)}
    )
    rows = [
        ("1", make_event("s", "council.result", clock=FakeClock(), payload=x)) for x in (d, text)
    ]
    found = councils(rows)
    assert [c["id"] for c in found] == ["s.plan1"] and found[0]["attempt"] is None
    md = report_markdown(Report(story={"id": "s"}, councils=tuple(found)))
    assert "task `t2` (after t1): docs" in md
    assert attempt_of("s.p1-t1.a2.c1:retry1") == 2 and attempt_of("s.plan1") is None


def test_a_vote_the_council_skipped_is_listed_with_its_reason():
    why = "vote: the evidence decides (one candidate is ahead, or the best ones behave alike)"
    rows = _rows(_diff("developer-2"))
    done = make_event("s", "council.round_completed", clock=FakeClock(),
                      data={"deliberation_id": DID, "round": 1, "skipped": [why]})  # fmt: skip
    found = councils([*rows, ("9", done)])[0]
    assert found["votes_skipped"] == [f"round 1, {why}"]
    md = "\n".join(council_markdown({**found, "ballots": []}))
    assert f"#### Ballots\n\n- none\n- not asked in round 1, {why}" in md
    assert "not asked" not in "\n".join(council_markdown(councils(rows)[0]))


def test_keep_tests_are_listed_apart_from_the_tests_that_fail_on_the_base():
    keep = "tests/test_t1_keep.py::"
    rows = _rows(_diff("developer-2"))
    suite = rows[0][1].model_copy(
        update={"data": {"deliberation_id": DID, "tests": [T1, f"{keep}test_f_1"], "keep": [keep]}}
    )
    found = councils([("0", suite), *rows[1:]])
    md = report_markdown(Report(story={"id": "s"}, councils=tuple(found)))
    assert "Evidence suite (generated, failing on the base): 1 test(s)" in md
    assert "Keep tests (QA's examples the base already passes: behaviour to keep): 1" in md
    assert found[0]["keep_tests"] == [f"{keep}test_f_1"] and found[0]["suite_tests"] == [T1]


def test_the_located_functions_debugging_distinguishing_inputs_and_missing_answers_are_shown():
    rows = _rows(_diff("developer-2"))
    located = [{"path": "calc.py", "function": f"f{i}", "why": ["called in the report"]}
               for i in range(5)]  # fmt: skip
    suite = rows[0][1].model_copy(update={"data": {**rows[0][1].data, "located": located}})
    done = make_event("s", "council.round_completed", clock=FakeClock(), data={
        "deliberation_id": DID, "round": 0,
        "failures": {"0:propose:developer-3": "PatchFailed: the code block does not parse"},
        "debugging": {"bound": 2, "developers": {"developer-1": {"versions": 2, "stopped": "budget"},
                                                 "developer-2": {"versions": 1, "stopped": "passes"}}},
        "distinguished": [{"round": 0, "asked": "qa-1", "functions": ["divide"],
                           "candidates": [f"{DID}:p0:developer-1", f"{DID}:p0:developer-2"],
                           "inputs": ["divide(1, 0)", "divide(7, 2)"], "differ": ["divide(1, 0)"],
                           "before": {"divide(1, 0)": "raises ZeroDivisionError",
                                      "divide(7, 2)": "returns 3.5"}}],
    })  # fmt: skip
    found = councils([("0", suite), *rows[1:], ("9", done)])[0]
    assert [x["function"] for x in found["located"]] == ["f0", "f1", "f2"]  # the best three
    md = "\n".join(council_markdown(found))
    assert (
        "How the council worked:\n- located (best first): `calc.py::f0` (called in the report)"
        in md
    )
    assert ("- debugging (up to 2 versions each): developer-1: 2 new version(s), budget; "
            "developer-2: 1 new version(s), passes") in md  # fmt: skip
    assert ("- distinguishing inputs (round 0, qa-1 asked to separate developer-1, developer-2 on "
            "divide): `divide(1, 0)`, `divide(7, 2)`; differ on `divide(1, 0)`; before the change: "
            "`divide(1, 0)` raises ZeroDivisionError") in md  # fmt: skip
    assert ("- no answer from developer-3 (round 0, propose): PatchFailed: the code block does not "
            "parse") in md  # fmt: skip
    # a council that recorded none of these shows no such list
    assert "How the council worked" not in "\n".join(council_markdown(councils(rows)[0]))
