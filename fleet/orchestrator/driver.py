"""Drives one story: read its timeline, decide, act, record — until it waits or ends.

Crash safety comes from the loop's shape: state is only ever the folded
timeline, and every event id is deterministic (``story:type:key``), so after a
crash the same decision is taken again and re-emitting a fact is a no-op.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from fleet.contracts import FleetEvent, Story
from fleet.errors import BudgetExceeded, ParkedForHuman, QuorumLost, StorageUnavailable
from fleet.events import Envelope, make_event
from fleet.lifecycle import Lifecycle
from fleet.orchestrator import decide as d
from fleet.orchestrator.sandbox_outage import SHARED, SandboxOutage, sandbox_cause
from fleet.orchestrator.services import Execution, Services, winner_of
from fleet.orchestrator.shipping import repeated, unbuilt_report
from fleet.orchestrator.view import StoryView, apply, fold
from fleet.outage import storage_cause
from fleet.ports import Clock, EventLog

MAX_STEPS = 500  # a story never needs this many; stops a logic bug from spinning forever
INFRA_RETRIES = 2
RETRY_WAIT_S = 1.0  # times the attempt number: a flapping dependency gets a moment to come back


COUNCILS = 3  # a council that lost quorum (its members' model died) is convened again, twice
_CONVENED = re.compile(r"\.a\d+\.c(\d+)(?::retry\d+)?$")  # deliberation_id's ``convened``
_ATTEMPT = re.compile(r"\.a(\d+)(?:\.c\d+)?(?::retry\d+)?$")  # and its ``attempt``


def with_view(port: Callable[..., Any], view: StoryView) -> dict[str, Any]:
    """``{"view": view}`` for a port that takes the folded timeline (the build pipeline's), so it
    never re-reads the story; nothing for one written without it (simple test doubles)."""
    try:
        params = inspect.signature(port).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {"view": view} if any(p.name == "view" for p in params) else {}


def deliberation_id(story_id: str, task_id: str, attempt: int, convened: int = 0) -> str:
    """The council's id for a task attempt; ``convened`` > 0 names a re-convened council."""
    base = f"{story_id}.{task_id}.a{attempt}"
    return f"{base}.c{convened}" if convened else base


def convened_of(deliberation_id: str) -> int:
    """The ``convened`` number of a task attempt's council id (0 for the first council)."""
    m = _CONVENED.search(deliberation_id)
    return int(m.group(1)) if m else 0


def attempt_of(deliberation_id: str) -> int:
    """The task attempt of a council id (0 for an id that names none)."""
    m = _ATTEMPT.search(deliberation_id)
    return int(m.group(1)) if m else 0


@dataclass(eq=False)
class StoryDriver:
    """Moves one story forward as far as it can go without a human.

    What it needs, by keyword after the story's id: the timeline (``log``), the services that do
    the work, the ``lifecycle`` and ``clock``; optionally a hook told each new event once
    (``on_event``: metrics), how many tasks build at once (``parallelism``) and the pool's
    ``stop``. ``sandbox`` is the outage view shared by the process's drivers.
    """

    story_id: str
    _: KW_ONLY
    log: EventLog
    services: Services
    lifecycle: Lifecycle
    clock: Clock
    on_event: Callable[[FleetEvent], None] | None = None
    parallelism: int = 4
    stop: threading.Event = field(default_factory=threading.Event)
    sandbox: SandboxOutage = field(default=SHARED, init=False, repr=False)

    def __post_init__(self) -> None:
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
            envelope=Envelope(actor="orchestrator", key=key),
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
        """Act until the story waits for someone or is finished; return its final view.

        A sandbox that cannot run pauses the story (``fleet.orchestrator.sandbox_outage``): the
        same step is tried again when it is back, with no retry spent and nothing parked,
        unless it stays away longer than the outage's patience.

        Raises:
            StorageUnavailable: the timeline cannot be read or written (a failure while the
                event log does not answer counts as one, whatever its type). Nothing is parked
                and no retry is spent: the caller waits for storage and runs the driver again.
        """
        failures = steps = 0
        paused: list[float] = []  # when this story met the sandbox outage, one entry per try
        while steps < MAX_STEPS:
            view = self.view()
            step = d.next_step(view, self.lifecycle)
            if isinstance(step, d.Wait) or self.stop.is_set():
                return view
            try:
                self.perform(step, view)
            except BudgetExceeded as exc:
                self.emit("budget.exceeded", data=dict(exc.fields), key=f"{view.event_count}")
                self.park(view, "budget", str(exc))
            except ParkedForHuman as exc:
                self.park(view, str(exc.fields.get("gate", "error")), str(exc))
            except Exception as exc:  # infra or a bug elsewhere: retry, then park visibly
                if (down := self.storage_down(exc)) is not None:
                    raise down from exc
                if self.paused_on_sandbox(exc, paused):
                    continue  # not a step: a long outage must not use up MAX_STEPS
                failures += 1
                if failures > INFRA_RETRIES:
                    self.park(view, "error", f"{type(exc).__name__}: {exc}")
                else:
                    self.stop.wait(RETRY_WAIT_S * failures)
            else:
                failures = 0
                if paused:
                    paused.clear()
                    self.sandbox.back()
            steps += 1
        self.park(self.view(), "error", f"no progress after {MAX_STEPS} steps")
        return self.view()

    def paused_on_sandbox(self, exc: Exception, paused: list[float]) -> bool:
        """True when ``exc`` is a sandbox outage the story waited out (try the step again);
        False for any other failure, or once the outage outlasted its patience."""
        lost = sandbox_cause(exc)
        if lost is None:
            return False
        since = paused[0] if paused else self.sandbox.monotonic()
        if not self.sandbox.pause(lost, since=since, tries=len(paused), stop=self.stop):
            return False
        paused.append(since)
        return True

    def storage_down(self, exc: Exception) -> StorageUnavailable | None:
        """The storage outage behind ``exc``: its own cause, or the event log not answering now
        (a council that lost quorum because its members could not write is an outage too)."""
        cause = storage_cause(exc)
        if cause is not None:
            return cause
        ping = getattr(self.log, "ping", None)
        if ping is not None and not ping():
            return StorageUnavailable(
                what="event log", reason=f"{type(exc).__name__} while it did not answer"
            )
        return None

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
                # the build step judged the report already when it decided the commit
                gate = view.judged.get((task.id, step.attempt)) or self.services.gate(
                    report, story.rigor
                )
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
                deliver = self.services.deliver
                facts = deliver(story, **with_view(deliver, view))
                self.emit("story.delivered", data=facts, key="final")
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

    def deliberate(
        self, story: Story, view: StoryView, task: Any, attempt: int, findings: list[str]
    ) -> Any:
        """The task attempt's council result: recorded already (before a crash), or decided now.

        A council that lost quorum keeps that outcome under its id (asking it again re-raises
        at once), so a new council is convened under the next id, up to ``COUNCILS``: the
        same ids are tried in the same order after a crash, and nothing is recorded twice. A
        re-convened council samples with seeds of its own (``pipeline.council.council_seed``).
        """
        for convened in range(COUNCILS):
            did = deliberation_id(story.id, task.id, attempt, convened)
            if did in view.deliberations:
                return view.deliberations[did]
        for convened in range(COUNCILS):
            did = deliberation_id(story.id, task.id, attempt, convened)
            try:
                council = self.services.council.deliberate
                deliberation = council(story, task, deliberation_id=did, attempt=attempt,
                                       findings=findings, **with_view(council, view))  # fmt: skip
            except QuorumLost as lost:
                if (down := self.storage_down(lost)) is not None:
                    raise down from lost  # its members could not write: wait for storage
                if convened == COUNCILS - 1 or self.stop.wait(RETRY_WAIT_S * (convened + 1)):
                    raise
                continue
            self.emit(
                "council.result",
                payload=deliberation,
                data={"task_id": task.id, "attempt": attempt},
            )
            return deliberation
        raise AssertionError("unreachable")

    def build_one(
        self, story: Story, view: StoryView, task: Any, attempt: int, findings: list[str]
    ) -> None:
        deliberation = self.deliberate(story, view, task, attempt, findings)
        winner = winner_of(deliberation)
        if (again := repeated(view, task.id, attempt, winner)) is not None:
            failing = "; ".join(view.findings(again)[:4]) or "the rigor gate blocked it"
            raise ParkedForHuman(
                story_id=story.id,
                gate="blocked",
                reason=f"{task.id}: the council chose the change attempt {again + 1} already "
                f"failed with: {failing}",
            )
        execute = self.services.executor.execute
        with self._workspace_lock:  # the view gains each committed run: the next builds on it
            unbuilt = unbuilt_report(deliberation)
            if unbuilt is not None:
                result: Any = Execution(report=unbuilt, data={"built": False})
            else:
                result = execute(story, task, winner, attempt=attempt,
                                 **with_view(execute, view))  # fmt: skip
            report, extra = (
                (result.report, result.data) if isinstance(result, Execution) else (result, {})
            )
            event = self.emit(
                "workspace.report",
                payload=report,
                data={**extra, "task_id": task.id, "attempt": attempt},
                key=f"{task.id}:a{attempt}",
            )
            apply(view, view.last_entry, event)
