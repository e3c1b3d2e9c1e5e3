"""The Orchestrator actor: drives every story concurrently and resumes them after a restart.

A thin shell over :mod:`fleet.orchestrator`: the stories move in a
:class:`~fleet.orchestrator.pool.StoryPool` (one driver per story on a thread pool); the actor
adds the metrics and the projector into the decision graph. All state lives in the Redis
timeline, so a restarted actor (``max_restarts=-1``) re-reads every story and carries on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from actors.builder import ActorOptions, build
from actors.wiring import OrchestratorSettings, decision_graph, default_services, event_log
from fleet.clock import SystemClock
from fleet.contracts import Story
from fleet.lifecycle import Lifecycle
from fleet.orchestrator import commands
from fleet.orchestrator.driver import StoryDriver
from fleet.orchestrator.pool import StoryPool
from fleet.orchestrator.services import Services
from fleet.outage import Outage, storage_cause
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
        on_event = self.metrics.observe if self.metrics else None
        drivers = partial(_story_driver, log=self.log, services=self.services,
                          lifecycle=self.lifecycle, clock=self.clock, on_event=on_event,
                          parallelism=self.settings.task_parallelism)  # fmt: skip
        self.stories = StoryPool(self.log, drivers, max_parallel=self.settings.max_parallel_stories,
                                 seed_metrics=on_event is not None)  # fmt: skip
        self._stop = self.stories.stop
        self.outage = self.stories.outage
        self.projector_outage = Outage("projector", logger=log)
        if resume:
            # Cheap constructor: resuming reads Redis, so it runs in the background.
            threading.Thread(target=self.resume_all, name="resume", daemon=True).start()
            threading.Thread(target=self._project, name="projector", daemon=True).start()

    # ------------------------------------------------------------------ commands

    def submit(self, story: Story | dict[str, Any]) -> str:
        """Record a new story and start driving it; returns its id."""
        story = Story.model_validate(story)
        if self.services.admit is not None:
            # InvalidInput (the gateway: 400) before anything is recorded
            self.services.admit(story)
        commands.create_story(self.log, story, clock=self.clock)
        self.wake(story.id)
        return story.id

    def approve(
        self, story_id: str, gate: str | None, approved: bool, by: str, comment: str = ""
    ) -> dict[str, Any]:
        """The PO answers the gate the story waits at (raises Conflict/NotFound)."""
        note = commands.PoNote(by=by, comment=comment)
        event = commands.approve(self.log, story_id, gate=gate, approved=approved, note=note,
                                 clock=self.clock)  # fmt: skip
        self.wake(story_id)
        return event.model_dump(mode="json")

    def transition(self, story_id: str, target: str, by: str, comment: str = "") -> dict[str, Any]:
        """A PO-requested move through a gate (raises InvalidTransition/Conflict/NotFound)."""
        note = commands.PoNote(by=by, comment=comment)
        event = commands.transition(self.log, self.lifecycle, story_id, target=target, note=note,
                                    clock=self.clock)  # fmt: skip
        self.wake(story_id)
        return event.model_dump(mode="json")

    # ------------------------------------------------------------------ driving

    def wake(self, story_id: str) -> None:
        """Drive ``story_id`` now, or once more after its current run if it is moving."""
        self.stories.wake(story_id)

    def resume_all(self) -> list[str]:
        """Wake every story that is neither finished nor waiting for the PO (none while storage
        is down: the storage watcher resumes them)."""
        return self.stories.resume_all()

    def storage(self) -> dict[str, Any]:
        """Whether the timeline answers, and how many outages the story drivers and the
        projector have lived through (each counts once per outage)."""
        return {
            "ok": bool(self.log.ping()),
            "outages": self.outage.outages,
            "projector_outages": self.projector_outage.outages,
        }

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
        return self.stories.active()

    def check_health(self) -> bool:
        return not self._stop.is_set()

    def shutdown(self) -> None:
        self.stories.shutdown()


def _story_driver(story_id: str, stop: threading.Event, **kwargs: Any) -> StoryDriver:
    return StoryDriver(story_id, stop=stop, **kwargs)


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
