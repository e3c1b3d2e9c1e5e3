"""Transient storage outages: recognise them, back off, log once per outage.

Every long-lived loop of the fleet (story drivers, the projector, SSE followers) treats
``StorageUnavailable`` as weather, not as a bug: it waits with a bounded, growing backoff
and says so in ONE log line when the outage starts and one when it ends, instead of a
traceback per retry. See docs/faults.md for the whole fault model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fleet.errors import StorageUnavailable

BACKOFF_S = (0.2, 0.5, 1.0, 2.0)  # then stays at the last step: a restart is noticed within 2 s


def storage_cause(exc: BaseException | None) -> StorageUnavailable | None:
    """The ``StorageUnavailable`` behind ``exc`` (itself, its cause/context, or a remote
    error's ``cause`` as Ray wraps it), or None when storage is not what failed."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        remote = getattr(exc, "cause", None)  # Ray's wrapper may itself subclass the error:
        if isinstance(remote, StorageUnavailable):  # prefer the original (its message is clean)
            return remote
        if isinstance(exc, StorageUnavailable):
            return exc
        exc = remote if isinstance(remote, BaseException) else (exc.__cause__ or exc.__context__)
    return None


class Outage:
    """One loop's view of a dependency that may go away: backoff and one line per outage."""

    def __init__(
        self,
        what: str,
        *,
        logger: logging.Logger,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.logger, self.backoff_s, self.monotonic = what, logger, backoff_s, monotonic
        self.since: float | None = None
        self.outages = 0  # how many outages this loop has seen (for tests and status)
        self._tries = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; returns how long to wait before the next one."""
        if self.since is None:
            self.since, self.outages = self.monotonic(), self.outages + 1
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.logger.warning(
                "%s: storage unavailable (%s); waiting for it, will resume", self.what, reason
            )
        delay = self.backoff_s[min(self._tries, len(self.backoff_s) - 1)]
        self._tries += 1
        return delay

    def ok(self) -> float | None:
        """Record a success; returns the outage's length in seconds if one just ended."""
        self._tries = 0
        if self.since is None:
            return None
        lasted, self.since = self.monotonic() - self.since, None
        self.logger.warning("%s: storage is back after %.1f s; resuming", self.what, lasted)
        return lasted


def wait_for_storage(
    probe: Callable[[], bool], outage: Outage, *, stop: threading.Event, first: BaseException
) -> bool:
    """Back off until ``probe()`` is true (storage answers) or ``stop`` is set; True if back."""
    delay = outage.failed(first)
    while not stop.wait(delay):
        if probe():
            outage.ok()
            return True
        delay = outage.failed(first)
    return False
