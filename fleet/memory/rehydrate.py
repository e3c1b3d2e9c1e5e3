"""Rebuild a story's working state from its timeline (+ graph), as a restarted actor must.

``fold(events)`` is pure and order-sensitive exactly like the live system; ``rehydrate``
reads the event log (archived events included) and fills gaps from the graph.
"""

from __future__ import annotations

from typing import Any, Literal

from fleet.contracts import Contract, Story, StoryState, Task
from fleet.contracts import FleetEvent as Event
from fleet.errors import NotFound


class StoryStatus(Contract):
    """Everything an orchestrator needs to resume a story."""

    kind: Literal["story_status"] = "story_status"
    story: Story
    state: StoryState
    open_tasks: tuple[Task, ...] = ()
    done_tasks: tuple[str, ...] = ()
    last_deliberation: str | None = None
    last_round: int | None = None
    last_deliberation_done: bool = False
    parked_gate: str | None = None
    parked_reason: str | None = None
    attempts: int = 0
    decisions: int = 0
    outcome: str | None = None
    last_event_id: str | None = None
    events: int = 0


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Fold:
    """Mutable accumulator; only ``fold`` sees it."""

    def __init__(self) -> None:
        self.story: Story | None = None
        self.state: str | None = None
        self.tasks: dict[str, Task] = {}
        self.done: set[str] = set()
        self.delib: str | None = None
        self.round: int | None = None
        self.delib_done = False
        self.parked: tuple[str | None, str | None] = (None, None)
        self.gates = self.max_attempt = self.decisions = 0
        self.outcome: str | None = None

    def step(self, ev: Event) -> None:
        p, d, t = ev.payload, ev.data, ev.type
        if isinstance(p, Story):
            self.story = p
            self.state = self.state if t == "story.updated" and self.state else p.state
        elif isinstance(p, Task):
            self.tasks[p.id] = p
        elif t == "story.transition":
            self.state, self.parked = str(d.get("to")), (None, None)
        elif t == "story.parked":
            self.parked = (str(d.get("gate")), str(d.get("reason", "")))
        elif t == "story.approved" and d.get("gate") == self.parked[0]:
            self.parked = (None, None)
        elif t == "deliberation.started":
            self.delib, self.round, self.delib_done = str(d.get("deliberation_id")), None, False
        elif t == "council.round_completed" and d.get("deliberation_id") == self.delib:
            self.round = max(self.round or 0, _int(d.get("round")) or 0)
        elif t == "council.result":
            self._result(ev)
        elif t == "decision.made":
            self.decisions += 1
            task_id = getattr(p, "task_id", None)
            if isinstance(task_id, str):
                self.done.add(task_id)
        elif t == "gate.result":
            self.gates += 1
            self.max_attempt = max(self.max_attempt, _int(d.get("attempt")) or 0)
        elif t == "story.done":
            self.outcome = str(d.get("outcome", "done"))

    def _result(self, ev: Event) -> None:
        p = ev.payload
        did = getattr(p, "id", None)
        if did and did != self.delib:
            self.delib, self.round = did, None
        self.delib_done = True
        self.round = max(self.round or 0, getattr(p, "rounds", 0) or 0)


def fold(events: list[Event]) -> StoryStatus:
    """The state after ``events`` (one story's, in append order).

    Raises:
        NotFound: no ``story.created`` among the events.
    """
    acc = _Fold()
    for ev in events:
        acc.step(ev)
    if acc.story is None:
        raise NotFound(what="story", id=events[0].story_id if events else "?")
    state = acc.state or acc.story.state
    return StoryStatus(
        story=acc.story.model_copy(update={"state": state}),
        state=state,
        open_tasks=tuple(t for tid, t in sorted(acc.tasks.items()) if tid not in acc.done),
        done_tasks=tuple(sorted(acc.done & set(acc.tasks))),
        last_deliberation=acc.delib,
        last_round=acc.round,
        last_deliberation_done=acc.delib_done,
        parked_gate=acc.parked[0],
        parked_reason=acc.parked[1],
        attempts=max(acc.gates, acc.max_attempt),
        decisions=acc.decisions,
        outcome=acc.outcome,
        last_event_id=events[-1].id,
        events=len(events),
    )


def rehydrate(event_log: Any, graph: Any, story_id: str) -> StoryStatus:
    """Rebuild a story's state from the timeline (archive included) and the graph.

    Tasks the graph knows but the timeline lacks (e.g. events that aged out without an
    archive) are added as open unless the graph holds a decision for them.

    Raises:
        NotFound: the story has no events.
        StorageUnavailable: Redis or the graph cannot be reached.
    """
    events = [ev for _, ev in event_log.read(story_id)]
    if not events:
        raise NotFound(what="story", id=story_id)
    status = fold(events)
    if graph is None or not hasattr(graph, "story_graph"):
        return status
    try:
        sub = graph.story_graph(story_id)
    except NotFound:
        return status  # not projected yet: the timeline alone is authoritative
    known = {t.id for t in status.open_tasks} | set(status.done_tasks)
    decided = {d.get("task_id") for d in sub["decisions"]}
    extra = [
        Task(
            id=t["id"],
            story_id=story_id,
            role=t.get("role", "developer"),
            phase=t.get("phase", "build"),
            description=t.get("description", ""),
            depends_on=tuple(t.get("depends_on", ())),
        )
        for t in sub["tasks"]
        if t["id"] not in known and t["id"] not in decided and "description" in t
    ]
    if not extra:
        return status
    return status.model_copy(
        update={"open_tasks": tuple(sorted((*status.open_tasks, *extra), key=lambda t: t.id))}
    )
