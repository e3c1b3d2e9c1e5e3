"""fleet.progress: a story's events folded into what a PO can trust (time per step, what is
happening now, budget spent and left, an estimate from earlier stories)."""

from __future__ import annotations

from fleet.config.models import Budget
from fleet.contracts import Evidence, Proposal, Story, UsageRecord
from fleet.events import Envelope, make_event
from fleet.progress import estimate, fold, history_of, step_durations
from fleet.progress_text import duration, markdown, status_line
from fleet.testing.fakes import FakeClock


def _ms(seconds: float) -> int:
    return 1_700_000_000_000 + int(seconds * 1000)


def _go(c: FakeClock, t: float, src: str, dst: str, sid: str = "s1"):
    data = {"from": src, "to": dst, "name": f"{src}-{dst}"}
    return make_event(
        sid, "story.transition", clock=c.at(t), data=data, envelope=Envelope(key=f"{dst}{t}")
    )


def _timeline(sid: str = "s1", *, done: bool = True) -> list:
    """Created at 0; DRAFT 0-10 (parked at scope 4-9: the PO's 5 s); DESIGN 10-40; BUILD 40-100;
    TEST 100-110; DOCS 110-115; done at 115."""
    c = FakeClock()
    ev = [
        make_event(sid, "story.created", clock=c.at(0), payload=Story(id=sid, title="Add divide")),
        _go(c, 0, "BACKLOG", "DRAFT", sid),
        make_event(sid, "story.parked", clock=c.at(4), data={"gate": "scope", "reason": "PO"}),
        make_event(sid, "story.approved", clock=c.at(9), data={"gate": "scope", "by": "po"}),
        _go(c, 10, "DRAFT", "DESIGN", sid),
        _go(c, 40, "DESIGN", "BUILD", sid),
        make_event(
            sid,
            "model.usage",
            clock=c.at(50),
            payload=UsageRecord(
                role="developer", model="m", prompt_tokens=1000, completion_tokens=200, latency_ms=1
            ),
            envelope=Envelope(key="u1"),
        ),
    ]
    if done:
        ev += [
            _go(c, 100, "BUILD", "TEST", sid),
            _go(c, 110, "TEST", "DOCS", sid),
            make_event(
                sid,
                "story.done",
                clock=c.at(115),
                data={"outcome": "done"},
                envelope=Envelope(key="end"),
            ),
        ]
    return ev


def test_step_times_leave_out_the_wait_for_the_po():
    p = fold(_timeline(), now_ms=_ms(500))
    assert [(s.state, s.work_s, s.waited_s) for s in p.steps] == [
        ("DRAFT", 5.0, 5.0),
        ("DESIGN", 30.0, 0.0),
        ("BUILD", 60.0, 0.0),
        ("TEST", 10.0, 0.0),
        ("DOCS", 5.0, 0.0),
    ]
    assert p.outcome == "done" and p.now == "finished: done"
    assert p.elapsed_s == 115.0  # a finished story's clock stops at its end, not at now_ms


def test_a_running_step_counts_to_now_and_waiting_now_is_not_work():
    evs = _timeline(done=False)
    assert fold(evs, now_ms=_ms(70)).steps[-1].work_s == 30.0
    c = FakeClock()
    parked = make_event("s1", "story.parked", clock=c.at(80), data={"gate": "blocked"})
    p = fold([*evs, parked], now_ms=_ms(95))
    assert (p.steps[-1].work_s, p.steps[-1].waited_s) == (40.0, 15.0)
    assert p.now == "waiting at the blocked gate"


def test_budget_spent_and_left_and_a_granted_budget_starts_afresh():
    budget = Budget(tokens=10_000, cost=5.0)
    p = fold(_timeline(done=False), now_ms=_ms(60), budget=budget, time_limit_s=100)
    assert (p.tokens_spent, p.tokens_limit, p.tokens_left) == (1200, 10_000, 8800)
    assert p.time_left_s == 40.0
    c = FakeClock()
    grant = make_event(
        "s1", "story.approved", clock=c.at(61), data={"gate": "budget", "approved": True}
    )
    assert fold([*_timeline(done=False), grant], now_ms=_ms(62)).tokens_spent == 0


