"""Event types and one constructor, so every producer and the graph projector agree.

Event ids are deterministic where a natural key exists (``story:type:key``), which
makes re-emitting the same fact after a crash a no-op (appends are idempotent on id).
"""

from __future__ import annotations

import uuid
from typing import Any

from fleet.contracts import FleetEvent
from fleet.ports import Clock

# type -> payload kind (or None) and what `data` carries
TYPES: dict[str, str] = {
    "story.created": "payload Story",
    "story.updated": "payload Story (new description/criteria)",
    "story.scored": "payload StoryScore",
    "story.transition": "data: from, to, name, by",
    "story.parked": "data: gate, reason",
    "story.approved": "data: gate, by, approved (bool), comment",
    "task.planned": "payload Task",
    "deliberation.started": "data: deliberation_id, task_id, members, rounds, rule",
    "council.proposal": "payload Proposal",
    "council.critique": "payload Critique",
    "council.ballot": "payload Ballot",
    "council.evidence": "payload Evidence",
    "council.suite": "data: deliberation_id, files, tests, trusted, notes (QA's evidence suite)",
    "council.round_completed": "data: deliberation_id, round, missing",
    "council.result": "payload Deliberation",
    "council.quorum_lost": "data: deliberation_id, round, present, quorum",
    "decision.made": "payload Decision",
    "policy.decision": "data: allowed, rule, argv, role, phase, spec_id",
    "sandbox.run": "payload TaskResult; data: argv, role, phase, task_id",
    "workspace.report": "payload WorkspaceReport; data: task_id",
    "gate.result": "payload GateResult; data: task_id, attempt",
    "model.usage": "payload UsageRecord",
    "model.fallback": "data: role, from, to, reason",
    "model.error": "data: role, model, reason (every model of the role's chain failed)",
    "budget.exceeded": "data: scope, limit, spent, unit",
    "docs.written": "data: summary (the story's documentation, Markdown)",
    "story.done": "data: outcome",
}


def make_event(
    story_id: str,
    type: str,
    *,
    clock: Clock,
    payload: Any = None,
    data: dict[str, Any] | None = None,
    actor: str = "fleet",
    key: str | None = None,
) -> FleetEvent:
    """Build a FleetEvent; ``key`` (or the payload's id) makes the id deterministic."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}; known: {', '.join(sorted(TYPES))}")
    natural = key or getattr(payload, "id", None) or getattr(payload, "spec_id", None)
    event_id = (
        f"{story_id}:{type}:{natural}" if natural else f"{story_id}:{type}:{uuid.uuid4().hex}"
    )
    return FleetEvent(
        id=event_id,
        story_id=story_id,
        type=type,
        at_ms=clock.now_ms(),
        actor=actor,
        payload=payload,
        data=data or {},
    )
