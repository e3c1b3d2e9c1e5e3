"""Event -> graph writes, as plain data (no Cypher, no client).

``ops_for(event)`` turns one :class:`FleetEvent` into node and edge upserts keyed by
id. Adapters compile them to portable Cypher MERGEs (``fleet/adapters/cypher.py``),
so projecting the same events again rewrites the same properties: idempotent.

Schema (labels): Project, Story, Task, Deliberation, Round, Proposal, Critique,
Ballot, Decision, Agent, Role, ToolExecution, Transition, Approval, GateResult,
WorkspaceReport, PolicyCheck. Proposal -[:EVIDENCED_BY]-> ToolExecution links a patch's
evidence to the sandbox runs (audited ``sandbox.run`` events) that produced it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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
    WorkspaceReport,
)

LABELS = (
    "Project",
    "Story",
    "Task",
    "Deliberation",
    "Round",
    "Proposal",
    "Critique",
    "Ballot",
    "Decision",
    "Agent",
    "Role",
    "ToolExecution",
    "Transition",
    "Approval",
    "GateResult",
    "WorkspaceReport",
    "PolicyCheck",
)
RELS = (
    "HAS_STORY",
    "HAS_TASK",
    "DEPENDS_ON",
    "DELIBERATED_IN",
    "HAS_DELIBERATION",
    "HAS_ROUND",
    "HAS_PROPOSAL",
    "PROPOSED",
    "HAS_ROLE",
    "HAS_CRITIQUE",
    "WROTE",
    "CRITIQUED",
    "HAS_BALLOT",
    "CAST",
    "VOTED_FOR",
    "WON_BY",
    "HAS_DECISION",
    "DECIDED",
    "RESULTED_IN",
    "REJECTED",
    "SUPERSEDES",
    "EXECUTED",
    "HAS_EXECUTION",
    "HAS_TRANSITION",
    "HAS_APPROVAL",
    "HAS_GATE",
    "HAS_REPORT",
    "HAS_POLICY_CHECK",
    "EVIDENCED_BY",
)
_OUTPUT_CAP = 4000  # captured logs live in the timeline; the graph keeps a readable tail


@dataclass(frozen=True)
class NodeOp:
    """Upsert node ``(label {id})`` and set ``props`` on it."""

    label: str
    id: str
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EdgeOp:
    """Upsert both endpoints by id and the single ``rel`` edge between them."""

    rel: str
    src_label: str
    src_id: str
    dst_label: str
    dst_id: str
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SupersedeOp:
    """Link a decision with the other decisions on the same task (newer SUPERSEDES older)."""

    decision_id: str
    task_id: str


Op = NodeOp | EdgeOp | SupersedeOp


def clean(props: dict[str, Any]) -> dict[str, Any]:
    """Graph-safe properties: drop None, tuples -> lists, maps -> JSON strings."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        if value is None:
            continue
        if isinstance(value, dict):
            value = json.dumps(value, sort_keys=True, default=str)
        elif isinstance(value, (tuple, list)):
            value = [
                v if isinstance(v, (str, int, float, bool)) else json.dumps(v, default=str)
                for v in value
            ]
        out[key] = value
    return out


def _node(label: str, id: str, **props: Any) -> NodeOp:
    return NodeOp(label, id, clean(props))


def _edge(rel: str, src: tuple[str, str], dst: tuple[str, str], **props: Any) -> EdgeOp:
    return EdgeOp(rel, src[0], src[1], dst[0], dst[1], clean(props))


def _agent(author: str, role: str) -> list[Op]:
    return [
        _node("Agent", author, role=role),
        _node("Role", role),
        _edge("HAS_ROLE", ("Agent", author), ("Role", role)),
    ]


def _story(s: Story, ev: FleetEvent) -> list[Op]:
    project = s.repo or "local"
    return [
        _node(
            "Story",
            s.id,
            title=s.title,
            description=s.description,
            rigor=s.rigor,
            repo=s.repo,
            branch=s.branch,
            state=s.state,
            po=s.po,
            created_ms=s.created_ms or ev.at_ms,
            acceptance_criteria=s.acceptance_criteria,
        ),
        _node("Project", project),
        _edge("HAS_STORY", ("Project", project), ("Story", s.id)),
    ]


