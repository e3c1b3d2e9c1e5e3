"""``fleet run``'s status lines: at each step boundary the step's time, the budget spent and
left and the estimate (from the gateway, else from the events seen); who revises and why
after failing evidence; rounds counted one way in every line."""

from __future__ import annotations

import json

from cluster.cli.progress import Tracker, describe
from fleet.contracts import Deliberation, Evidence, Proposal, Story
from fleet.events import Envelope, make_event
from fleet.testing.fakes import FakeClock


def _wire(event) -> dict:
    return json.loads(event.model_dump_json())


def _away(until: str | None = None) -> dict:
    raise OSError("gateway away")


def _story_start(c: FakeClock) -> list[dict]:
    return [
        _wire(make_event("s1", "story.created", clock=c.at(0), payload=Story(id="s1", title="T"))),
        _wire(
            make_event(
                "s1",
                "story.transition",
                clock=c.at(1),
                data={"from": "BACKLOG", "to": "DRAFT", "name": "intake"},
            )
        ),
    ]


def test_a_step_boundary_prints_a_status_line_from_the_events_when_the_gateway_cannot_say():
    t = Tracker(_away, time_left=lambda: 600.0)
    c = FakeClock()
    created, moved = _story_start(c)
    assert t.lines(created) == ["story s1 created: T"]
    lines = t.lines(moved)
    assert lines[0] == "==> BACKLOG -> DRAFT (intake)"
    assert lines[1].startswith("  [DRAFT ") and "tokens 0 ·" in lines[1]
    assert "(10 min 00 s left)" in lines[1] and "no estimate yet" in lines[1]


def test_the_gateways_progress_is_used_with_the_callers_time_budget():
    answer = {
        "story_id": "s1",
        "state": "BUILD",
        "now": "x",
        "elapsed_s": 100.0,
        "steps": [{"state": "BUILD", "started_ms": 0, "ended_ms": None, "work_s": 40.0}],
        "tokens_spent": 5000,
        "tokens_limit": 2_000_000,
        "estimate_s": 90.0,
        "estimate_note": "median step durations of earlier stories (≥2 per step)",
        "tokens_left": 1_995_000,  # computed fields the gateway adds are read back too
        "time_left_s": None,
    }
    asked: list[str | None] = []
    t = Tracker(lambda until: asked.append(until) or answer, time_left=lambda: 200.0)
    c = FakeClock()
    created, moved = _story_start(c)
    t.lines(created)
    line = t.lines(moved, "1700000001000-3")[1]
    assert line == (
        "  [BUILD 40 s · tokens 5,000 of 2,000,000 (1,995,000 left) · time 1 min 40 s of "
        "5 min 00 s (3 min 20 s left) · about 1 min 30 s left (from median step durations of "
        "earlier stories (≥2 per step))]"
    )
    assert asked == ["1700000001000-3"]  # as of the event printed, not of whatever came since


def test_failing_evidence_says_who_revises_after_how_many_failures_and_which_round():
    t = Tracker(_away, time_left=lambda: None)
    c = FakeClock()
    for ev in _story_start(c):
        t.lines(ev)
    did = "s1.T1.a0"
    started = make_event(
        "s1",
        "deliberation.started",
        clock=c.at(5),
        data={"deliberation_id": did, "task_id": "T1", "members": ["developer-2"], "rounds": 1},
    )
    assert t.lines(_wire(started)) == [
        f"  council {did}: 1 members, up to 1 revision round after the first proposals"
    ]
    prop = Proposal(id="p1", deliberation_id=did, author="developer-2", role="dev", content="c")
    t.lines(_wire(make_event("s1", "council.proposal", clock=c.at(6), payload=prop)))
    failed = Evidence(proposal_id="p1", passed=False, tests_passed=1, tests_failed=3)
    lines = t.lines(_wire(make_event("s1", "council.evidence", clock=c.at(7), payload=failed)))
    assert lines == ["    now: developer-2 revising after 3 failing tests, round 1 of 1"]


def test_a_council_that_settled_early_says_0_revision_rounds():
    d = Deliberation(id="d1", story_id="s1", rounds=0, winner="p1")
    line = describe(_wire(make_event("s1", "council.result", clock=FakeClock(), payload=d)))
    assert line == "  council winner: p1 after 0 revision rounds, 0 votes"


def test_the_red_step_of_test_first_reads_as_expected_not_as_an_error():
    from fleet.contracts import TaskResult

    def run(spec_id: str, status: str) -> str | None:
        result = TaskResult(spec_id=spec_id, status=status, exit_code=1)
        data = {"argv": ["pytest", "-p", "no:cacheprovider", "-q"], "role": "qa"}
        return describe(
            _wire(make_event("s1", "sandbox.run", clock=FakeClock(), payload=result, data=data))
        )

    assert run("baseline:evidence:ab12", "failed") == (
        "    QA's tests fail on the base commit, as they must"
    )
    assert run("baseline:evidence:ab12", "passed").startswith("    QA's tests pass on the base")
    assert run("p1:evidence:cd34", "failed") == "    sandbox pytest -p no:cacheprovider -q: failed"


def test_one_status_line_per_step_change_not_per_event():
    t = Tracker(_away, time_left=lambda: None)
    c = FakeClock()
    created, moved = _story_start(c)
    t.lines(created)
    assert len(t.lines(moved)) == 2  # the transition and its status line
    parked = make_event("s1", "story.parked", clock=c.at(2), data={"gate": "scope"})
    assert t.lines(_wire(parked)) == ["  || parked at scope: "]  # same step, nothing new
    done = make_event(
        "s1", "story.transition", clock=c.at(3), data={"from": "DOCS", "to": "DONE", "name": "a"}
    )
    assert t.lines(_wire(done)) == ["==> DOCS -> DONE (a)"]  # story.done's line says the end
    end = make_event(
        "s1", "story.done", clock=c.at(3), data={"outcome": "done"}, envelope=Envelope(key="end")
    )
    lines = t.lines(_wire(end))
    assert lines[0] == "story finished: done" and "nothing left: the story ended" in lines[1]


def test_coach_suggestions_are_printed_once():
    from fleet.contracts import Finding, StoryScore

    finding = Finding(criterion="I", points_lost=30, reason="r", suggestion="name the function")
    score = StoryScore(story_id="s1", dor=65, findings=(finding,), ready=False)
    scored = make_event("s1", "story.scored", clock=FakeClock(), payload=score)
    parked = make_event(
        "s1",
        "story.parked",
        clock=FakeClock(),
        data={"gate": "dor", "reason": "DoR 65 is below the threshold: name the function"},
    )
    lines = [describe(_wire(scored)), describe(_wire(parked))]
    assert sum("name the function" in line for line in lines) == 1, lines
    ready = StoryScore(story_id="s1", dor=90, findings=(finding,), ready=True)
    line = describe(_wire(make_event("s1", "story.scored", clock=FakeClock(), payload=ready)))
    assert line == "  coach: DoR 90/100, ready (name the function)"


def test_reasons_are_whole_and_a_cut_line_ends_at_a_word():
    from cluster.cli.progress import plain

    reason = "approve the plan (2 tasks): " + "divide(6, 3) returns 2.0; " * 40
    parked = make_event(
        "s1", "story.parked", clock=FakeClock(), data={"gate": "design", "reason": reason}
    )
    assert describe(_wire(parked)) == f"  || parked at design: {' '.join(reason.split())}"
    cut = plain("power(2, 3) returns 8 and divide(6, 3) returns 2.0", 25)
    assert cut == "power(2, 3) returns 8…" and len(cut) <= 25
