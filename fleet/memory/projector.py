"""The projector: timeline -> graph through a consumer group.

Project first, acknowledge second. A crash between the two re-delivers the batch to the
same consumer name on restart (``read_group`` returns its pending entries first), and the
graph writes are idempotent MERGEs, so nothing is lost and nothing is duplicated.
"""

from __future__ import annotations

import threading
from typing import Any

from fleet.outage import Outage, storage_cause


class Projector:
    """Consumes the fleet-wide event index with ``group``/``consumer`` into ``graph``.

    ``log`` is a ``RedisEventLog`` (ensure_group/read_group/ack); ``graph`` a DecisionGraph
    with ``project_many`` (or ``project``). Runnable inline, in a thread or in an actor.
    """

    def __init__(
        self,
        log: Any,
        graph: Any,
        *,
        group: str = "graph-projector",
        consumer: str = "projector-1",
        batch: int = 200,
    ) -> None:
        self.log, self.graph, self.group, self.consumer, self.batch = (
            log,
            graph,
            group,
            consumer,
            batch,
        )
        self.projected = 0
        self._reclaim = False  # after an outage: this consumer's unacknowledged entries first
        self._stop = threading.Event()
        log.ensure_group(group)

    def step(self, *, block_ms: int | None = None, limit: int | None = None) -> int:
        """Project and acknowledge one batch (at most ``limit`` events); returns its size."""
        count = min(self.batch, limit or self.batch)
        entries = []
        if self._reclaim:  # a batch read before the outage but never acknowledged
            entries = self.log.claim(self.group, self.consumer, min_idle_ms=0, count=count)
            self._reclaim = bool(entries)
        if not entries:
            entries = self.log.read_group(self.group, self.consumer, count=count, block_ms=block_ms)
        if not entries:
            return 0
        events = [ev for _, ev in entries]
        if hasattr(self.graph, "project_many"):
            self.graph.project_many(events)
        else:
            for ev in events:
                self.graph.project(ev)
        self.log.ack(self.group, [entry for entry, _ in entries])
        self.projected += len(entries)
        return len(entries)

    def catch_up(self) -> int:
        """Project until the index has nothing new for this group; returns events projected."""
        total = 0
        while n := self.step():
            total += n
        return total

    def run(
        self,
        *,
        block_ms: int = 1000,
        stop: threading.Event | None = None,
        outage: Outage | None = None,
    ) -> None:
        """Loop until :meth:`stop` (or ``stop`` is set).

        With an ``outage``, a storage outage is waited out (bounded backoff, one log line
        when it starts and one when it ends) and projecting resumes where the group left
        off; without one, storage errors propagate. Other errors always propagate.
        """
        stop = stop or self._stop
        while not (stop.is_set() or self._stop.is_set()):
            try:
                self.step(block_ms=block_ms)
            except Exception as exc:
                if outage is None or storage_cause(exc) is None:
                    raise
                self._reclaim = True
                stop.wait(outage.failed(exc))
                continue
            if outage is not None:
                outage.ok()

    def stop(self) -> None:
        self._stop.set()