def _task(t: Task) -> list[Op]:
    ops: list[Op] = [
        _node(
            "Task",
            t.id,
            story_id=t.story_id,
            role=t.role,
            phase=t.phase,
            description=t.description,
            depends_on=t.depends_on,
        ),
        _edge("HAS_TASK", ("Story", t.story_id), ("Task", t.id)),
    ]
    ops += [_edge("DEPENDS_ON", ("Task", t.id), ("Task", dep)) for dep in t.depends_on]
    return ops


def _proposal(p: Proposal, story_id: str) -> list[Op]:
    return [
        _node(
            "Proposal",
            p.id,
            story_id=story_id,
            deliberation_id=p.deliberation_id,
            author=p.author,
            role=p.role,
            round=p.round,
            content=p.content,
            patch=p.patch.diff if p.patch else None,
            rationale=p.rationale,
            commands=[" ".join(c) for c in p.commands],
        ),
        _edge("HAS_PROPOSAL", ("Deliberation", p.deliberation_id), ("Proposal", p.id)),
        *_agent(p.author, p.role),
        _edge("PROPOSED", ("Agent", p.author), ("Proposal", p.id)),
    ]


def _critique(c: Critique, story_id: str) -> list[Op]:
    return [
        _node(
            "Critique",
            c.id,
            story_id=story_id,
            deliberation_id=c.deliberation_id,
            author=c.author,
            role=c.role,
            round=c.round,
            target=c.target,
            content=c.content,
            severity=c.severity,
        ),
        _edge("HAS_CRITIQUE", ("Deliberation", c.deliberation_id), ("Critique", c.id)),
        *_agent(c.author, c.role),
        _edge("WROTE", ("Agent", c.author), ("Critique", c.id)),
        _edge("CRITIQUED", ("Critique", c.id), ("Proposal", c.target)),
    ]


def _ballot(b: Ballot, story_id: str) -> list[Op]:
    ops: list[Op] = [
        _node(
            "Ballot",
            b.id,
            story_id=story_id,
            deliberation_id=b.deliberation_id,
            voter=b.voter,
            role=b.role,
            ranking=b.ranking,
            approvals=b.approvals,
            rationale=b.rationale,
            scores=b.scores or None,
        ),
        _edge("HAS_BALLOT", ("Deliberation", b.deliberation_id), ("Ballot", b.id)),
        *_agent(b.voter, b.role),
        _edge("CAST", ("Agent", b.voter), ("Ballot", b.id)),
    ]
    for rank, pid in enumerate(b.ranking, start=1):
        ops.append(
            _edge(
                "VOTED_FOR", ("Ballot", b.id), ("Proposal", pid), rank=rank, score=b.scores.get(pid)
            )
        )
    return ops


def _evidence(e: Evidence) -> list[Op]:
    """Evidence on its proposal, and an EVIDENCED_BY edge to each sandbox run that produced it."""
    failing = {t.test_id: t.excerpt for t in e.tests if not t.passed}
    ops: list[Op] = [
        _node(
            "Proposal",
            e.proposal_id,
            evidence_passed=e.passed,
            tests_passed=e.tests_passed,
            tests_failed=e.tests_failed,
            evidence_detail=e.detail,
            patch_hash=e.patch_hash,
            failing_tests=failing or None,
        )
    ]
    ops += [
        _edge("EVIDENCED_BY", ("Proposal", e.proposal_id), ("ToolExecution", run)) for run in e.runs
    ]
    return ops


def _deliberation(d: Deliberation, ev: FleetEvent) -> list[Op]:
    ops: list[Op] = _deliberation_head(ev.story_id, d.id, d.task_id)
    tally = d.tally
    ops.append(
        _node(
            "Deliberation",
            d.id,
            story_id=d.story_id,
            task_id=d.task_id,
            members=d.members,
            rounds=d.rounds,
            winner=d.winner,
            rule=tally.rule if tally else None,
            tally_scores=tally.scores if tally else None,
            tie_break=tally.tie_break if tally else None,
            early_stop=tally.early_stop if tally else None,
            completed_ms=ev.at_ms,
            missing={k: list(v) for k, v in d.missing.items()} or None,
        )
    )
    for p in d.proposals:
        ops += _proposal(p, ev.story_id)
    for c in d.critiques:
        ops += _critique(c, ev.story_id)
    for b in d.ballots:
        ops += _ballot(b, ev.story_id)
    for e in d.evidence:
        ops += _evidence(e)
    if d.winner:
        ops.append(_edge("WON_BY", ("Deliberation", d.id), ("Proposal", d.winner)))
    return ops


