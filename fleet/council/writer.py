"""Write-behind for the council: one thread per run performs its writes in order.

Event appends and checkpoints leave the critical path; a crash before a checkpoint lands only
means that step runs again (same seeds, same result, idempotent events).

Writes are held until ``release()``: the Ray council releases them once a phase's calls are
sent, so dumping and storing the state never competes for the GIL with sending the calls (a
thread waiting for the GIL can wait a whole switch interval, 5 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from fleet.council.protocol import CouncilState


def snapshot(state: CouncilState) -> CouncilState:
    """A copy the writer thread can dump while the run goes on mutating ``state``."""
    return state.model_copy(
        update={
            "proposals": list(state.proposals),
            "critiques": list(state.critiques),
            "ballots": list(state.ballots),
            "evidence": list(state.evidence),
            "missing": {k: list(v) for k, v in state.missing.items()},
            "outcome": dict(state.outcome),
        }
    )


class Writer:
    """One thread that performs a run's writes in order; a failed write surfaces at the next one."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="council-writer")
        self._pending: list[Future[Any]] = []
        self._held: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` after the writes already queued; re-raise an earlier failed one.

        It runs after the next ``release()`` (or ``flush()``)."""
        for future in [f for f in self._pending if f.done()]:
            future.result()  # re-raises a failed write (StorageUnavailable, VersionConflict)
        self._pending = [f for f in self._pending if not f.done()]
        self._held.append((fn, args))

    def release(self) -> None:
        """Hand the held writes to the writer thread, in order."""
        held, self._held = self._held, []
        self._pending += [self._pool.submit(fn, *args) for fn, args in held]

    def flush(self) -> None:
        """Wait for every queued write; re-raise the first that failed."""
        self.release()
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        """Finish the queued writes and stop the thread."""
        self.release()
        self._pool.shutdown(wait=True)
