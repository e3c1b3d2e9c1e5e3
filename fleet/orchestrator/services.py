"""What the orchestrator needs from the rest of the fleet, as small ports.

The actor shell wires real implementations (the coach, the council actor, the
workspace runner in the sandbox, the rigor gate); tests inject simple ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fleet.contracts import (
    Deliberation,
    GateResult,
    Proposal,
    Story,
    StoryScore,
    Task,
    WorkspaceReport,
)
from fleet.orchestrator.view import StoryView


class CouncilPort(Protocol):
    """Deliberates on one task and returns the full record (winner included).

    Raises:
        BudgetExceeded: a member's model budget is spent.
        InfraError: the council could not run (quorum lost, models down).
    """

    def deliberate(
        self,
        story: Story,
        task: Task,
        *,
        deliberation_id: str,
        attempt: int,
        findings: Sequence[str],
    ) -> Deliberation: ...


@dataclass(frozen=True)
class Execution:
    """A workspace run: its report, plus facts for the timeline (branch, commit, files)."""

    report: WorkspaceReport
    data: dict[str, Any] = field(default_factory=dict)


class ExecutorPort(Protocol):
    """Applies the winning proposal in the story's workspace, builds and tests it.

    "The change failed" is a report with failures; "could not run" is an exception.
    """

    def execute(
        self,
        story: Story,
        task: Task,
        winner: Proposal | None,
        *,
        attempt: int,
    ) -> WorkspaceReport | Execution: ...


@dataclass
class Services:
    """The orchestrator's collaborators, injected."""

    score: Callable[[Story], StoryScore]
    plan: Callable[[Story, int], list[Task]]
    council: CouncilPort
    executor: ExecutorPort
    gate: Callable[[WorkspaceReport, str], GateResult]
    document: Callable[[Story, StoryView], str]
    deliver: Callable[[Story], dict[str, Any]] | None = None
    """Puts a finished story's change where the user works (a branch, a patch file); the facts
    for the ``story.delivered`` event. ``None``: nothing is delivered (tests of orchestration)."""
    admit: Callable[[Story], None] | None = None
    """Refuses, at submit, a story the runner could never start (raises ``InvalidInput``: e.g. a
    local repository outside the configured roots). ``None``: every valid story is accepted."""


def winner_of(deliberation: Deliberation) -> Proposal | None:
    """The winning proposal of a deliberation (latest round of the winner's id), or None."""
    if not deliberation.winner:
        return None
    for proposal in reversed(deliberation.proposals):
        if proposal.id == deliberation.winner:
            return proposal
    return None


def summary_docs(story: Story, view: StoryView) -> str:
    """Release notes from the story's own record: what was built and how it was judged."""
    lines = [f"# {story.title}", "", story.description, "", "## Tasks"]
    attempt = view.loopbacks
    for task in view.build_tasks():
        gate = view.gates.get((task.id, attempt))
        verdict = f"{gate.verdict} ({gate.score:.0f}/100)" if gate else "not gated"
        lines.append(f"- {task.id}: {task.description} - gate {verdict}")
    lines += ["", "## Acceptance criteria", *(f"- {c}" for c in story.acceptance_criteria)]
    return "\n".join(lines)
