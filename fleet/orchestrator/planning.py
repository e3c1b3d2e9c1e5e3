"""Planning that a small model cannot break: one task per function or prose criterion.

A 135M-parameter model cannot be trusted to invent a sound task DAG, so the
default plan is derived from the story itself: executable criteria about the same
function ("f(6, 3) returns 2.0", "f(1, 0) raises ValueError") form one task, since
they specify one function together; every other criterion is a task of its own. The
council then deliberates on *how* to do each task, which is where its votes matter.
A larger model can plug in another planner through
:class:`fleet.orchestrator.services.Services`.
"""

from __future__ import annotations

from fleet.contracts import Story, Task
from fleet.criteria import parse, topo_order

__all__ = ["groups", "plan_from_criteria", "topo_order"]


def groups(criteria: list[str]) -> list[list[str]]:
    """Criteria grouped by the function they execute (prose criteria stand alone), in order."""
    out: list[list[str]] = []
    by_func: dict[str, list[str]] = {}
    for criterion in criteria:
        example = parse(criterion)
        if example is None:
            out.append([criterion])
        elif example.func in by_func:
            by_func[example.func].append(criterion)
        else:
            by_func[example.func] = [criterion]
            out.append(by_func[example.func])
    return out


def plan_from_criteria(story: Story, plan_round: int = 1) -> list[Task]:
    """One independent build task per function or prose criterion (or one for the whole story)."""
    criteria = [c.strip() for c in story.acceptance_criteria if c.strip()]
    if not criteria:
        criteria = [story.description.strip() or story.title]
    return [
        Task(
            id=f"p{plan_round}-t{i}",
            story_id=story.id,
            role="developer",
            phase="build",
            description=f"{story.title}: {'; '.join(group)}",
        )
        for i, group in enumerate(groups(criteria), start=1)
    ]
