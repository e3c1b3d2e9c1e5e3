"""Event types: one frozen model per event, a union discriminated on ``type``, one constructor.

On the wire an event stays a :class:`~fleet.contracts.FleetEvent` (``payload``: a contract,
``data``: a JSON object), so the Redis stream, the graph projector and SSE clients are unchanged.
:func:`typed` reads one as the model of its type; every consumer reads events through it (and
:func:`fleet.orchestrator.view.fold` folds them into a story's state) instead of picking
``data`` keys by string. :func:`make_event` validates what it builds the same way, so a producer
that forgets a field fails where it emits, not where someone later reads.

Event ids are deterministic where a natural key exists (``story:type:key``), which makes
re-emitting the same fact after a crash a no-op (appends are idempotent on id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

from fleet.contracts import (
    Ballot,
    Critique,
    Decision,
    Deliberation,
    Evidence,
    FleetEvent,
    GateResult,
    Proposal,
    Story,
    StoryScore,
    Task,
    TaskResult,
    UsageRecord,
    WorkspaceReport,
)
from fleet.errors import InvalidInput
from fleet.ports import Clock


class _Event(BaseModel):
    """Fields every typed event has; producers may add more ``data`` keys (kept, untyped)."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    story_id: str
    id: str
    at_ms: int
    actor: str = "fleet"


# --------------------------------------------------------------------- story


class StoryCreated(_Event):
    type: Literal["story.created"]
    payload: Story


class StoryUpdated(_Event):
    """New description or criteria; the state is unchanged."""

    type: Literal["story.updated"]
    payload: Story


class StoryScored(_Event):
    type: Literal["story.scored"]
    payload: StoryScore


class StoryTransition(_Event):
    type: Literal["story.transition"]
    from_: str = Field(alias="from")
    to: str
    name: str = ""
    by: str = ""


class StoryParked(_Event):
    """The story waits at ``gate`` (a PO gate, ``dor``, ``blocked``, ``budget`` or ``error``)."""

    type: Literal["story.parked"]
    gate: str
    reason: str = ""


class StoryApproved(_Event):
    """The PO's yes at a gate (older logs also record a no here, with ``approved=False``)."""

    type: Literal["story.approved"]
    gate: str
    by: str = ""
    approved: bool = True
    comment: str = ""


class StoryRejected(_Event):
    """The PO's no at a gate."""

    type: Literal["story.rejected"]
    gate: str
    by: str = ""
    comment: str = ""


class StoryDone(_Event):
    type: Literal["story.done"]
    outcome: str = "done"


class StoryDelivered(_Event):
    """The finished change, where the user works (``fleet.adapters.delivery``)."""

    type: Literal["story.delivered"]
    delivered: bool
    branch: str | None = None
    repo: str | None = None
    commit: str | None = None
    base_commit: str | None = None
    patch_file: str | None = None
    diff: str = ""
    diff_truncated: bool = False
    error: str | None = None
    push: str | None = Field(None, description="the remote the story asked to push to")
    pushed: bool | None = None
    push_error: str | None = None


class DocsWritten(_Event):
    type: Literal["docs.written"]
    summary: str = Field("", description="the story's documentation, Markdown")


class TaskPlanned(_Event):
    type: Literal["task.planned"]
    payload: Task


# --------------------------------------------------------------------- council


class DeliberationStarted(_Event):
    type: Literal["deliberation.started"]
    deliberation_id: str
    task_id: str | None = None
    members: tuple[str, ...] = ()
    rounds: int = 0
    rule: str | None = None


class CouncilProposal(_Event):
    type: Literal["council.proposal"]
    payload: Proposal


class CouncilCritique(_Event):
    type: Literal["council.critique"]
    payload: Critique


class CouncilBallot(_Event):
    type: Literal["council.ballot"]
    payload: Ballot


class CouncilEvidence(_Event):
    type: Literal["council.evidence"]
    payload: Evidence


class CouncilSuite(_Event):
    """QA's evidence suite for one deliberation (``fleet/pipeline/suite.py``)."""

    type: Literal["council.suite"]
    deliberation_id: str
    files: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    trusted: tuple[str, ...] = ()
    advisory: tuple[str, ...] = ()  # QA's own examples: they may be wrong themselves
    notes: tuple[str, ...] = ()


class RoundCompleted(_Event):
    type: Literal["council.round_completed"]
    deliberation_id: str
    round: int
    missing: tuple[str, ...] = ()


class CouncilResult(_Event):
    type: Literal["council.result"]
    payload: Deliberation
    task_id: str | None = None
    attempt: int = 0


