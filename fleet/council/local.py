"""An in-process ``Gather``: members are plain objects, calls run on a thread pool.

Used by unit tests and by anyone running a council without Ray. The Ray version is in
``actors/council.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from fleet.council.engine import Call, Gather
from fleet.errors import NotFound


class PhaseTimeout(TimeoutError):
    """A member did not answer within the phase timeout."""


def local_gather(members: Mapping[str, Any], *, workers: int = 32) -> Gather:
    """A Gather over ``members`` (agent id -> object with propose/critique/revise/vote)."""

    # one pool for every phase: starting threads per phase costs more than a fast phase itself
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="council-member")

    def gather(calls: Sequence[Call], timeout: float) -> list[Any]:
        results: list[Any] = [None] * len(calls)
        futures = {}
        for i, (member, method, args) in enumerate(calls):
            target = members.get(member)
            if target is None:
                results[i] = NotFound(what="council member", id=member)
                continue
            futures[pool.submit(getattr(target, method), *args)] = i
        done, _ = wait(futures, timeout=timeout)
        for future, i in futures.items():
            if future not in done:
                results[i] = PhaseTimeout(
                    f"{calls[i][0]} did not answer {calls[i][1]} within {timeout:g}s"
                )
            else:
                exc = future.exception()
                results[i] = exc if exc is not None else future.result()
        return results  # a late member's call finishes in the background and is ignored

    return gather
