"""Drives one story: read its timeline, decide, act, record — until it waits or ends.

Crash safety comes from the loop's shape: state is only ever the folded
timeline, and every event id is deterministic (``story:type:key``), so after a
crash the same decision is taken again and re-emitting a fact is a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fleet.contracts import FleetEvent, Story
from fleet.errors import BudgetExceeded, ParkedForHuman
from fleet.events import make_event
from fleet.lifecycle import Lifecycle
from fleet.orchestrator import decide as d
from fleet.orchestrator.services import Execution, Services, winner_of
from fleet.orchestrator.view import StoryView, fold
from fleet.ports import Clock, EventLog

MAX_STEPS = 500  # a story never needs this many; stops a logic bug from spinning forever
INFRA_RETRIES = 2


def deliberation_id(story_id: str, task_id: str, attempt: int) -> str:
    return f"{story_id}.{task_id}.a{attempt}"


class StoryDriver:
    """Moves one story forward as far as it can go without a human."""

    def __init__(
        self,
        story_id: str,
        *,
        log: EventLog,
        services: Services,
        lifecycle: Lifecycle,
        clock: Clock,
        on_event: Callable[[FleetEvent], None] | None = None,
        parallelism: int = 4,
        stop: threading.Event | None = None,
    ) -> None:
        self.story_id = story_id
        self.log = log
        self.services = services
        self.lifecycle = lifecycle
        self.clock = clock
        self.on_event = on_event
        self.parallelism = parallelism
        self.stop = stop or threading.Event()
        # Workspace runs share the story's branch, so they go one at a time.
        self._workspace_lock = threading.Lock()
        self._seen = 0

    # ------------------------------------------------------------------ events

    def emit(
        self,
        type: str,
        *,
        payload: Any = None,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> FleetEvent:
        event = make_event(
            self.story_id,
            type,
            clock=self.clock,
            payload=payload,
            data=data,
            actor="orchestrator",
            key=key,
        )
        self.log.append(event)
        return event

    def view(self) -> StoryView:
        """The folded timeline; events not seen before go to ``on_event`` (metrics) once."""
        entries = self.log.read(self.story_id)
        if self.on_event:
            for _, event in entries[self._seen :]:
                self.on_event(event)
        self._seen = len(entries)
        return fold(entries)

    # ------------------------------------------------------------------ loop

    def run(self) -> StoryView:
        """Act until the story waits for someone or is finished; return its final view."""
        failures = 0
        for _ in range(MAX_STEPS):
            view = self.view()
            step = d.next_step(view, self.lifecycle)
            if isinstance(step, d.Wait) or self.stop.is_set():
                return view
            try:
                self.perform(step, view)
                failures = 0
            except BudgetExceeded as exc:
                self.emit("budget.exceeded", data=dict(exc.fields), key=f"{view.event_count}")
                self.park(view, "budget", str(exc))
            except ParkedForHuman as exc:
                self.park(view, str(exc.fields.get("gate", "error")), str(exc))
            except (
                Exception
            ) as exc:  # infra or a bug elsewhere: retry, then park visibly, never stall
                failures += 1
                if failures > INFRA_RETRIES:
                    self.park(view, "error", f"{type(exc).__name__}: {exc}")
        self.park(self.view(), "error", f"no progress after {MAX_STEPS} steps")
        return self.view()

    def park(self, view: StoryView, gate: str, reason: str) -> None:
        self.emit(
            "story.parked",
            data={"gate": gate, "reason": reason, "state": view.state},
            key=f"{gate}:{view.event_count}",
        )

    def perform(self, step: d.Step, view: StoryView) -> None:
        story = view.story
        assert story is not None  # next_step only acts on existing stories
        if isinstance(step, d.Score):
            self.emit(
                "story.scored", payload=self.services.score(story), key=f"v{view.story_version}"
            )
        elif isinstance(step, d.Move):
            self.move(view, step)
        elif isinstance(step, d.Park):
            self.park(view, step.gate, step.reason)
        elif isinstance(step, d.Plan):
            for task in self.services.plan(story, view.plan_round):
                self.emit("task.planned", payload=task)
        elif isinstance(step, d.Build):
            self.build(story, view, step)
        elif isinstance(step, d.Judge):
            for task in step.tasks:
                report = view.reports[(task.id, step.attempt)]
                gate = self.services.gate(report, story.rigor)
                self.emit(
                    "gate.result",
                    payload=gate,
                    data={"task_id": task.id, "attempt": step.attempt},
                    key=f"{task.id}:a{step.attempt}",
                )
        elif isinstance(step, d.Document):
            self.emit(
                "docs.written",
                data={"summary": self.services.document(story, view)},
                key=f"a{view.loopbacks}",
            )
        elif isinstance(step, d.Finish):
            if step.outcome == "done" and self.services.deliver is not None:
                # idempotent: the same ref and file again after a crash, the same event id
                self.emit("story.delivered", data=self.services.deliver(story), key="final")
            self.emit(
                "story.done", data={"outcome": step.outcome, "state": view.state}, key="final"
            )

    def move(self, view: StoryView, step: d.Move) -> None:
        spec = self.lifecycle.transition(view.state, step.target, step.facts)
        self.emit(
            "story.transition",
            data={
                "from": view.state,
                "to": spec.target,
                "name": spec.name,
                "by": "orchestrator",
                "attempt": view.loopbacks,
            },
            key=f"{len(view.transitions)}:{spec.name}",
        )

    # ------------------------------------------------------------------ build

    def build(self, story: Story, view: StoryView, step: d.Build) -> None:
        """Councils for the ready tasks run in parallel; their workspace runs take turns."""
        findings = view.findings(step.attempt - 1) if step.attempt else []
        if len(step.tasks) == 1:
            self.build_one(story, view, step.tasks[0], step.attempt, findings)
            return
        with ThreadPoolExecutor(max_workers=min(self.parallelism, len(step.tasks))) as pool:
            futures = [
                pool.submit(self.build_one, story, view, t, step.attempt, findings)
                for t in step.tasks
            ]
            errors = [f.exception() for f in futures]
        for err in errors:
            if err is not None:
                raise err

    def build_one(
        self, story: Story, view: StoryView, task: Any, attempt: int, findings: list[str]
    ) -> None:
        did = deliberation_id(story.id, task.id, attempt)
        deliberation = view.deliberations.get(did)
        if deliberation is None:  # not already decided before a crash
            deliberation = self.services.council.deliberate(
                story, task, deliberation_id=did, attempt=attempt, findings=findings
            )
            self.emit(
                "council.result",
                payload=deliberation,
                data={"task_id": task.id, "attempt": attempt},
            )
        with self._workspace_lock:
            result = self.services.executor.execute(
                story, task, winner_of(deliberation), attempt=attempt
            )
        report, extra = (
            (result.report, result.data) if isinstance(result, Execution) else (result, {})
        )
        self.emit(
            "workspace.report",
            payload=report,
            data={**extra, "task_id": task.id, "attempt": attempt},
            key=f"{task.id}:a{attempt}",
        )
