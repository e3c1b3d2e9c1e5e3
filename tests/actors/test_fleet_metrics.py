"""FleetMetrics: every instrument is a valid Ray metric, and each event type feeds the right one.

The end-to-end check (the series on the head's metrics port after a DONE story) is
tests/integration/test_fleet_up_apps.py; this one pins the two bugs that hid them: an
invalid histogram boundary that made the constructor raise, swallowed by the orchestrator.
"""

from __future__ import annotations

from typing import Any

import pytest

from actors.metrics import FleetMetrics
from actors.orchestrator import _metrics
from fleet.contracts import (
    Ballot,
    Deliberation,
    FleetEvent,
    GateResult,
    Story,
    TaskResult,
    UsageRecord,
)


class Recorder:
    """Stands in for one Ray instrument so the test can read what was recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, dict[str, str] | None]] = []

    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        self.calls.append(("inc", value, tags))

    def set(self, value: float, tags: dict[str, str] | None = None) -> None:
        self.calls.append(("set", value, tags))

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        self.calls.append(("observe", value, tags))


NAMES = (
    "transitions",
    "stories",
    "parked",
    "finished",
    "rounds",
    "duration",
    "votes",
    "tokens",
    "cost",
    "sandbox",
    "gates",
)


@pytest.fixture
def metrics() -> FleetMetrics:
    m = FleetMetrics()  # real Ray instruments: raises on an invalid definition
    for name in NAMES:
        setattr(m, name, Recorder())
    return m


def ev(type_: str, at_ms: int = 0, payload: Any = None, **data: Any) -> FleetEvent:
    return FleetEvent(
        id=f"{type_}:{at_ms}", story_id="s1", type=type_, at_ms=at_ms, payload=payload, data=data
    )


def test_orchestrator_builds_real_metrics_and_does_not_hide_failures(monkeypatch):
    assert isinstance(_metrics(), FleetMetrics)

    def broken(self: FleetMetrics) -> None:
        raise ValueError("bad metric")

    monkeypatch.setattr(FleetMetrics, "__init__", broken)
    with pytest.raises(ValueError, match="bad metric"):
        _metrics()


def test_story_events_feed_transitions_state_gauge_parked_and_finished(metrics):
    metrics.observe(ev("story.created", payload=Story(id="s1", title="t")))
    metrics.observe(ev("story.transition", **{"from": "DOCS"}, to="DONE"))
    metrics.observe(ev("story.parked", gate="design"))
    metrics.observe(ev("story.done", outcome="done"))
    assert metrics.transitions.calls == [("inc", 1.0, {"state": "DONE"})]
    assert ("set", 1, {"state": "DONE"}) in metrics.stories.calls
    assert ("set", 0, {"state": "BACKLOG"}) in metrics.stories.calls
    assert metrics.parked.calls == [("inc", 1.0, {"gate": "design"})]
    assert metrics.finished.calls == [("inc", 1.0, {"outcome": "done"})]


def test_deliberation_rounds_votes_and_duration_from_first_council_event(metrics):
    ballot = Ballot(id="b1", deliberation_id="d1", voter="qa-1", role="qa", ranking=("p1",))
    metrics.observe(ev("council.ballot", at_ms=1_000, payload=ballot))
    metrics.observe(
        ev("council.ballot", at_ms=2_000, payload=ballot)
    )  # later events keep the start
    result = Deliberation(id="d1", story_id="s1", rounds=2, ballots=(ballot,))
    metrics.observe(ev("council.result", at_ms=3_500, payload=result))
    assert metrics.rounds.calls == [("observe", 2, None)]
    assert metrics.votes.calls == [("inc", 1.0, {"role": "qa"})]
    assert metrics.duration.calls == [("observe", 2.5, None)]


def test_usage_sandbox_and_gate_events(metrics):
    usage = UsageRecord(
        role="developer", model="m", prompt_tokens=10, completion_tokens=5, latency_ms=1, cost=0.25
    )
    metrics.observe(ev("model.usage", payload=usage))
    metrics.observe(ev("sandbox.run", payload=TaskResult(spec_id="t", status="failed")))
    gate = GateResult(profile="L1", score=80, verdict="pass")
    metrics.observe(ev("gate.result", payload=gate, task_id="T1"))
    assert metrics.tokens.calls == [("inc", 15, {"role": "developer"})]
    assert metrics.cost.calls == [("inc", 0.25, {"role": "developer"})]
    assert metrics.sandbox.calls == [("inc", 1.0, {"status": "failed"})]
    assert metrics.gates.calls == [("inc", 1.0, {"verdict": "pass"})]


def test_a_malformed_event_counts_nothing_and_does_not_raise(metrics):
    metrics.observe(ev("story.transition", to="DONE"))  # no "from": an older writer's event
    metrics.observe(ev("gate.result", payload=GateResult(profile="L1", score=80, verdict="pass")))
    assert metrics.transitions.calls == [] and metrics.gates.calls == []
