"""The next step for a story: a pure function of its folded timeline.

Flow: intake (coach score; below the DoR threshold the story stays in DRAFT with
the coach's suggestions) -> PO scope gate -> planning -> PO design gate -> BUILD
(per task a council, then the workspace runner) -> TEST (the rigor gate; a block
loops back to BUILD with the findings, a bounded number of times, then parks) ->
DOCS -> PO acceptance gate -> DONE. Every FSM move is checked by
:class:`fleet.lifecycle.Lifecycle`, so the YAML stays the single source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleet.contracts import Task
from fleet.lifecycle import Lifecycle
from fleet.orchestrator.view import StoryView
from fleet.testinfra import flagged


@dataclass(frozen=True)
class Score:
    """Run the story coach."""


@dataclass(frozen=True)
class Move:
    """Fire an FSM transition with these facts."""

    target: str
    facts: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Park:
    """Stop and wait for the PO at ``gate``."""

    gate: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """Derive the task DAG."""


@dataclass(frozen=True)
class Build:
    """Run these ready tasks (council, then workspace) for build attempt ``attempt``."""

    tasks: tuple[Task, ...]
    attempt: int


@dataclass(frozen=True)
class Judge:
    """Gate these tasks' workspace reports against the story's rigor profile."""

    tasks: tuple[Task, ...]
    attempt: int


@dataclass(frozen=True)
class Document:
    """Write the story's documentation."""


@dataclass(frozen=True)
class Finish:
    outcome: str


@dataclass(frozen=True)
class Wait:
    """Nothing to do until someone acts (the PO) or the story is over."""

    why: str


Step = Score | Move | Park | Plan | Build | Judge | Document | Finish | Wait


def ready_tasks(view: StoryView, attempt: int) -> tuple[Task, ...]:
    """Build tasks without a report for ``attempt`` whose dependencies all have one."""
    done = {tid for (tid, n) in view.reports if n == attempt}
    return tuple(
        t
        for t in view.build_tasks()
        if t.id not in done and all(dep in done or dep not in view.tasks for dep in t.depends_on)
    )


def _gate(view: StoryView, gate: str, reason: str, on_yes: Step, on_no: Step) -> Step:
    """A PO gate: park once, then follow the PO's answer."""
    answer = view.approvals.get(gate)
    if answer is None:
        return Wait(f"parked at {gate}") if view.parked else Park(gate, reason)
    return on_yes if answer else on_no


def _test_infra(view: StoryView) -> str:
    """What accepting also keeps: the change's edits to test infrastructure (conftest.py, pytest
    or coverage configuration, skip/xfail markers...), which the gate judged with the base
    commit's versions (``fleet.testinfra``): they ship only with this explicit approval."""
    attempt = view.loopbacks
    paths = sorted(
        {p for (_, n), r in view.reports.items() if n == attempt for p in flagged(r.notes)}
    )
    if not paths:
        return ""
    return (
        "; ACCEPTING ALSO KEEPS CHANGES TO TEST INFRASTRUCTURE, not judged by the gate "
        f"(it used the base commit's versions): {', '.join(paths)}"
    )


def _draft(view: StoryView) -> Step:
    if view.score is None or view.scored_version < view.story_version:
        return Score()
    if not view.score.ready:
        if view.parked and view.parked.gate == "dor":
            return Wait("below the Definition of Ready")
        tips = "; ".join(view.score.suggestions) or "improve the story"
        return Park("dor", f"DoR {view.score.dor} is below the threshold: {tips}")
    return _gate(
        view,
        "scope",
        f"DoR {view.score.dor}: approve the scope to start design",
        Move("DESIGN", {"dor_ok": True, "po_approved": True}),
        Finish("rejected"),
    )


def _design(view: StoryView) -> Step:
    if not view.tasks:
        return Plan()
    summary = "; ".join(f"{t.id}: {t.description}" for t in view.build_tasks())
    return _gate(
        view,
        "design",
        f"approve the plan ({len(view.tasks)} tasks): {summary}",
        Move("BUILD", {"plan_ready": True, "po_approved": True}),
        Move("DRAFT", {"po_rejected": True}),
    )


def _test(view: StoryView, lifecycle: Lifecycle) -> Step:
    attempt = view.loopbacks
    pending = tuple(t for t in view.build_tasks() if (t.id, attempt) not in view.gates)
    if pending:
        return Judge(pending, attempt)
    verdicts = [g.verdict for (_, n), g in view.gates.items() if n == attempt]
    if "block" not in verdicts:
        return Move("DOCS", {"gate_passed": True})
    allowed = lifecycle.attempts_left(attempt - view.extra_attempts)
    if allowed:
        return Move("BUILD", {"gate_blocked": True, "attempts_left": True})
    if view.parked:
        return Wait("blocked: build attempts spent")
    reasons = "; ".join(view.findings(attempt)) or "the rigor gate blocked"
    return Park("blocked", f"rigor gate blocked after {attempt + 1} attempts: {reasons}")


def next_step(view: StoryView, lifecycle: Lifecycle) -> Step:
    """What to do next for the story in ``view``."""
    if view.story is None:
        return Wait("no such story")
    if view.done:
        return Wait(f"finished: {view.outcome}")
    if view.parked and view.parked.gate not in view.approvals:
        return Wait(f"parked at {view.parked.gate}: {view.parked.reason}")
    state = view.state
    if state == "BACKLOG":
        if view.score is None:
            return Score()
        return Move("DRAFT", {"has_title": bool(view.story.title.strip())})
    if state == "DRAFT":
        return _draft(view)
    if state == "DESIGN":
        return _design(view)
    if state == "BUILD":
        attempt = view.loopbacks
        ready = ready_tasks(view, attempt)
        if ready:
            return Build(ready, attempt)
        return Move("TEST", {"build_ok": True})
    if state == "TEST":
        return _test(view, lifecycle)
    if state == "DOCS":
        if view.docs is None:
            return Document()
        return _gate(
            view,
            "acceptance",
            "review the result and accept the story" + _test_infra(view),
            Move("DONE", {"docs_written": True, "po_approved": True}),
            Finish("rejected"),
        )
    if state == "DONE":
        return Finish("done")
    return Wait(f"unknown state {state}")