def test_no_estimate_without_history_then_the_median_of_earlier_stories():
    running = _timeline("s9", done=False)
    p = fold(running, now_ms=_ms(70))
    assert p.estimate_s is None and p.estimate_note.startswith("no estimate yet")
    history = history_of([_timeline("a"), _timeline("b")])
    assert history["BUILD"] == [60.0, 60.0]
    p = fold(running, now_ms=_ms(70), history=history)
    # BUILD: median 60 less 30 already spent; then TEST 10 and DOCS 5
    assert p.estimate_s == 45.0
    assert "median" in p.estimate_note


def test_estimate_never_negative_and_names_missing_steps():
    hist = {"BUILD": [10.0], "TEST": [1.0, 3.0, 100.0], "DOCS": [2.0]}
    assert estimate("BUILD", 99.0, hist)[0] == 5.0  # 0 left in BUILD, median TEST 3, DOCS 2
    left, note = estimate("DESIGN", 0.0, hist)
    assert left is None and "DESIGN" in note
    assert step_durations(_timeline(done=False)) == {"DRAFT": [5.0], "DESIGN": [30.0]}


def test_now_says_who_revises_after_how_many_failing_tests_and_which_round():
    c = FakeClock()
    did = "s1.T1.a0"
    evs = [
        *_timeline(done=False),
        make_event(
            "s1",
            "deliberation.started",
            clock=c.at(60),
            data={
                "deliberation_id": did,
                "task_id": "T1",
                "members": ["developer-1", "developer-2", "qa-1"],
                "rounds": 2,
            },
        ),
        make_event(
            "s1",
            "council.proposal",
            clock=c.at(61),
            payload=Proposal(
                id="p2", deliberation_id=did, author="developer-2", role="developer", content="x"
            ),
        ),
    ]
    p = fold(evs, now_ms=_ms(62))
    assert p.now == "developer-2 proposed a change for task T1 (first proposal)"
    failing = make_event(
        "s1",
        "council.evidence",
        clock=c.at(63),
        payload=Evidence(proposal_id="p2", passed=False, tests_passed=8, tests_failed=3),
        envelope=Envelope(key="e2"),
    )
    p = fold([*evs, failing], now_ms=_ms(64))
    assert p.now == "developer-2 revising after 3 failing tests, round 1 of 2"


def test_rendered_line_and_report_section():
    history = history_of([_timeline("a")])
    p = fold(
        _timeline("s9", done=False),
        now_ms=_ms(70),
        history=history,
        budget=Budget(tokens=10_000),
        time_limit_s=3600,
    )
    line = status_line(p)
    assert line.startswith("  [BUILD 30 s · tokens 1,200 of 10,000 (8,800 left)")
    assert "time 1 min 10 s of 1 h 00 min (58 min 50 s left)" in line
    assert "about 45 s left" in line
    md = "\n".join(markdown(p))
    assert "| BUILD (now) | 30 s | 0 s |" in md and "| DRAFT | 5 s | 5 s |" in md
    assert duration(None) == "?" and duration(3725) == "1 h 02 min"


class _Log:
    def __init__(self, evs: list) -> None:
        self.rows = [(f"{i}-0", e) for i, e in enumerate(evs, 1)]

    def read(self, story_id: str, **_: object) -> list:
        return self.rows


class _NoGraph:
    def story_graph(self, story_id: str) -> dict:
        from fleet.errors import NotFound

        raise NotFound(what="story", id=story_id)


def test_the_report_has_a_progress_section_as_of_the_last_event():
    from fleet.memory.report import build_report, report_markdown

    report = build_report(_Log(_timeline()), _NoGraph(), "s1")
    assert report.progress is not None and report.progress["elapsed_s"] == 115.0
    md = report_markdown(report)
    assert "## Progress" in md and "| BUILD | 1 min 00 s | 0 s |" in md
    assert "nothing left: the story ended (done)" in md
