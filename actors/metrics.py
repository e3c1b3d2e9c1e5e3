"""Dashboard metrics (``ray.util.metrics``) derived from the story timelines.

Every metric is fed from events, so whatever produced an event (the
orchestrator, the council, the sandbox, the model ledger) is counted once per
event the orchestrator reads. Ray exports them on each node's metrics port
(``--metrics-export-port``) with its ``ray_`` prefix, e.g.
``ray_fleet_story_transitions_total{state="DONE"}``.

Ray rejects histogram boundaries that are not strictly positive, and a bad
metric definition fails the whole constructor: keep every boundary > 0.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fleet import events
from fleet.contracts import Deliberation, FleetEvent
from fleet.errors import InvalidInput


class FleetMetrics:
    """Counters, gauges and histograms; ``observe(event)`` updates them."""

    def __init__(self) -> None:
        from ray.util import metrics as m

        self.transitions = m.Counter(
            "fleet_story_transitions", "story transitions by target state", tag_keys=("state",)
        )
        self.stories = m.Gauge(
            "fleet_stories", "stories currently in each state", tag_keys=("state",)
        )
        self.parked = m.Counter("fleet_story_parked", "stories parked, by gate", tag_keys=("gate",))
        self.finished = m.Counter(
            "fleet_stories_finished", "stories finished, by outcome", tag_keys=("outcome",)
        )
        self.rounds = m.Histogram(
            "fleet_deliberation_rounds", "rounds per deliberation", boundaries=[1, 2, 3, 5, 8]
        )
        self.duration = m.Histogram(
            "fleet_deliberation_seconds",
            "deliberation wall time",
            boundaries=[0.1, 0.5, 1, 5, 15, 60, 300],
        )
        self.votes = m.Counter("fleet_votes", "ballots cast, by voter role", tag_keys=("role",))
        self.tokens = m.Counter("fleet_model_tokens", "model tokens, by role", tag_keys=("role",))
        self.cost = m.Counter("fleet_model_cost", "model cost, by role", tag_keys=("role",))
        self.sandbox = m.Counter(
            "fleet_sandbox_runs", "sandbox runs by status", tag_keys=("status",)
        )
        self.gates = m.Counter(
            "fleet_gate_results", "rigor gate results by verdict", tag_keys=("verdict",)
        )
        self._state: dict[str, str] = {}
        self._started_ms: dict[str, int] = {}  # deliberation id -> its first council event
        self._lock = threading.Lock()

    def _deliberation_event(self, event: FleetEvent, p: Any) -> None:
        """Duration = first proposal/critique/ballot of a deliberation to its ``council.result``."""
        did = getattr(p, "deliberation_id", None)
        if isinstance(did, str):
            with self._lock:
                self._started_ms.setdefault(did, event.at_ms)
        elif event.type == "council.result" and isinstance(p, Deliberation):
            with self._lock:
                start = self._started_ms.pop(p.id, None)
            if start is not None:
                self.duration.observe(max(event.at_ms - start, 0) / 1000)

    def _set_state(self, story_id: str, state: str) -> None:
        with self._lock:
            old = self._state.get(story_id)
            self._state[story_id] = state
            counts: dict[str, int] = {}
            for s in self._state.values():
                counts[s] = counts.get(s, 0) + 1
        for s in {*counts, *([old] if old else [])}:
            self.stories.set(counts.get(s, 0), tags={"state": s})

    def observe(self, event: FleetEvent) -> None:
        if event.type.startswith("council."):
            self._deliberation_event(event, event.payload)
        step = _OBSERVE.get(event.type)
        if step is None:
            return
        try:
            typed = events.typed(event)
        except InvalidInput:
            return  # an event an older writer left malformed: nothing to count
        step(self, typed)

    def _transition(self, e: events.StoryTransition) -> None:
        self.transitions.inc(tags={"state": e.to})
        self._set_state(e.story_id, e.to)

    def _result(self, e: events.CouncilResult) -> None:
        self.rounds.observe(e.payload.rounds)
        for ballot in e.payload.ballots:
            self.votes.inc(tags={"role": ballot.role})

    def _usage(self, e: events.ModelUsed) -> None:
        p = e.payload
        self.tokens.inc(p.prompt_tokens + p.completion_tokens, tags={"role": p.role})
        if p.cost:
            self.cost.inc(p.cost, tags={"role": p.role})


# event type -> the instruments it feeds (each step gets the typed event, fleet.events)
_OBSERVE: dict[str, Callable[[FleetMetrics, Any], None]] = {
    "story.created": lambda m, e: m._set_state(e.story_id, "BACKLOG"),
    "story.transition": FleetMetrics._transition,
    "story.parked": lambda m, e: m.parked.inc(tags={"gate": e.gate}),
    "story.done": lambda m, e: m.finished.inc(tags={"outcome": e.outcome}),
    "council.result": FleetMetrics._result,
    "model.usage": FleetMetrics._usage,
    "sandbox.run": lambda m, e: m.sandbox.inc(tags={"status": e.payload.status}),
    "gate.result": lambda m, e: m.gates.inc(tags={"verdict": e.payload.verdict}),
}
