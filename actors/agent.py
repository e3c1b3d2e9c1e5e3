"""Role agents: one long-lived, named, detached Ray actor per role instance.

``RoleAgent`` is a plain class (a thin shell over :class:`fleet.council.Member`); ``spawn_agent``
makes it an actor through the one builder. Its methods never raise for a failed model call:
they return the (picklable) exception, so the council can gather a whole phase with one
``ray.get`` and drop only the members that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.builder import NAMESPACE, ActorOptions, build, lookup
from fleet.config import RolesConfig, load
from fleet.contracts import ContextPack, Proposal
from fleet.council import Brief, Member, mix
from fleet.errors import NotFound, UserError
from fleet.ports import ChatModel

ChatModelFactory = Callable[[], ChatModel]


def agent_actor_name(agent_id: str) -> str:
    """The Ray actor name of agent ``agent_id`` (e.g. ``agent-developer-1``)."""
    return f"agent-{agent_id}"


def _routed_model(role: str, model: str | None, llm_base_url: str | None) -> ChatModel:
    from fleet.adapters.model_registry import build_chat_model, chat_model_for_role

    models = load("models.yaml")
    if model:
        return build_chat_model(models, model, llm_base_url=llm_base_url)
    return chat_model_for_role(models, role, llm_base_url=llm_base_url)


class RoleAgent:
    """One role instance: proposes, critiques, revises and votes with its own model and seed."""

    def __init__(
        self,
        agent_id: str,
        role: str,
        *,
        chat_model_factory: ChatModelFactory | None = None,
        model: str | None = None,
        llm_base_url: str | None = None,
        temperature: float = 0.7,
        seed: int | None = None,
        context_service: str | None = None,
        namespace: str = NAMESPACE,
        max_tokens: int = 160,
        roles: RolesConfig | None = None,
    ) -> None:
        spec = (roles or load("roles.yaml")).get(role)
        if spec.human:
            raise UserError(f"role {role!r} is a person, not an agent; pick one of the agent roles")
        self.agent_id, self.role = agent_id, role
        self._context_service, self._namespace = context_service, namespace
        chat = chat_model_factory() if chat_model_factory else _routed_model(role, model, llm_base_url)
        self.member = Member(
            agent_id, role, spec, chat,
            temperature=temperature,
            seed=mix(agent_id) if seed is None else seed,
            context=self._context if context_service else None,
            max_tokens=max_tokens,
        )

    def _context(self, story_id: str, role: str, phase: str, task_id: str | None) -> ContextPack:
        import ray

        service = lookup(self._context_service or "", self._namespace)
        if service is None:
            raise NotFound(what="context service actor", id=self._context_service or "")
        return ray.get(service.pack.remote(story_id, role, phase, task_id))

    @staticmethod
    def _safe(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # returned, not raised: the council drops this member for the phase
            return exc

    def propose(self, brief: Brief) -> Any:
        return self._safe(self.member.propose, brief)

    def critique(self, brief: Brief, target: Proposal) -> Any:
        return self._safe(self.member.critique, brief, target)

    def critiques(self, brief: Brief, targets: tuple[Proposal, ...]) -> Any:
        return self._safe(self.member.critiques, brief, targets)

    def revise(self, brief: Brief, own: Proposal | None) -> Any:
        return self._safe(self.member.revise, brief, own)

    def vote(self, brief: Brief) -> Any:
        return self._safe(self.member.vote, brief)

    def ping(self) -> str:
        return self.agent_id


def spawn_agent(
    agent_id: str,
    role: str | None = None,
    *,
    namespace: str = NAMESPACE,
    max_concurrency: int = 64,
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
        name=agent_actor_name(agent_id),
        namespace=namespace,
        num_cpus=0,
        max_restarts=-1,
        max_task_retries=1,  # a call in flight when the agent crashed is retried once on the new one
        max_concurrency=max_concurrency,
    )
    return build(RoleAgent, opts, agent_id, role, namespace=namespace, **kwargs)
