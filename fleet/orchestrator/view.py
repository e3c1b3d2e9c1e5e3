"""A story's state, rebuilt by folding its timeline.

The orchestrator keeps nothing that matters only in memory: after a restart it
re-reads the story's events and folds them into a :class:`StoryView`, then
decides the next step from that view alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fleet.contracts import (
    Deliberation,
    FleetEvent,
    GateResult,
    Story,
    StoryScore,
    Task,
    WorkspaceReport,
)

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
    event_count: int = 0
    last_entry: str = "0"

    @property
    def loopbacks(self) -> int:
        """How many TEST -> BUILD loops the story has taken (its current build attempt)."""
        return sum(1 for frm, to, _ in self.transitions if (frm, to) == ("TEST", "BUILD"))

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def build_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.phase != "docs"]

    def findings(self, attempt: int) -> list[str]:
        """Gate failures of ``attempt``: what the next build attempt must fix."""
        out: list[str] = []
        for (task_id, n), gate in sorted(self.gates.items()):
            if n == attempt and gate.verdict == "block":
                out.extend(f"{task_id}: {f}" for f in gate.failures)
                report = self.reports.get((task_id, n))
                notes = [
                    x for x in (report.notes if report else ()) if not x.startswith("build: passed")
                ]
                out.extend(f"{task_id}: {x}" for x in notes[:4])
        return out


def _on_transition(view: StoryView, event: FleetEvent) -> None:
    frm, to = str(event.data.get("from")), str(event.data.get("to"))
    view.transitions.append((frm, to, str(event.data.get("name", ""))))
    view.state = to
    view.parked = None
    view.approvals = {}
    if to == "DESIGN":
        # Every visit to DESIGN plans afresh (after a rejected design, say).
        view.plan_round += 1
        view.tasks = {}


def _on_approved(view: StoryView, event: FleetEvent) -> None:
    gate = str(event.data.get("gate"))
    approved = bool(event.data.get("approved", True))
    view.approvals[gate] = approved
    if event.data.get("comment"):
        view.comments.append(str(event.data["comment"]))
    if gate == "blocked" and approved:
        view.extra_attempts += 1
    if view.parked and view.parked.gate == gate:
        view.parked = None


def apply(view: StoryView, entry: str, event: FleetEvent) -> None:
    """Fold one event into ``view`` (unknown types are ignored: other producers share the log)."""
    view.event_count += 1
    view.last_entry = entry
    kind, p, d = event.type, event.payload, event.data
    if kind in ("story.created", "story.updated") and isinstance(p, Story):
        view.story = p
        view.story_version += 1
        view.state = view.state if view.transitions else p.state
    elif kind == "story.scored" and isinstance(p, StoryScore):
        view.score, view.scored_version = p, view.story_version
    elif kind == "story.transition":
        _on_transition(view, event)
    elif kind == "story.parked":
        view.parked = Parked(str(d.get("gate")), str(d.get("reason", "")), event.id)
        view.approvals.pop(view.parked.gate, None)
    elif kind == "story.approved":
        _on_approved(view, event)
    elif kind == "task.planned" and isinstance(p, Task):
        view.tasks[p.id] = p
    elif kind == "council.result" and isinstance(p, Deliberation):
        view.deliberations[p.id] = p
    elif kind == "workspace.report" and isinstance(p, WorkspaceReport):
        view.reports[(str(d.get("task_id")), int(d.get("attempt", 0)))] = p  # type: ignore[arg-type]
    elif kind == "gate.result" and isinstance(p, GateResult):
        view.gates[(str(d.get("task_id")), int(d.get("attempt", 0)))] = p  # type: ignore[arg-type]
    elif kind == "docs.written":
        view.docs = str(d.get("summary", ""))
    elif kind == "story.done":
        view.outcome = str(d.get("outcome", "done"))


def fold(entries: Iterable[tuple[str, FleetEvent]], view: StoryView | None = None) -> StoryView:
    """Fold ``(entry_id, event)`` pairs (oldest first) into a view, optionally continuing one."""
    view = view or StoryView()
    for entry, event in entries:
        apply(view, entry, event)
    return view
