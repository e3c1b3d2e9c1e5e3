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
from typing import Any

from fleet.contracts import Deliberation, FleetEvent, GateResult, TaskResult, UsageRecord


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
        p: Any = event.payload
        t = event.type
        if t.startswith("council."):
            self._deliberation_event(event, p)
        if t == "story.created":
            self._set_state(event.story_id, "BACKLOG")
        elif t == "story.transition":
            to = str(event.data.get("to"))
            self.transitions.inc(tags={"state": to})
            self._set_state(event.story_id, to)
        elif t == "story.parked":
            self.parked.inc(tags={"gate": str(event.data.get("gate"))})
        elif t == "story.done":
            self.finished.inc(tags={"outcome": str(event.data.get("outcome"))})
        elif t == "council.result" and isinstance(p, Deliberation):
            self.rounds.observe(p.rounds)
            for ballot in p.ballots:
                self.votes.inc(tags={"role": ballot.role})
        elif t == "model.usage" and isinstance(p, UsageRecord):
            self.tokens.inc(p.prompt_tokens + p.completion_tokens, tags={"role": p.role})
            if p.cost:
                self.cost.inc(p.cost, tags={"role": p.role})
        elif t == "sandbox.run" and isinstance(p, TaskResult):
            self.sandbox.inc(tags={"status": p.status})
        elif t == "gate.result" and isinstance(p, GateResult):
            self.gates.inc(tags={"verdict": p.verdict})
