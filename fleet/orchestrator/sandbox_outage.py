"""A sandbox that cannot run is weather too: the story pauses and resumes by itself.

``SandboxUnavailable`` reaches a story driver when the sandbox backend cannot run at all
(bubblewrap missing, its supervisor actor gone) or a run was lost to the infrastructure twice
(killed from outside, out of disk: ``fleet.adapters.audited_sandbox``). Neither says anything
about the story's code, so the driver neither parks the story nor spends a retry on it: it
waits with a growing backoff and tries the same step again (every event id is deterministic,
so nothing is stored twice), for up to ``SANDBOX_PATIENCE_S``; only a sandbox that stays away
longer parks the story at the error gate with the reason. One ``SandboxOutage`` is shared by
every driver of a process, so an outage is ONE log line when the first story meets it and one
when a story's step runs again, however many stories wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fleet.errors import SandboxUnavailable

SANDBOX_PATIENCE_S = 1800.0  # a sandbox away this long is not weather: park at error, say why
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 15.0)  # then every 15 s: a sandbox back is used within 15 s

logger = logging.getLogger(__name__)


def sandbox_cause(exc: BaseException | None) -> SandboxUnavailable | None:
    """The ``SandboxUnavailable`` behind ``exc`` (itself, its cause/context, or a remote
    error's ``cause`` as Ray wraps it), or None when the sandbox is not what failed."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        remote = getattr(exc, "cause", None)
        if isinstance(remote, SandboxUnavailable):  # the original: its message is clean
            return remote
        if isinstance(exc, SandboxUnavailable):
            return exc
        exc = remote if isinstance(remote, BaseException) else (exc.__cause__ or exc.__context__)
    return None


class SandboxOutage:
    """Every story driver's view of the sandbox: when to try again, and one line per outage."""

    def __init__(
        self,
        *,
        patience_s: float = SANDBOX_PATIENCE_S,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.patience_s, self.backoff_s, self.monotonic = patience_s, backoff_s, monotonic
        self._lock = threading.Lock()
        self.since: float | None = None
        self.outages = 0  # outages seen (each counts once, however many stories waited)

    def pause(
        self, exc: SandboxUnavailable, *, since: float, tries: int, stop: threading.Event
    ) -> bool:
        """Wait before the step that met ``exc`` runs again; False when the story has waited
        ``patience_s`` since ``since`` already, or ``stop`` was set (then it does not wait)."""
        now = self.monotonic()
        with self._lock:
            first, self.since = self.since is None, now if self.since is None else self.since
            self.outages += first
        if first:
            logger.warning("sandbox unavailable (%s); stories wait for it and resume", exc)
        left = since + self.patience_s - now
        if left <= 0:
            return False
        delay = self.backoff_s[min(tries, len(self.backoff_s) - 1)]
        return not stop.wait(min(delay, left))

    def back(self) -> None:
        """A step that met the outage ran: the sandbox is back (logged once per outage)."""
        with self._lock:
            if self.since is None:
                return
            lasted, self.since = self.monotonic() - self.since, None
        logger.warning("sandbox is back after %.1f s; stories resume", lasted)


SHARED = SandboxOutage()  # the drivers of one orchestrator process share it
