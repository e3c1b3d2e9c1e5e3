"""Every story moving at once: one driver per story on a thread pool, resumed after a restart.

All state lives in the timeline, so a restarted host re-reads every story and carries on where
the timeline says it stopped; while storage is down nothing is parked: one watcher waits for it
with bounded backoff and then resumes every story.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fleet.errors import StorageUnavailable
from fleet.orchestrator import commands
from fleet.orchestrator.driver import StoryDriver
from fleet.outage import Outage, wait_for_storage
from fleet.ports import EventLog

logger = logging.getLogger(__name__)


class StoryPool:
    """Drives every story concurrently: a story moves on one thread at a time."""

    def __init__(
        self,
        log: EventLog,
        driver: Callable[[str, threading.Event], StoryDriver],
        *,
        max_parallel: int,
        seed_metrics: bool = False,
    ) -> None:
        """``driver(story_id, stop)``: a story's driver (its services, lifecycle, clock, metrics
        hook); ``seed_metrics``: resuming replays each story's history to the driver's hook."""
        self.log = log
        self._make_driver = driver
        self.seed_metrics = seed_metrics
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="story")
        self._drivers: dict[str, StoryDriver] = {}
        self._running: set[str] = set()
        self._again: set[str] = set()
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.outage = Outage("orchestrator", logger=logger)
        self._watching = False  # a thread waits for storage to come back (one at a time)

    def wake(self, story_id: str) -> None:
        """Drive ``story_id`` now, or once more after its current run if it is moving."""
        with self._lock:
            if story_id in self._running:
                self._again.add(story_id)
                return
            self._running.add(story_id)
        self._pool.submit(self._drive, story_id)

    def driver(self, story_id: str) -> StoryDriver:
        if story_id not in self._drivers:
            self._drivers[story_id] = self._make_driver(story_id, self.stop)
        return self._drivers[story_id]

    def _drive(self, story_id: str) -> None:
        while True:
            try:
                self.driver(story_id).run()
            except StorageUnavailable as exc:  # paused, not failed: resumed when storage is back
                self._storage_lost(exc)
            except Exception:  # a bug: log it; the next wake or restart retries
                logger.exception("driving story %s failed", story_id)
            with self._lock:
                if story_id not in self._again or self.stop.is_set():
                    self._running.discard(story_id)
                    return
                self._again.discard(story_id)

    def _storage_lost(self, exc: StorageUnavailable) -> None:
        """Start the one watcher that waits for storage and then resumes every story."""
        with self._lock:
            if self._watching or self.stop.is_set():
                return
            self._watching = True
        threading.Thread(target=self._watch, args=(exc,), name="storage", daemon=True).start()

    def _watch(self, first: StorageUnavailable) -> None:
        """Bounded backoff until Redis answers, then wake every non-terminal story."""
        try:
            ping = self.log.ping  # type: ignore[attr-defined]  # storage that can go down answers
            back = wait_for_storage(ping, self.outage, stop=self.stop, first=first)
        finally:
            with self._lock:
                self._watching = False
        if back:
            self.resume_all()

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
                logger.exception("cannot resume story %s", story_id)
                continue
            if self.seed_metrics:
                self.driver(story_id).view()  # seeds the metrics with the story's history
            if not view.done and view.parked is None:
                self.wake(story_id)
                resumed.append(story_id)
        return resumed

    def active(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def shutdown(self) -> None:
        self.stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
