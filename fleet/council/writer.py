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
    """One thread that performs a run's writes in order; a failed write surfaces at the next one.

    After a write fails, none of the writes queued behind it runs: a checkpoint must never land
    after the events of its step were lost (the step's events are written before the checkpoint
    that marks it done), or a resumed council would skip them for good. The run then fails with
    the first error and resumes from the last checkpoint that did land; events have
    deterministic ids, so writing a step's events again is a no-op."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="council-writer")
        self._pending: list[Future[Any]] = []
        self._held: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._failed: BaseException | None = None  # set and read on the writer thread only

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._failed is not None:
            raise self._failed
        try:
            return fn(*args)
        except BaseException as exc:
            self._failed = exc
            raise

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
        self._pending += [self._pool.submit(self._run, fn, *args) for fn, args in held]

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
