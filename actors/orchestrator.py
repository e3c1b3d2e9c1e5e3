"""The Orchestrator actor: drives every story concurrently and resumes them after a restart.

A thin shell over :mod:`fleet.orchestrator`: it owns a thread pool, one
:class:`StoryDriver` per story and the metrics; all state lives in the Redis
timeline, so a restarted actor (``max_restarts=-1``) re-reads every story and
carries on where the timeline says it stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actors.builder import ActorOptions, build
from actors.wiring import OrchestratorSettings, decision_graph, default_services, event_log
from fleet.contracts import Story
from fleet.errors import StorageUnavailable
from fleet.fakes import SystemClock
from fleet.lifecycle import Lifecycle
from fleet.orchestrator import commands
from fleet.orchestrator.driver import StoryDriver
from fleet.orchestrator.services import Services
from fleet.outage import Outage, storage_cause, wait_for_storage
from fleet.ports import EventLog

log = logging.getLogger(__name__)
ServicesFactory = Callable[[OrchestratorSettings, EventLog], Services]


class Orchestrator:
    """Submit, approve and follow stories; every story moves on its own thread."""

    def __init__(
        self,
        settings: OrchestratorSettings | dict[str, Any],
        services_factory: ServicesFactory | None = None,
        *,
        resume: bool = True,
    ) -> None:
        self.settings = OrchestratorSettings.model_validate(settings)
        self.log = event_log(self.settings)
        self.clock = SystemClock()
        self.lifecycle = Lifecycle.from_config()
        self.services = (services_factory or default_services)(self.settings, self.log)
        self.metrics = _metrics()
        self._pool = ThreadPoolExecutor(
            max_workers=self.settings.max_parallel_stories, thread_name_prefix="story"
        )
        self._drivers: dict[str, StoryDriver] = {}
        self._running: set[str] = set()
        self._again: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.outage = Outage("orchestrator", logger=log)
        self.projector_outage = Outage("projector", logger=log)
        self._watching = False  # a thread waits for storage to come back (one at a time)
        if resume:
            # Cheap constructor: resuming reads Redis, so it runs in the background.
            threading.Thread(target=self.resume_all, name="resume", daemon=True).start()
            threading.Thread(target=self._project, name="projector", daemon=True).start()

    # ------------------------------------------------------------------ commands

    def submit(self, story: Story | dict[str, Any]) -> str:
        """Record a new story and start driving it; returns its id."""
        story = Story.model_validate(story)
        if self.services.admit is not None:
            self.services.admit(
                story
            )  # InvalidInput (the gateway: 400) before anything is recorded
        commands.create_story(self.log, story, clock=self.clock)
        self.wake(story.id)
        return story.id

    def approve(
        self, story_id: str, gate: str | None, approved: bool, by: str, comment: str = ""
    ) -> dict[str, Any]:
        """The PO answers the gate the story waits at (raises Conflict/NotFound)."""
        event = commands.approve(
            self.log,
            story_id,
            gate=gate,
            approved=approved,
            by=by,
            comment=comment,
            clock=self.clock,
        )
        self.wake(story_id)
        return event.model_dump(mode="json")

    def transition(self, story_id: str, target: str, by: str, comment: str = "") -> dict[str, Any]:
        """A PO-requested move through a gate (raises InvalidTransition/Conflict/NotFound)."""
        event = commands.transition(
            self.log,
            self.lifecycle,
            story_id,
            target=target,
            by=by,
            comment=comment,
            clock=self.clock,
        )
        self.wake(story_id)
        return event.model_dump(mode="json")

    # ------------------------------------------------------------------ driving

    def wake(self, story_id: str) -> None:
        """Drive ``story_id`` now, or once more after its current run if it is moving."""
        with self._lock:
            if story_id in self._running:
                self._again.add(story_id)
                return
            self._running.add(story_id)
        self._pool.submit(self._drive, story_id)

    def _driver(self, story_id: str) -> StoryDriver:
        if story_id not in self._drivers:
            self._drivers[story_id] = StoryDriver(
                story_id,
                log=self.log,
                services=self.services,
                lifecycle=self.lifecycle,
                clock=self.clock,
                on_event=self.metrics.observe if self.metrics else None,
                parallelism=self.settings.task_parallelism,
                stop=self._stop,
            )
        return self._drivers[story_id]

    def _drive(self, story_id: str) -> None:
        while True:
            try:
                self._driver(story_id).run()
            except StorageUnavailable as exc:  # paused, not failed: resumed when storage is back
                self._storage_lost(exc)
            except Exception:  # a bug: log it; the next wake or restart retries
                log.exception("driving story %s failed", story_id)
            with self._lock:
                if story_id not in self._again or self._stop.is_set():
                    self._running.discard(story_id)
                    return
                self._again.discard(story_id)

    def _storage_lost(self, exc: StorageUnavailable) -> None:
        """Start the one watcher that waits for storage and then resumes every story."""
        with self._lock:
            if self._watching or self._stop.is_set():
                return
            self._watching = True
        threading.Thread(target=self._watch, args=(exc,), name="storage", daemon=True).start()

    def _watch(self, first: StorageUnavailable) -> None:
        """Bounded backoff until Redis answers, then wake every non-terminal story."""
        try:
            back = wait_for_storage(self.log.ping, self.outage, stop=self._stop, first=first)
        finally:
            with self._lock:
                self._watching = False
        if back:
            self.resume_all()

    def storage(self) -> dict[str, Any]:
        """Whether the timeline answers, and how many outages the story drivers and the
        projector have lived through (each counts once per outage)."""
        return {
            "ok": bool(self.log.ping()),
            "outages": self.outage.outages,
            "projector_outages": self.projector_outage.outages,
        }

    def resume_all(self) -> list[str]:
        """Wake every story of the timeline that is neither finished nor waiting for the PO.

        With storage down it returns nothing and leaves the resuming to the storage watcher.
        """
        try:
            return self._resume_all()
        except StorageUnavailable as exc:
            self._storage_lost(exc)
            return []

    def _resume_all(self) -> list[str]:
        resumed = []
        for story_id in self.log.stories():
            try:
                view = commands.load_view(self.log, story_id)
            except StorageUnavailable:
                raise
            except Exception:  # an unreadable story must not stop the others
                log.exception("cannot resume story %s", story_id)
                continue
            if self.metrics:
                self._driver(story_id).view()  # seeds the metrics with the story's history
            if not view.done and view.parked is None:
                self.wake(story_id)
                resumed.append(story_id)
        return resumed

    def _project(self) -> None:
        """Mirror the timeline into the decision graph (project first, ack second)."""
        from fleet.memory.projector import Projector

        outage = self.projector_outage
        while not self._stop.is_set():
            try:
                graph = decision_graph(self.settings)
                projector = Projector(
                    self.log, graph, consumer=f"orchestrator-{self.settings.prefix}"
                )
                outage.ok()
                projector.run(block_ms=1000, stop=self._stop, outage=outage)
            except Exception as exc:  # storage down at start: one line per outage, backoff
                if storage_cause(exc) is None:
                    log.exception("projector stopped; restarting")
                self._stop.wait(outage.failed(exc))

    def active(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def check_health(self) -> bool:
        return not self._stop.is_set()

    def shutdown(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _metrics() -> Any:
    """The fleet's ``ray.util.metrics``; outside a Ray worker they are inert, so always built.

    No blanket ``except`` here: it once hid a ValueError from an invalid histogram
    boundary, and the metrics silently never reached the endpoint. A bad metric
    definition is a bug that every test constructing the orchestrator now reports.
    """
    from actors.metrics import FleetMetrics

    return FleetMetrics()


ORCHESTRATOR = "orchestrator"


def ensure_orchestrator(
    settings: OrchestratorSettings | dict[str, Any],
    *,
    name: str = ORCHESTRATOR,
    namespace: str | None = None,
    timeout_s: float = 120.0,
) -> Any:
    """The running orchestrator, created with ``settings`` when there is none, and healthy.

    The gateway app's start-up calls it, so deploying the Serve config brings up the fleet.
    """
    import ray

    handle = spawn_orchestrator(
        OrchestratorSettings.model_validate(settings), name=name, namespace=namespace
    )
    ray.get(handle.check_health.remote(), timeout=timeout_s)
    return handle


def spawn_orchestrator(
    settings: OrchestratorSettings,
    *,
    name: str = ORCHESTRATOR,
    namespace: str | None = None,
    services_factory: ServicesFactory | None = None,
) -> Any:
    """The named, detached, restartable orchestrator actor (existing one if running)."""
    opts = ActorOptions(
        name=name,
        max_restarts=-1,
        max_task_retries=0,
        max_concurrency=64,
        **({"namespace": namespace} if namespace else {}),
    )
    return build(Orchestrator, opts, settings.model_dump(), services_factory)
