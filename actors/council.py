"""The council actor: a thin Ray shell over :class:`fleet.council.Council`.

It reaches the role agents by name and sends every phase with ``.remote()``, each role's calls
one after another and the roles together (``fleet/council/cascade.py``: a role's members share
their prompt's prefix), waiting with ``ray.wait`` within the phase timeout. State lives in the
EventLog checkpoint (Redis), so with ``max_restarts``/``max_task_retries`` a killed council is
restarted by Ray, the caller's pending ``deliberate`` is retried, and the run resumes after the
last completed step with the same result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import ray

from actors.agent import agent_actor_name
from actors.builder import NAMESPACE, ActorOptions, build, lookup
from fleet.clock import SystemClock
from fleet.contracts import Deliberation
from fleet.council import Call, Council, DeliberationRequest, wire
from fleet.council.cascade import Phase, cascade
from fleet.council.engine import Evidencer
from fleet.council.local import PhaseTimeout, late
from fleet.errors import NotFound
from fleet.ports import EventLog, Sandbox

log = logging.getLogger(__name__)
MAX_CONCURRENCY = 64  # deliberations at once: each mostly waits on its agents' calls


class CouncilActor:
    """Runs deliberations (several at once: it is threaded) among named agent actors."""

    def __init__(
        self,
        event_log_factory: Callable[[], EventLog],
        *,
        namespace: str = NAMESPACE,
        sandbox_factory: Callable[[], Sandbox] | None = None,
        name: str = "council",
        agent_scope: str | None = None,
        evidencer_factory: Callable[[], Evidencer] | None = None,
    ) -> None:
        self.namespace = namespace
        self.agent_scope = agent_scope  # the agents' names: see actors.agent.agent_actor_name
        self.log = event_log_factory()
        sandbox = sandbox_factory() if sandbox_factory else None
        self.council = Council(
            self._gather,
            self.log,
            clock=SystemClock(),
            sandbox=sandbox,
            evidencer=evidencer_factory() if evidencer_factory else None,
            actor=name,
            write_behind=True,
        )
        self._handles: dict[str, Any] = {}

    def deliberate(self, request: DeliberationRequest) -> Deliberation:
        """Run, resume, or return the stored result of ``request`` (see ``Council.deliberate``)."""
        return self.council.deliberate(request)

    def ping(self) -> str:
        return "ok"

    def _handle(self, member: str) -> Any:
        if member not in self._handles:
            handle = lookup(agent_actor_name(member, self.agent_scope), self.namespace)
            if handle is None:
                return None
            self._handles[member] = handle
        return self._handles[member]

    def _gather(self, calls: Sequence[Call], timeout: float, needed: int = 0) -> list[Any]:
        results: list[Any] = [None] * len(calls)
        handles: dict[int, Any] = {}
        for i, (member, _, _) in enumerate(calls):
            handles[i] = self._handle(member)
            if handles[i] is None:
                results[i] = NotFound(
                    what="agent actor", id=agent_actor_name(member, self.agent_scope)
                )
        asked = [i for i in range(len(calls)) if results[i] is None]
        if not asked:
            self.council.release_writes()
            return results

        def start(i: int) -> Any:
            _, method, args = calls[i]
            return handles[i].call.remote(method, wire.encode(method, args))

        def first(refs: list[Any], t: float) -> set[Any]:
            ready, _ = ray.wait(refs, num_returns=1, timeout=t)
            if ready and len(refs) > 1:  # and any other that finished meanwhile
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            return set(ready)

        # the last step's writes overlap the first calls
        sent = cascade({i: calls[i][0] for i in asked}, Phase(timeout, needed), start=start,
                       wait=first, on_sent=self.council.release_writes)  # fmt: skip
        ready = [ref for ref in sent.handles.values() if ref in sent.finished]
        by_ref = {ref: i for i, ref in sent.handles.items()}
        for i in asked:
            ref = sent.handles.get(i)
            if ref is None or ref not in sent.finished:
                results[i] = PhaseTimeout(late(calls[i], timeout, sent=ref is not None))
                if ref is not None:
                    _cancel(ref)
        for ref, value in zip(ready, _values(ready), strict=True):
            results[by_ref[ref]] = _decoded(calls[by_ref[ref]][1], value)
        return results


def _decoded(method: str, value: Any) -> Any:
    """The agent's answer as drafts again; one that does not decode counts as no answer."""
    try:
        return wire.decode_answer(method, value)
    except ValueError as exc:
        return exc


def _values(ready: list[Any]) -> list[Any]:
    """Values of finished refs in one ``ray.get``; if one holds an error (a dead agent), resolve
    them one by one instead. Every ref is already finished, so none of these calls waits."""
    try:
        return list(ray.get(ready))
    except Exception:
        out: list[Any] = []
        for ref in ready:
            try:
                out.append(ray.get(ref, timeout=0))
            except Exception as exc:
                out.append(exc)
        return out


def _cancel(ref: Any) -> None:
    try:
        ray.cancel(ref)
    except Exception as exc:  # cancelling a late call is best effort: its result is ignored anyway
        log.debug("could not cancel a late council call: %s", exc)


def spawn_council(
    event_log_factory: Callable[[], EventLog],
    *,
    name: str = "council",
    namespace: str = NAMESPACE,
    sandbox_factory: Callable[[], Sandbox] | None = None,
    agent_scope: str | None = None,
    evidencer_factory: Callable[[], Evidencer] | None = None,
) -> Any:
    """Create (or get) the named, detached, restartable council actor; returns its handle.

    ``event_log_factory`` must be picklable (e.g. ``functools.partial(RedisEventLog, url)``):
    a restarted council calls it again to reach the same checkpoints.
    """
    opts = ActorOptions(
        name=name,
        namespace=namespace,
        num_cpus=0,
        max_restarts=-1,
        max_task_retries=-1,  # a deliberate() cut short by a crash is re-run, and resumes
        max_concurrency=MAX_CONCURRENCY,
    )
    return build(
        CouncilActor,
        opts,
        event_log_factory,
        namespace=namespace,
        sandbox_factory=sandbox_factory,
        name=name,
        agent_scope=agent_scope,
        evidencer_factory=evidencer_factory,
    )
