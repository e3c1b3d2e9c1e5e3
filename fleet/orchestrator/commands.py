"""What people (the PO, CI) may ask of a story, validated against its folded view."""

from __future__ import annotations

from dataclasses import dataclass

from fleet.contracts import FleetEvent, Story
from fleet.errors import InvalidTransition, NotFound, UserError
from fleet.events import Envelope, make_event
from fleet.lifecycle import Lifecycle
from fleet.orchestrator.view import StoryView, fold
from fleet.ports import Clock, EventLog

# The PO may answer these gates; "dor" is answered by improving the story, not by approval.
APPROVABLE = ("scope", "design", "acceptance", "blocked", "budget", "error")


class Conflict(UserError):
    """The request is valid but does not fit the story's current state."""

    def __init__(self, *, story_id: str, problem: str) -> None:
        super().__init__(f"story {story_id}: {problem}", story_id=story_id, problem=problem)


def load_view(log: EventLog, story_id: str) -> StoryView:
    """The folded view of an existing story.

    Raises:
        NotFound: the story has no timeline.
    """
    view = fold(log.read(story_id))
    if view.story is None:
        raise NotFound(what="story", id=story_id)
    return view


@dataclass(frozen=True, kw_only=True)
class PoNote:
    """Who answers for the PO, and what they say; both are kept in the story's timeline."""

    by: str
    comment: str = ""


def create_story(log: EventLog, story: Story, *, clock: Clock) -> FleetEvent:
    """Record a new story (idempotent on its id)."""
    event = make_event(
        story.id, "story.created", clock=clock, payload=story, envelope=Envelope(actor=story.po)
    )
    log.append(event)
    return event


def approve(
    log: EventLog,
    story_id: str,
    *,
    gate: str | None,
    approved: bool,
    note: PoNote,
    clock: Clock,
) -> FleetEvent:
    """The PO answers the gate the story is parked at (``gate``: the one they answer, checked
    against where the story waits; None: wherever it waits).

    Raises:
        NotFound: no such story.
        Conflict: the story is not waiting at a PO gate, or at another gate than ``gate``.
    """
    view = load_view(log, story_id)
    parked = view.parked
    if parked is None or view.done:
        raise Conflict(story_id=story_id, problem=f"not waiting for the PO (state {view.state})")
    if parked.gate not in APPROVABLE:
        raise Conflict(
            story_id=story_id,
            problem=f"parked at {parked.gate!r}, which needs a better "
            f"story, not an approval: {parked.reason}",
        )
    if gate and gate != parked.gate:
        raise Conflict(story_id=story_id, problem=f"parked at gate {parked.gate!r}, not {gate!r}")
    event = make_event(
        story_id,
        "story.approved" if approved else "story.rejected",
        clock=clock,
        data={"gate": parked.gate, "by": note.by, "approved": approved, "comment": note.comment},
        envelope=Envelope(actor=note.by, key=f"{parked.event_id}"),
    )
    log.append(event)
    return event


def transition(
    log: EventLog,
    lifecycle: Lifecycle,
    story_id: str,
    *,
    target: str,
    note: PoNote,
    clock: Clock,
) -> FleetEvent:
    """A PO-requested move: only moves through a PO gate the story is parked at.

    ``target`` is a state or transition name (``DESIGN``, ``reject_design``...).
    Approving moves (``po_approved`` guard) approve the gate; ``po_rejected`` ones reject it.

    Raises:
        NotFound, Conflict, InvalidTransition (no such move; lists the allowed ones).
    """
    view = load_view(log, story_id)
    matches = [t for t in lifecycle.allowed(view.state) if target in (t.target, t.name)]
    if not matches:
        lifecycle.transition(view.state, target, {})  # raises InvalidTransition with the options
    spec = matches[0]
    if not spec.human_gate:
        raise InvalidTransition(
            state=view.state,
            target=target,
            allowed=[t.name for t in lifecycle.allowed(view.state)],
            reason=f"{spec.name} is driven by the orchestrator, not by the PO",
        )
    approved = "po_rejected" not in spec.guards
    return approve(log, story_id, gate=spec.human_gate, approved=approved, note=note, clock=clock)
