"""Rebuild a story's working state from its timeline (+ graph), as a restarted actor must.

``story_status(events)`` is pure and order-sensitive exactly like the live system: it is the
orchestrator's own fold (:func:`fleet.orchestrator.view.fold`) seen as a :class:`StoryStatus`;
``rehydrate`` reads the event log (archived events included) and fills gaps from the graph.
"""

from __future__ import annotations

from typing import Any, Literal

from fleet.contracts import Contract, Story, StoryState, Task
from fleet.contracts import FleetEvent as Event
from fleet.errors import NotFound
from fleet.orchestrator.view import fold as fold_view


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


def story_status(events: list[Event]) -> StoryStatus:
    """The state after ``events`` (one story's, in append order), from the one fold of events.

    Raises:
        NotFound: no ``story.created`` among the events.
    """
    view = fold_view((e.id, e) for e in events)
    if view.story is None:
        raise NotFound(what="story", id=events[0].story_id if events else "?")
    tasks = view.tasks
    return StoryStatus(
        story=view.story.model_copy(update={"state": view.state}),
        state=view.state,
        open_tasks=tuple(t for tid, t in sorted(tasks.items()) if tid not in view.decided),
        done_tasks=tuple(sorted(view.decided & set(tasks))),
        last_deliberation=view.deliberation,
        last_round=view.deliberation_round,
        last_deliberation_done=view.deliberation_done,
        parked_gate=view.parked.gate if view.parked else None,
        parked_reason=view.parked.reason if view.parked else None,
        attempts=view.gate_attempts,
        decisions=view.decisions,
        outcome=view.outcome,
        last_event_id=view.last_event_id,
        events=view.event_count,
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
    status = story_status(events)
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
