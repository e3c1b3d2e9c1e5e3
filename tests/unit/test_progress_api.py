"""GET /stories/{id}/progress's fold: earlier finished stories feed the estimate (each read once),
unfinished or failed ones do not, and ``until`` folds only the events up to a follower's last
(by stream entry: events of one millisecond stay apart)."""

from __future__ import annotations

from fleet.contracts import Story
from fleet.events import Envelope, make_event
from fleet.testing.fakes import FakeClock
from serve_apps.gateway.progress_api import History, story_progress


def _story(sid: str, *, outcome: str | None) -> list:
    c = FakeClock()
    steps = ["DRAFT", "DESIGN", "BUILD", "TEST", "DOCS"]
    evs = [make_event(sid, "story.created", clock=c.at(0), payload=Story(id=sid, title="t"))]
    for i, (src, dst) in enumerate(zip(["BACKLOG", *steps], steps, strict=False)):
        data = {"from": src, "to": dst, "name": dst}
        evs.append(make_event(sid, "story.transition", clock=c.at(10 * i), data=data))
    if outcome:
        data = {"outcome": outcome}
        env = Envelope(key="end")
        evs.append(make_event(sid, "story.done", clock=c.at(50), data=data, envelope=env))
    return evs


class Log:
    def __init__(self, stories: dict[str, list]) -> None:
        self.by_id = stories
        self.reads: list[str] = []

    def stories(self) -> list[str]:
        return sorted(self.by_id)

    def read(self, story_id: str, **_: object) -> list:
        self.reads.append(story_id)
        return [(f"{i}-0", e) for i, e in enumerate(self.by_id[story_id], 1)]


def test_history_from_finished_stories_read_once_and_until():
    log = Log(
        {
            "a": _story("a", outcome="done"),
            "b": _story("b", outcome="failed"),  # ended without a change: not a run to learn from
            "now": _story("now", outcome=None)[:4],  # created, DRAFT, DESIGN, BUILD
        }
    )
    history = History()
    p = story_progress(log, "now", history=history)
    # BUILD long past its 10 s median (the clock is now): TEST and DOCS, 10 s each in "a"
    assert p.state == "BUILD" and p.estimate_s == 20.0
    assert history.of(log, skip="now") == {
        s: [10.0] for s in ("DRAFT", "DESIGN", "BUILD", "TEST", "DOCS")
    }
    log.reads.clear()
    story_progress(log, "now", history=history)
    assert "a" not in log.reads  # a finished story's durations are kept
    early = story_progress(log, "now", history=history, until="3-0")  # created, DRAFT, DESIGN
    assert early.state == "DESIGN"