class QuorumLost(_Event):
    type: Literal["council.quorum_lost"]
    deliberation_id: str
    round: int
    present: int | tuple[str, ...]
    quorum: int


class DecisionMade(_Event):
    type: Literal["decision.made"]
    payload: Decision


# --------------------------------------------------------------------- tools, gates, models


class PolicyChecked(_Event):
    type: Literal["policy.decision"]
    allowed: bool
    rule: str = ""
    reason: str = ""
    argv: tuple[str, ...] = ()
    role: str = ""
    phase: str = ""
    spec_id: str = ""
    task_id: str | None = None


class SandboxRun(_Event):
    type: Literal["sandbox.run"]
    payload: TaskResult
    argv: tuple[str, ...] = ()
    role: str = ""
    phase: str = ""
    task_id: str | None = None


class WorkspaceReported(_Event):
    type: Literal["workspace.report"]
    payload: WorkspaceReport
    task_id: str
    attempt: int = 0


class GateJudged(_Event):
    type: Literal["gate.result"]
    payload: GateResult
    task_id: str
    attempt: int = 0


class ModelUsed(_Event):
    type: Literal["model.usage"]
    payload: UsageRecord


class ModelFallback(_Event):
    type: Literal["model.fallback"]
    role: str
    from_: str = Field(alias="from")
    to: str
    reason: str = ""


class ModelFailed(_Event):
    """Every model of the role's chain failed: the call raises after this event."""

    type: Literal["model.error"]
    role: str
    model: str
    reason: str = ""


class BudgetSpent(_Event):
    type: Literal["budget.exceeded"]
    scope: str
    limit: float
    spent: float
    unit: str = "tokens"


Event = Annotated[
    StoryCreated
    | StoryUpdated
    | StoryScored
    | StoryTransition
    | StoryParked
    | StoryApproved
    | StoryRejected
    | StoryDone
    | StoryDelivered
    | DocsWritten
    | TaskPlanned
    | DeliberationStarted
    | CouncilProposal
    | CouncilCritique
    | CouncilBallot
    | CouncilEvidence
    | CouncilSuite
    | RoundCompleted
    | CouncilResult
    | QuorumLost
    | DecisionMade
    | PolicyChecked
    | SandboxRun
    | WorkspaceReported
    | GateJudged
    | ModelUsed
    | ModelFallback
    | ModelFailed
    | BudgetSpent,
    Field(discriminator="type"),
]
EVENT: TypeAdapter[Event] = TypeAdapter(Event)

# type -> its model, e.g. TYPES["story.parked"] is StoryParked
TYPES: dict[str, type[_Event]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in _Event.__subclasses__()
}


def _fields(event: FleetEvent) -> dict[str, JsonValue | Any]:
    return {
        **event.data,
        "type": event.type,
        "story_id": event.story_id,
        "id": event.id,
        "at_ms": event.at_ms,
        "actor": event.actor,
        **({"payload": event.payload} if event.payload is not None else {}),
    }


def typed(event: FleetEvent) -> Event | None:
    """``event`` as the model of its type; ``None`` for a type this version does not know.

    Raises:
        InvalidInput: a known type whose payload or data does not fit its model.
    """
    if event.type not in TYPES:
        return None
    try:
        return EVENT.validate_python(_fields(event))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"][1:]) or event.type
        raise InvalidInput(
            what=f"{event.type} event {event.id}", field=field, problem=first["msg"]
        ) from None


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """Who records an event (``actor``) and the key that makes its id deterministic
    (``<story>:<type>:<key>``; None: the payload's id, else a random one)."""

    actor: str = "fleet"
    key: str | None = None


def make_event(
    story_id: str,
    type: str,
    *,
    clock: Clock,
    payload: Any = None,
    data: dict[str, Any] | None = None,
    envelope: Envelope | None = None,
) -> FleetEvent:
    """Build a FleetEvent; the envelope's ``key`` (or the payload's id) makes the id
    deterministic.

    Raises:
        ValueError: an unknown event type.
        InvalidInput: the payload or data does not fit the type's model.
    """
    envelope = envelope or Envelope()
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}; known: {', '.join(sorted(TYPES))}")
    natural = envelope.key or getattr(payload, "id", None) or getattr(payload, "spec_id", None)
    event_id = (
        f"{story_id}:{type}:{natural}" if natural else f"{story_id}:{type}:{uuid.uuid4().hex}"
    )
    event = FleetEvent(
        id=event_id,
        story_id=story_id,
        type=type,
        at_ms=clock.now_ms(),
        actor=envelope.actor,
        payload=payload,
        data=data or {},
    )
    typed(event)
    return event
