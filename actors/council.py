"""The council actor: a thin Ray shell over :class:`fleet.council.Council`.

It reaches the role agents by name, fans every phase out with ``.remote()`` and gathers it
with one ``ray.wait`` (phase timeout) and one ``ray.get``. State lives in the EventLog
checkpoint (Redis), so with ``max_restarts``/``max_task_retries`` a killed council is restarted
by Ray, the caller's pending ``deliberate`` is retried, and the run resumes after the last
completed step with the same result.
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
from fleet.council.engine import Evidencer
from fleet.council.local import PhaseTimeout
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

    def _gather(self, calls: Sequence[Call], timeout: float) -> list[Any]:
        results: list[Any] = [None] * len(calls)
        refs: dict[Any, int] = {}
        for i, (member, method, args) in enumerate(calls):
            handle = self._handle(member)
            if handle is None:
                results[i] = NotFound(
                    what="agent actor", id=agent_actor_name(member, self.agent_scope)
                )
                continue
            refs[handle.call.remote(method, wire.encode(method, args))] = i
        self.council.release_writes()  # the calls are out: the last step's writes overlap them
        if not refs:
            return results
        ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
        for ref in late:
            member, method, _ = calls[refs[ref]]
            results[refs[ref]] = PhaseTimeout(
                f"{member} did not answer {method} within {timeout:g}s"
            )
            _cancel(ref)
        for ref, value in zip(ready, _values(ready), strict=True):
            results[refs[ref]] = _decoded(calls[refs[ref]][1], value)
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
