"""How the council driver records a run: checkpoints and events, directly or write-behind.

With ``write_behind`` (``fleet/council/writer.py``) one writer thread per run keeps a step's
events before its checkpoint, and a ``Gather`` lets the held writes go while the members work
(:meth:`Recording.release_writes`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fleet.contracts import FleetEvent
from fleet.council.protocol import CouncilState
from fleet.council.schemas import DeliberationRequest
from fleet.council.writer import Writer, snapshot
from fleet.events import Envelope, make_event
from fleet.ports import Clock, EventLog


class Recording:
    """The recording half of ``Council`` (its fields: ``events``, ``clock``, ``actor``,
    ``on_step``, ``_local``)."""

    events: EventLog
    clock: Clock
    actor: str
    on_step: Callable[[CouncilState], None] | None
    _local: threading.local

    def _save(self, key: str, state: CouncilState, version: int) -> int:
        writer: Writer | None = getattr(self._local, "writer", None)
        if writer is None:
            return self._put(key, state, version)
        writer.submit(self._put, key, snapshot(state), version)
        return version + 1  # what checkpoint_put will return: versions go up by one

    def _put(self, key: str, state: CouncilState, version: int) -> int:
        version = self.events.checkpoint_put(
            key, state.model_dump(mode="json"), expected_version=version
        )
        if self.on_step is not None:
            self.on_step(state)
        return version

    def release_writes(self) -> None:
        """Let the current run's held writes go (write-behind only; else a no-op).

        A Gather calls this from the run's thread once a phase's calls are sent, so the
        writes happen while the members work, not while the calls are being sent."""
        writer: Writer | None = getattr(self._local, "writer", None)
        if writer is not None:
            writer.release()

    def _flush(self) -> None:
        writer: Writer | None = getattr(self._local, "writer", None)
        if writer is not None:
            writer.flush()

    def event(
        self,
        req: DeliberationRequest,
        type_: str,
        *,
        payload: Any = None,
        key: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> FleetEvent:
        return make_event(
            req.story_id,
            type_,
            clock=self.clock,
            payload=payload,
            data=data,
            envelope=Envelope(actor=self.actor, key=key),
        )

    def publish(self, events: list[FleetEvent]) -> None:
        writer: Writer | None = getattr(self._local, "writer", None)
        if writer is None:
            self._append(events)
        else:
            writer.submit(self._append, events)

    def _append(self, events: list[FleetEvent]) -> None:
        many = getattr(self.events, "append_many", None)
        if many is not None:
            many(events)
            return
        for event in events:
            self.events.append(event)
