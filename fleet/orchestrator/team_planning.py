"""Planning by the team: the architect's task DAG, deliberated by the council, or the code plan.

For a story whose criteria need several tasks (more than one function, or prose criteria beside
executable ones; criteria about one function are one task and need no plan), the council's
architect members propose plans (tasks over the criteria, with ``depends_on``;
:mod:`fleet.council.plans`), every member critiques and votes (Borda), and the winning plan
becomes the story's tasks. When there is no architect, the criteria are one task, or no valid
plan wins (every plan invalid, quorum lost, a model down), the plan derived by code from the
criteria (:func:`plan_from_criteria`) is used: a story is never stuck for want of a plan. Tasks
without dependencies are then built in parallel by the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fleet.contracts import Deliberation, Story, Task
from fleet.council.plans import story_tasks
from fleet.council.schemas import DeliberationRequest
from fleet.errors import ControlSignal, FleetError
from fleet.orchestrator.planning import groups, plan_from_criteria

Deliberate = Callable[[DeliberationRequest], Deliberation]


def plan_id(story_id: str, plan_round: int) -> str:
    """The planning council's id (a replan after a rejected design gets a new one)."""
    return f"{story_id}.plan{plan_round}"


@dataclass(frozen=True)
class TeamPlan:
    """``Services.plan`` by the team. ``council(story)`` gives the members (agent ids) and their
    roles for the story; ``deliberate`` runs a council request (the council actor)."""

    council: Callable[[Story], tuple[tuple[str, ...], Mapping[str, str]]]
    deliberate: Deliberate
    rounds: int = 1
    phase_timeout_s: float = 120.0
    notes: list[str] = field(default_factory=list)  # why a plan fell back (for logs and tests)

    def __call__(self, story: Story, plan_round: int) -> list[Task]:
        criteria = tuple(c.strip() for c in story.acceptance_criteria if c.strip())
        if len(groups(list(criteria))) < 2:  # criteria about one function: one task, no DAG
            return plan_from_criteria(story, plan_round)
        members, roles = self.council(story)
        architects = tuple(m for m in members if roles.get(m) == "architect")
        if not architects:
            self.notes.append("no architect on the council: the plan is derived from the criteria")
            return plan_from_criteria(story, plan_round)
        request = DeliberationRequest(
            id=plan_id(story.id, plan_round),
            story_id=story.id,
            task=f"Plan the story: {story.title}\n{story.description}",
            phase="design",
            members=members,
            roles=dict(roles),
            proposers=architects,
            rounds=self.rounds,
            rule="borda",
            early_stop=False,  # one architect's plan would win the first vote unchallenged
            phase_timeout_s=self.phase_timeout_s,
            criteria=criteria,
        )
        try:
            deliberation = self.deliberate(request)
        except ControlSignal:
            raise  # a spent budget parks the story; it is not a reason to plan differently
        except FleetError as exc:  # quorum lost (every plan invalid), models down, ...
            self.notes.append(f"no plan won ({type(exc).__name__}: {str(exc)[:300]}): "
                              "the plan from the criteria")  # fmt: skip
            return plan_from_criteria(story, plan_round)
        return chosen(deliberation, story, plan_round, self.notes)


def chosen(
    deliberation: Deliberation, story: Story, plan_round: int, notes: list[str] | None = None
) -> list[Task]:
    """The winning plan as the story's tasks, or the plan from the criteria without one."""
    win = next((p for p in reversed(deliberation.proposals) if p.id == deliberation.winner), None)
    if win is None or not win.plan:
        if notes is not None:
            notes.append("the winner has no plan: the plan from the criteria")
        return plan_from_criteria(story, plan_round)
    return story_tasks(win.plan, title=story.title, plan_round=plan_round)