def _deliberation_head(story_id: str, delib_id: str, task_id: str | None) -> list[Op]:
    ops: list[Op] = [_edge("HAS_DELIBERATION", ("Story", story_id), ("Deliberation", delib_id))]
    if task_id:
        ops.append(_edge("DELIBERATED_IN", ("Task", task_id), ("Deliberation", delib_id)))
    return ops


def _decision(d: Decision, ev: FleetEvent) -> list[Op]:
    ops: list[Op] = [
        _node(
            "Decision",
            d.id,
            story_id=d.story_id,
            task_id=d.task_id,
            deliberation_id=d.deliberation_id,
            what=d.what,
            why=d.why,
            decided_by=d.decided_by,
            at_ms=d.at_ms or ev.at_ms,
        ),
        _edge("HAS_DECISION", ("Story", d.story_id), ("Decision", d.id)),
    ]
    ops += [_edge("DECIDED", ("Agent", who), ("Decision", d.id)) for who in d.decided_by]
    if d.deliberation_id:
        ops.append(_edge("RESULTED_IN", ("Deliberation", d.deliberation_id), ("Decision", d.id)))
    for alt in d.alternatives:
        ops.append(
            _edge(
                "REJECTED",
                ("Decision", d.id),
                ("Proposal", alt.proposal_id),
                summary=alt.summary,
                why_rejected=alt.why_rejected,
            )
        )
    superseded = ev.data.get("supersedes")
    if isinstance(superseded, str):
        ops.append(_edge("SUPERSEDES", ("Decision", d.id), ("Decision", superseded)))
    if d.task_id:
        ops.append(SupersedeOp(d.id, d.task_id))
    return ops


def _sandbox_run(r: TaskResult, ev: FleetEvent) -> list[Op]:
    data = ev.data
    role = str(data.get("role") or "unknown")
    task_id = data.get("task_id")
    argv = data.get("argv")
    ops: list[Op] = [
        _node(
            "ToolExecution",
            r.spec_id,
            story_id=ev.story_id,
            task_id=task_id,
            status=r.status,
            exit_code=r.exit_code,
            duration_s=r.duration_s,
            limit_hit=r.limit_hit,
            backend=r.backend,
            reason=r.reason,
            role=role,
            phase=data.get("phase"),
            at_ms=ev.at_ms,
            argv=argv if isinstance(argv, list) else None,
            stdout=r.stdout[-_OUTPUT_CAP:],
            stderr=r.stderr[-_OUTPUT_CAP:],
        ),
        _node("Role", role),
        _edge("EXECUTED", ("Role", role), ("ToolExecution", r.spec_id)),
        _edge("HAS_EXECUTION", ("Story", ev.story_id), ("ToolExecution", r.spec_id)),
    ]
    if isinstance(task_id, str):
        ops.append(_edge("HAS_EXECUTION", ("Task", task_id), ("ToolExecution", r.spec_id)))
    return ops


def _story_node(ev: FleetEvent, **props: Any) -> list[Op]:
    return [_node("Story", ev.story_id, **props)]


