"""Planning by the team: the architect proposes a task DAG, the council deliberates on it.

A plan proposal groups the story's criteria (referred to by number, which a small model can do
reliably) into tasks with ``depends_on``. Code checks it: unique ids, every criterion covered,
dependencies on known tasks only; an invalid plan is no answer (the member misses the step), so
an invalid plan never wins. Code also *shapes* it, because a plan that passes those checks can
still double the work (two tasks that are both the whole story, one after the other): each
criterion is delivered by one task only (the first that lists it), executable criteria about one
function are one behaviour and so one task, a task left with nothing to deliver disappears (its
dependents inherit its dependencies), and a dependency that would close a cycle is not added —
the DAG is acyclic by construction. When no valid plan wins, the code-based plan
(:func:`fleet.orchestrator.planning.plan_from_criteria`) is the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated

from pydantic import Field, create_model

from fleet.contracts import Task
from fleet.council.schemas import Draft
from fleet.prompts import render as prompt

MAX_TASKS = 8
_ID = re.compile(r"[^a-z0-9]+")


class PlanStep(Draft):
    """One task of a proposed plan: the criteria it delivers and the tasks it needs first."""

    id: str = Field(min_length=1, max_length=12)
    criteria: list[int] = Field(min_length=1, max_length=12)
    depends_on: list[str] = Field(default_factory=list, max_length=MAX_TASKS)


class PlanDraft(Draft):
    """A member's plan: tasks (criteria by number) with dependencies, and why."""

    tasks: list[PlanStep] = Field(min_length=1, max_length=MAX_TASKS)
    reason: str = Field("", max_length=160)


@lru_cache(maxsize=16)
def plan_schema(n: int) -> type[PlanDraft]:
    """A PlanDraft whose criterion numbers are bounded by ``n`` (constrained decoding)."""
    number = Annotated[int, Field(ge=1, le=n)]
    step = create_model(
        f"PlanStep{n}",
        __base__=PlanStep,
        criteria=(list[number], Field(min_length=1, max_length=n)),
    )
    return create_model(
        f"PlanDraft{n}",
        __base__=PlanDraft,
        tasks=(list[step], Field(min_length=1, max_length=min(n, MAX_TASKS))),
    )


def numbered(criteria: Sequence[str]) -> str:
    return "\n".join(
        prompt("council.plan_criterion", number=i, text=c) for i, c in enumerate(criteria, 1)
    )


def plan_job(criteria: Sequence[str]) -> str:
    """The request for a plan proposal."""
    return prompt("council.plan", criteria=numbered(criteria))


def revise_plan_job(criteria: Sequence[str], own: str, critiques: Sequence[str]) -> str:
    notes = "\n".join(prompt("council.item", text=c) for c in critiques)
    return prompt(
        "council.revise_plan",
        job=plan_job(criteria),
        plan=own,
        critiques=notes or prompt("council.no_critiques"),
    )


def _slug(text: str) -> str:
    return _ID.sub("-", text.lower()).strip("-")[:12]


def tasks_of(draft: PlanDraft, *, story_id: str, criteria: Sequence[str]) -> tuple[Task, ...]:
    """The plan as Tasks (ids as written, slugged; description = the criteria it delivers),
    shaped as the module says: distinct tasks, one per behaviour, acyclic.

    Raises:
        ValueError: an invalid plan (duplicate or empty ids, a criterion number out of range,
            a criterion in no task, a dependency on an unknown task).
    """
    ids = [_slug(s.id) for s in draft.tasks]
    if "" in ids or len(set(ids)) != len(ids):
        raise ValueError(f"plan task ids must be distinct and non-empty: {ids}")
    n = len(criteria)
    covered = {k for s in draft.tasks for k in s.criteria}
    if any(not 1 <= k <= n for k in covered):
        raise ValueError(f"criterion numbers must be 1..{n}")
    if missing := sorted(set(range(1, n + 1)) - covered):
        raise ValueError(f"criteria {missing} are in no task")
    deps: dict[str, list[str]] = {}
    for tid, step in zip(ids, draft.tasks, strict=True):
        deps[tid] = [d for d in dict.fromkeys(_slug(d) for d in step.depends_on) if d != tid]
        if any(d not in ids for d in deps[tid]):
            raise ValueError(f"task {tid} depends on an unknown task or itself: {deps[tid]}")
    owner = _owners(ids, [list(dict.fromkeys(s.criteria)) for s in draft.tasks], criteria)
    kept = [t for t in ids if t in owner.values()]
    # each task as written now stands for the tasks that deliver its criteria ("takers"): a
    # dependency on it is a dependency on them, and their work needs what it needed
    takers = {
        t: list(dict.fromkeys(owner[k] for k in s.criteria))
        for t, s in zip(ids, draft.tasks, strict=True)
    }
    wanted: dict[str, list[str]] = {t: [] for t in kept}
    for t in ids:
        for d in deps[t]:
            wanted_pairs = ((x, y) for x in takers[t] for y in takers[d] if x != y)
            for x, y in wanted_pairs:
                if y not in wanted[x]:
                    wanted[x].append(y)
    edges = _acyclic(wanted, kept)
    return tuple(
        Task(
            id=tid,
            story_id=story_id,
            role="developer",
            phase="build",
            description="; ".join(criteria[k - 1] for k in sorted(owner) if owner[k] == tid),
            depends_on=tuple(edges[tid]),
        )  # fmt: skip
        for tid in kept
    )


def _owners(ids: list[str], lists: list[list[int]], criteria: Sequence[str]) -> dict[int, str]:
    """Criterion number -> the one task that delivers it: the first task listing it, and for an
    executable criterion the first task holding any criterion about the same function."""
    from fleet.criteria import parse

    def func(k: int) -> str | None:
        example = parse(criteria[k - 1])
        return example.func if example else None

    owner: dict[int, str] = {}
    by_func: dict[str, str] = {}
    for tid, nums in zip(ids, lists, strict=True):
        for k in nums:
            f = func(k)
            if k not in owner:
                owner[k] = by_func.get(f, tid) if f else tid
            if f and f not in by_func:
                by_func[f] = owner[k]
    return owner


def _acyclic(deps: dict[str, list[str]], order: list[str]) -> dict[str, list[str]]:
    """``deps`` with every edge that would close a cycle left out (tasks and edges in the
    order written): the result is a DAG whatever the proposal said."""
    edges: dict[str, list[str]] = {t: [] for t in order}

    def reaches(src: str, dst: str) -> bool:
        stack, seen = [src], set()
        while stack:
            node = stack.pop()
            if node == dst:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(edges[node])
        return False

    for t in order:
        for d in deps[t]:
            if d in edges and not reaches(d, t):
                edges[t].append(d)
    return edges


def render(tasks: Sequence[Task]) -> str:
    """A plan in one short text (a proposal's content, what voters read)."""
    parts = [
        f"{t.id}{' after ' + ','.join(t.depends_on) if t.depends_on else ''}: {t.description}"
        for t in tasks
    ]
    return " | ".join(parts)  # whole: voters and the PO judge the plan, not its first lines


def story_tasks(plan: Sequence[Task], *, title: str, plan_round: int) -> list[Task]:
    """The winning plan as the story's tasks: ids ``p<round>-<id>``, titled descriptions (the
    executor finds a task's criteria in its description)."""
    prefix = f"p{plan_round}-"
    return [
        t.model_copy(
            update={
                "id": prefix + t.id,
                "description": f"{title}: {t.description}",
                "depends_on": tuple(prefix + d for d in t.depends_on),
            }
        )
        for t in plan
    ]
