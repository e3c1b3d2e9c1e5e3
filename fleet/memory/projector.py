"""The projector: timeline -> graph through a consumer group.

Project first, acknowledge second. A crash between the two re-delivers the batch to the
same consumer name on restart (``read_group`` returns its pending entries first), and the
graph writes are idempotent MERGEs, so nothing is lost and nothing is duplicated.
"""

from __future__ import annotations

import threading
from typing import Any


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
        self._stop = threading.Event()
        log.ensure_group(group)

    def step(self, *, block_ms: int | None = None, limit: int | None = None) -> int:
        """Project and acknowledge one batch (at most ``limit`` events); returns its size."""
        entries = self.log.read_group(
            self.group, self.consumer, count=min(self.batch, limit or self.batch), block_ms=block_ms
        )
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

    def run(self, *, block_ms: int = 1000) -> None:
        """Loop until :meth:`stop`; storage errors propagate (the host actor restarts it)."""
        while not self._stop.is_set():
            self.step(block_ms=block_ms)

    def stop(self) -> None:
        self._stop.set()
