"""Transient storage outages: recognise them, back off, log once per outage.

Every long-lived loop of the fleet (story drivers, the projector, SSE followers) treats
``StorageUnavailable`` as weather, not as a bug: it waits with a bounded, growing backoff
and says so in ONE log line when the outage starts and one when it ends, instead of a
traceback per retry. Below that, ``Patience`` lets one client call (an actor's event log)
ride out a short outage by itself, so the work around it is not thrown away. See
docs/faults.md for the whole fault model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fleet.errors import StorageUnavailable

T = TypeVar("T")

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


PATIENCE_BACKOFF_S = (0.1, 0.2, 0.5, 1.0)  # then 1 s: a restarted server is used within 1 s


@dataclass(frozen=True, kw_only=True)
class Timer:
    """The clock a wait is measured with and how it sleeps (tests pass a simulated pair)."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class Patience:
    """Ride out a short outage inside one call, instead of failing the work around it.

    ``call(fn)`` runs ``fn``; when it fails with an error ``transient`` accepts (the server
    does not answer), it is run again with a growing backoff until it succeeds or
    ``patience_s`` have passed since its first failure, and then the last error stands. Only
    for calls that are safe to repeat (idempotent, or checked by the caller's ``on_retry``).
    Thread-safe: one instance is shared by every thread of a client, and logs ONE line when
    an outage starts and one when it ends, however many calls wait it out. The outage ends
    when a call that waited succeeds, or any call succeeds and ``probe()`` (if given) agrees.
    """

    def __init__(
        self,
        what: str,
        *,
        patience_s: float,
        logger: logging.Logger,
        backoff_s: tuple[float, ...] = PATIENCE_BACKOFF_S,
        timer: Timer | None = None,
        probe: Callable[[], bool] | None = None,
    ) -> None:
        timer = timer or Timer()
        self.what, self.patience_s, self.logger = what, patience_s, logger
        self.backoff_s, self.monotonic, self.sleep = backoff_s, timer.monotonic, timer.sleep
        # Is storage whole again? Asked before a call that met no outage ends one: a server that
        # refuses writes (disk full) still answers reads, and a read is no proof it is back.
        self.probe = probe
        self._lock = threading.Lock()
        self.since: float | None = None
        self.outages = 0  # outages seen (each counts once)
        self.ridden = 0  # calls that succeeded after waiting

    def call(
        self,
        fn: Callable[[], T],
        *,
        transient: Callable[[BaseException], bool],
        on_retry: Callable[[], None] | None = None,
    ) -> T:
        """``fn()``, repeated through an outage of up to ``patience_s`` (see the class)."""
        first: float | None = None
        tries = 0
        while True:
            try:
                result = fn()
            except Exception as exc:
                if not transient(exc):
                    raise
                now = self.monotonic()
                first = now if first is None else first
                self._down(exc, now)
                left = first + self.patience_s - now
                if left <= 0:
                    raise
                self.sleep(min(self.backoff_s[min(tries, len(self.backoff_s) - 1)], left))
                tries += 1
                if on_retry is not None:
                    on_retry()
                continue
            if first is not None or self.since is not None:
                self._up(waited=first is not None)
            return result

    def _down(self, exc: BaseException, now: float) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since, self.outages = now, self.outages + 1
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.logger.warning(
            "%s: storage unavailable (%s); calls wait up to %.0f s for it",
            self.what,
            reason,
            self.patience_s,
        )

    def _up(self, *, waited: bool) -> None:
        with self._lock:
            self.ridden += waited
            if self.since is None:
                return
        if not waited and self.probe is not None and not self.probe():
            return  # this call worked, but storage is not whole yet (reads during a disk-full)
        with self._lock:
            if self.since is None:
                return
            lasted, self.since = self.monotonic() - self.since, None
        self.logger.warning("%s: storage is back after %.1f s; calls go on", self.what, lasted)
