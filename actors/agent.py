"""Role agents: one long-lived, named, detached Ray actor per role instance.

``RoleAgent`` is a plain class (a thin shell over :class:`fleet.council.Member`); ``spawn_agent``
makes it an actor through the one builder. Its methods never raise for a failed model call:
they return the (picklable) exception, so the council can gather a whole phase with one
``ray.get`` and drop only the members that failed (a returned ``BudgetExceeded`` instead stops
the council: see ``fleet/council/engine.py``).

An agent serves many stories, so it keeps one ``Member`` per story (the most recent
``MAX_STORIES``), each over that story's routed, ledgered model: every call is checked against
the story's budgets and recorded as a ``model.usage`` event in the story's timeline.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any, Unpack

from actors.agent_options import AgentOptions
from actors.builder import NAMESPACE, ActorOptions, build, lookup
from actors.parts import patch_tools
from fleet.config import load
from fleet.contracts import ContextPack, Proposal
from fleet.council import Brief, Member, wire
from fleet.council.team import member_seed
from fleet.errors import NotFound, UserError
from fleet.ledger import UsageLedger

MAX_STORIES = 64
"""Stories an agent keeps a member for; older ones are rebuilt on demand (their spend is in the log)."""


def agent_actor_name(agent_id: str, scope: str | None = None) -> str:
    """The Ray actor name of agent ``agent_id`` (e.g. ``agent-developer-1``).

    ``scope`` separates the agents of fleets sharing a namespace (``agent-<scope>-developer-1``):
    an agent's model, event log and budgets are fixed when it is created.
    """
    return f"agent-{agent_id}" if scope is None else f"agent-{scope}-{agent_id}"


class RoleAgent:
    """One role instance: proposes, critiques, revises and votes with its own model and seed.

    ``event_log_factory`` (picklable, e.g. ``partial(RedisEventLog, url, prefix=...)``) is the
    story timeline the ledger records usage in and reads budgets from; without it the ledger
    keeps totals in memory and no ``model.usage`` events are written. ``budgets`` replaces
    ``models.yaml``'s budgets (scope -> ``{tokens, cost}``).
    """

    def __init__(self, agent_id: str, role: str, **options: Unpack[AgentOptions]) -> None:
        from fleet.adapters.model_registry import RoleModels, with_budgets

        o = options
        if unknown := set(o) - set(AgentOptions.__annotations__):  # Ray passes them unchecked
            raise TypeError(f"unknown RoleAgent option(s): {', '.join(sorted(unknown))}")
        self.spec = (o.get("roles") or load("roles.yaml")).get(role)
        if self.spec.human:
            raise UserError(f"role {role!r} is a person, not an agent; pick one of the agent roles")
        self.agent_id, self.role = agent_id, role
        self._context_service = o.get("context_service")
        self._namespace = o.get("namespace", NAMESPACE)
        models = with_budgets(load("models.yaml"), o.get("budgets"))
        factory, log_factory = o.get("chat_model_factory"), o.get("event_log_factory")
        log = log_factory() if log_factory else None
        self.ledger = UsageLedger(models, event_log=log)
        base = factory() if factory else None
        self.models = RoleModels(models, role, model=o.get("model"), base=base,
                                 llm_base_url=o.get("llm_base_url"), ledger=self.ledger,
                                 event_log=log, actor=f"agent:{agent_id}")  # fmt: skip
        seed, named = o.get("seed"), o.get("model") or models.primary(role)
        # the patch-writing quirks of the model asked first (a ready-made model: the default)
        profile = models.profile_of(None if factory else named)
        tools = patch_tools()
        self._member_kwargs: dict[str, Any] = {
            "temperature": o.get("temperature", 0.7),
            "seed": member_seed(agent_id) if seed is None else seed,
            "context": self._context if self._context_service else None,
            "max_tokens": o.get("max_tokens", 160),
            "tools": replace(tools, write_patch=partial(tools.write_patch, profile=profile)),
        }
        self._members: OrderedDict[str, Member] = OrderedDict()
        self._lock = threading.Lock()  # the actor is threaded: phases of several stories at once

    def member(self, story_id: str) -> Member:
        """This agent's member for ``story_id`` (its model is that story's ledgered model)."""
        with self._lock:
            found = self._members.get(story_id)
            if found is not None:
                self._members.move_to_end(story_id)
                return found
            model = self.models.for_story(story_id)
            found = Member(self.agent_id, self.role, self.spec, model, **self._member_kwargs)
            self._members[story_id] = found
            while len(self._members) > MAX_STORIES:
                old_story, old = self._members.popitem(last=False)
                old.close()
                if self.ledger.event_log is not None:  # in memory, the totals are the only copy
                    self.ledger.forget(old_story)
            return found

    def _context(
        self, story_id: str, role: str, phase: str, task_id: str | None,
        repo: str | None = None, ref: str | None = None,
    ) -> ContextPack:  # fmt: skip
        import ray

        service = lookup(self._context_service or "", self._namespace)
        if service is None:
            raise NotFound(what="context service actor", id=self._context_service or "")
        return ray.get(service.pack.remote(story_id, role, phase, task_id, repo, ref))

    @staticmethod
    def _safe(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # returned, not raised: the council drops it for the phase
            return exc

    def propose(self, brief: Brief) -> Any:
        return self._safe(lambda: self.member(brief.story_id).propose(brief))

    def critique(self, brief: Brief, target: Proposal) -> Any:
        return self._safe(lambda: self.member(brief.story_id).critique(brief, target))

    def critiques(self, brief: Brief, targets: tuple[Proposal, ...]) -> Any:
        return self._safe(lambda: self.member(brief.story_id).critiques(brief, targets))

    def revise(self, brief: Brief, own: Proposal | None) -> Any:
        return self._safe(lambda: self.member(brief.story_id).revise(brief, own))

    def vote(self, brief: Brief) -> Any:
        return self._safe(lambda: self.member(brief.story_id).vote(brief))

    def distinguish(self, brief: Brief, targets: tuple[Proposal, ...]) -> Any:
        """QA: calls on which the passing candidates ``targets`` would return different values
        (the council runs them: selection by distinguishing inputs), or the exception."""
        return self._safe(lambda: self.member(brief.story_id).distinguish(brief, targets))

    def write_tests(self, brief: Brief, criteria: tuple[str, ...]) -> Any:
        """QA: test files (path -> source) for prose ``criteria``, or the exception."""
        return self._safe(lambda: self.member(brief.story_id).write_tests(brief, criteria))

    def write_examples(self, brief: Brief, criteria: tuple[str, ...]) -> Any:
        """QA: its own "f(args) returns value" cases (advisory evidence), or the exception."""
        return self._safe(lambda: self.member(brief.story_id).write_examples(brief, criteria))

    def call(self, method: str, args: bytes) -> Any:
        """``method`` (propose, critiques, ...) with arguments and answer as ``fleet.council.wire`` bytes.

        The council calls this: bytes cross Ray far faster than pickled contracts."""
        try:
            decoded = wire.decode(method, args)
        except Exception as exc:  # returned like a failed model call: the member misses the phase
            return exc
        return wire.encode_answer(method, getattr(self, method)(*decoded))

    def usage(self) -> list[Any]:
        """The usage records of calls made by this agent process (for tests and debugging)."""
        return list(self.ledger.records)

    def ping(self) -> str:
        return self.agent_id


def spawn_agent(
    agent_id: str,
    role: str | None = None,
    *,
    namespace: str = NAMESPACE,
    max_concurrency: int = 64,
    scope: str | None = None,
    **kwargs: Any,
) -> Any:
    """Create (or get, if running) the named detached agent actor; returns its handle.

    ``role`` defaults to the id's prefix (``qa-2`` -> ``qa``); other keywords go to ``RoleAgent``.
    Threaded (``max_concurrency``) because a member critiques several proposals at once and
    each call mostly waits on the model.
    """
    role = role or agent_id.rsplit("-", 1)[0]
    load("roles.yaml").get(role)  # fail here with the valid names, not inside a dead actor
    opts = ActorOptions(
        name=agent_actor_name(agent_id, scope),
        namespace=namespace,
        num_cpus=0,
        max_restarts=-1,
        max_task_retries=1,  # a call in flight when the agent crashed is retried once on the new one
        max_concurrency=max_concurrency,
    )
    return build(RoleAgent, opts, agent_id, role, namespace=namespace, **kwargs)