def _data_ops(ev: FleetEvent) -> list[Op]:
    """Events whose facts travel in ``data`` rather than a typed payload."""
    d, sid, t = ev.data, ev.story_id, ev.type
    if t.startswith(("deliberation.", "council.")) and not isinstance(
        d.get("deliberation_id"), str
    ):
        return []  # nothing to attach it to; the timeline still has the event
    if t == "story.transition":
        return [
            *_story_node(ev, state=d.get("to"), updated_ms=ev.at_ms),
            _node(
                "Transition",
                ev.id,
                story_id=sid,
                at_ms=ev.at_ms,
                by=d.get("by") or ev.actor,
                **{"from": d.get("from"), "to": d.get("to"), "name": d.get("name")},
            ),
            _edge("HAS_TRANSITION", ("Story", sid), ("Transition", ev.id)),
        ]
    if t == "story.parked":
        return _story_node(
            ev, parked_gate=d.get("gate"), parked_reason=d.get("reason"), parked_ms=ev.at_ms
        )
    if t in ("story.approved", "story.rejected"):
        return [
            _node(
                "Approval",
                ev.id,
                story_id=sid,
                at_ms=ev.at_ms,
                gate=d.get("gate"),
                by=d.get("by"),
                approved=d.get("approved", t == "story.approved"),
                comment=d.get("comment"),
            ),
            _edge("HAS_APPROVAL", ("Story", sid), ("Approval", ev.id)),
        ]
    if t == "story.done":
        return _story_node(ev, outcome=d.get("outcome"), done_ms=ev.at_ms)
    if t == "docs.written":
        return _story_node(ev, docs=d.get("summary"))
    if t == "deliberation.started":
        did = str(d.get("deliberation_id"))
        raw_task = d.get("task_id")
        task_id = raw_task if isinstance(raw_task, str) else None
        return [
            _node(
                "Deliberation",
                did,
                story_id=sid,
                task_id=task_id,
                members=d.get("members"),
                planned_rounds=d.get("rounds"),
                rule=d.get("rule"),
                started_ms=ev.at_ms,
            ),
            *_deliberation_head(sid, did, task_id),
        ]
    if t == "council.round_completed":
        did, rnd = str(d.get("deliberation_id")), d.get("round")
        rid = f"{did}:round:{rnd}"
        return [
            _node(
                "Round",
                rid,
                deliberation_id=did,
                round=rnd,
                missing=d.get("missing"),
                at_ms=ev.at_ms,
            ),
            _edge("HAS_ROUND", ("Deliberation", did), ("Round", rid)),
        ]
    if t == "council.quorum_lost":
        return [
            _node(
                "Deliberation",
                str(d.get("deliberation_id")),
                quorum_lost=True,
                quorum_lost_round=d.get("round"),
            )
        ]
    if t == "policy.decision":
        return [
            _node(
                "PolicyCheck",
                ev.id,
                story_id=sid,
                at_ms=ev.at_ms,
                allowed=d.get("allowed"),
                rule=d.get("rule"),
                argv=d.get("argv"),
                role=d.get("role"),
                phase=d.get("phase"),
            ),
            _edge("HAS_POLICY_CHECK", ("Story", sid), ("PolicyCheck", ev.id)),
        ]
    return []  # model.usage, model.fallback, budget.exceeded: timeline (and ledger) only


def ops_for(ev: FleetEvent) -> list[Op]:
    """The graph writes that mirror one event (empty for timeline-only events)."""
    p, sid = ev.payload, ev.story_id
    if isinstance(p, Story):
        return _story(p, ev)
    if isinstance(p, StoryScore):
        return _story_node(ev, dor=p.dor, ready=p.ready, invest=p.invest or None)
    if isinstance(p, Task):
        return _task(p)
    if isinstance(p, Proposal):
        return _proposal(p, sid)
    if isinstance(p, Critique):
        return _critique(p, sid)
    if isinstance(p, Ballot):
        return _ballot(p, sid)
    if isinstance(p, Evidence):
        return _evidence(p)
    if isinstance(p, Deliberation):
        return _deliberation(p, ev)
    if isinstance(p, Decision):
        return _decision(p, ev)
    if isinstance(p, TaskResult):
        return _sandbox_run(p, ev)
    if isinstance(p, WorkspaceReport):
        rid = ev.id
        return [
            _node(
                "WorkspaceReport",
                rid,
                story_id=sid,
                task_id=ev.data.get("task_id"),
                at_ms=ev.at_ms,
                **p.model_dump(exclude={"kind"}),
            ),
            _edge("HAS_REPORT", ("Story", sid), ("WorkspaceReport", rid)),
        ]
    if isinstance(p, GateResult):
        return _gate(p, ev)
    return _data_ops(ev)


def _gate(g: GateResult, ev: FleetEvent) -> list[Op]:
    dims = {
        d.name: {"weight": d.weight, "score": d.score, "detail": d.detail} for d in g.dimensions
    }
    return [
        _node(
            "GateResult",
            ev.id,
            story_id=ev.story_id,
            task_id=ev.data.get("task_id"),
            attempt=ev.data.get("attempt"),
            at_ms=ev.at_ms,
            profile=g.profile,
            score=g.score,
            verdict=g.verdict,
            failures=g.failures,
            dimensions=dims or None,
        ),
        _edge("HAS_GATE", ("Story", ev.story_id), ("GateResult", ev.id)),
    ]


def ops_for_all(events: Iterable[FleetEvent]) -> list[Op]:
    """Concatenated ops of several events, in event order."""
    return [op for ev in events for op in ops_for(ev)]
