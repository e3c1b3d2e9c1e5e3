"""A story's state, rebuilt by folding its timeline: the one replay of events.

The orchestrator keeps nothing that matters only in memory: after a restart it
re-reads the story's events and folds them into a :class:`StoryView`, then
decides the next step from that view alone. Rehydration (:mod:`fleet.memory.rehydrate`)
reads the same view. Events are read as their typed models (:func:`fleet.events.typed`);
``_FOLD`` is the table from event type to what it changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fleet import events as ev
from fleet.contracts import (
    Deliberation,
    FleetEvent,
    GateResult,
    Story,
    StoryScore,
    Task,
    WorkspaceReport,
)
from fleet.errors import InvalidInput

PO_GATES = ("scope", "design", "acceptance", "blocked", "budget", "error")


@dataclass
class Parked:
    """Where a story waits and why."""

    gate: str
    reason: str
    event_id: str


@dataclass
class StoryView:
    """Everything the decision function needs, derived from events only."""

    story: Story | None = None
    state: str = "BACKLOG"
    transitions: list[tuple[str, str, str]] = field(default_factory=list)
    score: StoryScore | None = None
    scored_version: int = -1
    story_version: int = 0
    parked: Parked | None = None
    approvals: dict[str, bool] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    extra_attempts: int = 0
    plan_round: int = 0
    tasks: dict[str, Task] = field(default_factory=dict)
    deliberations: dict[str, Deliberation] = field(default_factory=dict)
    reports: dict[tuple[str, int], WorkspaceReport] = field(default_factory=dict)
    gates: dict[tuple[str, int], GateResult] = field(default_factory=dict)
    docs: str | None = None
    outcome: str | None = None
    delivery: dict[str, Any] | None = None  # the last story.delivered facts, without the diff
    event_count: int = 0
    last_entry: str = "0"
    last_event_id: str | None = None
    skipped: int = 0  # events whose data did not fit their type (written by an older version)
    # the latest deliberation: its id, last completed round, whether it finished
    deliberation: str | None = None
    deliberation_round: int | None = None
    deliberation_done: bool = False
    decided: set[str] = field(default_factory=set)  # task ids with a decision
    decisions: int = 0
    gate_events: int = 0
    # the facts of every workspace.report (workspace, branch, commit, ...), oldest first
    workspaces: list[dict[str, Any]] = field(default_factory=list)
    # gate results the build step recorded with its reports (judged once, where it committed)
    judged: dict[tuple[str, int], GateResult] = field(default_factory=dict)
    # councils that lost quorum (their ids) and the PO's approvals of the error gate (None), in order
    quorum_log: list[str | None] = field(default_factory=list)

    @property
    def loopbacks(self) -> int:
        """How many TEST -> BUILD loops the story has taken (its current build attempt)."""
        return sum(1 for frm, to, _ in self.transitions if (frm, to) == ("TEST", "BUILD"))

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def gate_attempts(self) -> int:
        """Gate results seen, or the highest attempt number they carry, whichever is larger."""
        return max(self.gate_events, max((n for _, n in self.gates), default=0))

    def build_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.phase != "docs"]

    def findings(self, attempt: int) -> list[str]:
        """Gate failures of ``attempt``: what the next build attempt must fix, the failing tests
        with their messages first (an author shown only "1 of 2 tests failed" repeats its bug)."""
        out: list[str] = []
        for (task_id, n), gate in sorted(self.gates.items()):
            if n == attempt and gate.verdict == "block":
                report = self.reports.get((task_id, n))
                notes = [
                    x for x in (report.notes if report else ()) if not x.startswith("build: passed")
                ]
                failed = [x for x in notes if x.startswith("failed: ")]
                rest = [x for x in notes if not x.startswith("failed: ")]
                out.extend(f"{task_id}: {x}" for x in failed[:4])
                out.extend(f"{task_id}: {f}" for f in gate.failures)
                out.extend(f"{task_id}: {x}" for x in rest[: max(0, 4 - len(failed))])
        return out

    def source(self) -> tuple[str, str] | None:
        """The latest committed workspace of the story (path, branch): the next task builds on it."""
        for data in reversed(self.workspaces):
            if data.get("commit"):
                return str(data["workspace"]), str(data["branch"])
        return None

    def council_retries(self, deliberation_id: str) -> int:
        """How many times the PO approved the ``error`` gate after this task attempt's council lost
        its quorum: each approval asks for a fresh council (new id, new seeds) instead of the
        checkpointed ``quorum_lost``, which would otherwise be re-raised forever."""
        lost, n = False, 0
        for entry in self.quorum_log:
            if entry is not None:
                lost = lost or entry.startswith(deliberation_id)
            elif lost:
                n, lost = n + 1, False
        return n


def _created(view: StoryView, e: Any) -> None:
    view.story = e.payload
    view.story_version += 1
    view.state = view.state if view.transitions else e.payload.state


def _scored(view: StoryView, e: ev.StoryScored) -> None:
    view.score, view.scored_version = e.payload, view.story_version


def _transition(view: StoryView, e: ev.StoryTransition) -> None:
    view.transitions.append((e.from_, e.to, e.name))
    view.state = e.to
    view.parked = None
    view.approvals = {}
    if e.to == "DESIGN":
        # Every visit to DESIGN plans afresh (after a rejected design, say).
        view.plan_round += 1
        view.tasks = {}


def _parked(view: StoryView, e: ev.StoryParked) -> None:
    view.parked = Parked(e.gate, e.reason, e.id)
    view.approvals.pop(e.gate, None)


def _approved(view: StoryView, e: ev.StoryApproved) -> None:
    _answered(view, e.gate, approved=e.approved, comment=e.comment)


def _rejected(view: StoryView, e: ev.StoryRejected) -> None:
    _answered(view, e.gate, approved=False, comment=e.comment)


def _answered(view: StoryView, gate: str, *, approved: bool, comment: str) -> None:
    """The PO's answer at ``gate`` (``story.approved``, or ``story.rejected``; older logs record a
    rejection as ``story.approved`` with approved=False)."""
    view.approvals[gate] = approved
    if comment:
        view.comments.append(comment)
    if gate == "blocked" and approved:
        view.extra_attempts += 1
    if gate == "error" and approved:
        view.quorum_log.append(None)
    if view.parked and view.parked.gate == gate:
        view.parked = None


def _planned(view: StoryView, e: ev.TaskPlanned) -> None:
    view.tasks[e.payload.id] = e.payload


def _started(view: StoryView, e: ev.DeliberationStarted) -> None:
    view.deliberation, view.deliberation_round = e.deliberation_id, None
    view.deliberation_done = False


def _round(view: StoryView, e: ev.RoundCompleted) -> None:
    if e.deliberation_id == view.deliberation:
        view.deliberation_round = max(view.deliberation_round or 0, e.round)


def _result(view: StoryView, e: ev.CouncilResult) -> None:
    p = e.payload
    view.deliberations[p.id] = p
    if p.id != view.deliberation:
        view.deliberation, view.deliberation_round = p.id, None
    view.deliberation_done = True
    view.deliberation_round = max(view.deliberation_round or 0, p.rounds)


def _decided(view: StoryView, e: ev.DecisionMade) -> None:
    view.decisions += 1
    if e.payload.task_id:
        view.decided.add(e.payload.task_id)


def _report(view: StoryView, e: ev.WorkspaceReported) -> None:
    view.reports[(e.task_id, e.attempt)] = e.payload
    facts = {**(e.model_extra or {}), "task_id": e.task_id, "attempt": e.attempt}
    view.workspaces.append(facts)
    if isinstance(facts.get("gate"), dict):
        # written by another version: the TEST step judges the report itself
        with contextlib.suppress(ValueError):
            view.judged[(e.task_id, e.attempt)] = GateResult.model_validate(facts["gate"])


def _quorum_lost(view: StoryView, e: ev.QuorumLost) -> None:
    view.quorum_log.append(e.deliberation_id)


def _gate(view: StoryView, e: ev.GateJudged) -> None:
    view.gates[(e.task_id, e.attempt)] = e.payload
    view.gate_events += 1


def _docs(view: StoryView, e: ev.DocsWritten) -> None:
    view.docs = e.summary


def _done(view: StoryView, e: ev.StoryDone) -> None:
    view.outcome = e.outcome


def _delivered(view: StoryView, e: ev.StoryDelivered) -> None:
    view.delivery = e.model_dump(exclude={"diff", "story_id", "id", "at_ms", "actor", "type"})


# event type -> how it changes the view; types not listed change only the counters
_FOLD: dict[str, Callable[[StoryView, Any], None]] = {
    "story.created": _created,
    "story.updated": _created,
    "story.scored": _scored,
    "story.transition": _transition,
    "story.parked": _parked,
    "story.approved": _approved,
    "story.rejected": _rejected,
    "task.planned": _planned,
    "deliberation.started": _started,
    "council.round_completed": _round,
    "council.result": _result,
    "council.quorum_lost": _quorum_lost,
    "decision.made": _decided,
    "workspace.report": _report,
    "gate.result": _gate,
    "docs.written": _docs,
    "story.done": _done,
    "story.delivered": _delivered,
}


def apply(view: StoryView, entry: str, event: FleetEvent) -> None:
    """Fold one event into ``view``; unknown types and malformed events change only counters."""
    view.event_count += 1
    view.last_entry = entry
    view.last_event_id = event.id
    step = _FOLD.get(event.type)
    if step is None:
        return
    try:
        typed = ev.typed(event)
    except InvalidInput:
        view.skipped += 1
        return
    step(view, typed)


def fold(entries: Iterable[tuple[str, FleetEvent]], view: StoryView | None = None) -> StoryView:
    """Fold ``(entry_id, event)`` pairs (oldest first) into a view, optionally continuing one."""
    view = view or StoryView()
    for entry, event in entries:
        apply(view, entry, event)
    return view
