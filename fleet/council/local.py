"""An in-process ``Gather``: members are plain objects, calls run on a thread pool, each role's
one after another (``fleet/council/cascade.py``).

Used by unit tests and by anyone running a council without Ray. The Ray version is in
``actors/council.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from fleet.council.cascade import Phase, cascade
from fleet.council.engine import Call, Gather
from fleet.errors import NotFound


class PhaseTimeout(TimeoutError):
    """A member did not answer within the phase timeout."""


def late(call: Call, timeout: float, *, sent: bool) -> str:
    """Why ``call`` has no answer: it ran past the phase, or its role's earlier calls did."""
    member, method, _ = call
    if sent:
        return f"{member} did not answer {method} within {timeout:g}s"
    return f"{member} was not asked to {method}: its role's earlier calls used the {timeout:g}s"


def local_gather(members: Mapping[str, Any], *, workers: int = 32) -> Gather:
    """A Gather over ``members`` (agent id -> object with propose/critique/revise/vote)."""

    # one pool for every phase: starting threads per phase costs more than a fast phase itself
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="council-member")

    def gather(calls: Sequence[Call], timeout: float, needed: int = 0) -> list[Any]:
        results: list[Any] = [None] * len(calls)
        for i, (member, _, _) in enumerate(calls):
            if member not in members:
                results[i] = NotFound(what="council member", id=member)

        def start(i: int) -> Future[Any]:
            member, method, args = calls[i]
            return pool.submit(getattr(members[member], method), *args)

        def first(futures: list[Future[Any]], t: float) -> set[Future[Any]]:
            return wait(futures, timeout=t, return_when=FIRST_COMPLETED).done

        asked = [i for i in range(len(calls)) if results[i] is None]
        phase = Phase(timeout, needed)
        sent = cascade({i: calls[i][0] for i in asked}, phase, start=start, wait=first)
        for i in asked:
            future = sent.handles.get(i)
            if future is None or future not in sent.finished:
                results[i] = PhaseTimeout(late(calls[i], timeout, sent=future is not None))
            else:
                exc = future.exception()
                results[i] = exc if exc is not None else future.result()
        return results  # a late member's call finishes in the background and is ignored

    return gather
