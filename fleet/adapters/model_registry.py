"""Build ChatModels from ``models.yaml`` by backend name; route and ledger them per role.

Everything here is built from picklable config, so an agent actor can call
``chat_model_for_role`` in its own process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypedDict, Unpack

from fleet.config import ModelsConfig
from fleet.errors import ConfigError, UnknownName
from fleet.ledger import LedgeredChatModel, UsageLedger
from fleet.ports import ChatModel, Clock, EventLog
from fleet.routing import RoutedChatModel

BaseUrl = str | Mapping[str, str] | None


def _served_url(name: str, llm_base_url: BaseUrl) -> str:
    url = llm_base_url.get(name) if isinstance(llm_base_url, Mapping) else llm_base_url
    if not url:
        raise ConfigError(
            file="models.yaml",
            key=f"models.{name}",
            problem="a served model needs llm_base_url (deploy it with serve_apps.llm.deploy_llm)",
        )
    return url


def _openai_chat(
    base_url: str,
    model_id: str,
    name: str,
    spec: Any,
    api_key: str | None = None,
    *,
    strict: bool = False,
) -> ChatModel:
    from fleet.adapters.openai_chat import Retry
    from fleet.adapters.registry import chat_client

    chat: ChatModel = chat_client(
        spec.backend,
        base_url,
        model_id,
        api_key=api_key,
        retry=Retry(timeout_s=spec.timeout_s, max_retries=spec.max_retries),
        name=name,
        strict=strict,
    )
    return chat


def _llamacpp(name: str, spec: Any, llm_base_url: BaseUrl) -> ChatModel:
    # The llama.cpp Serve app serves the model under its models.yaml name.
    return _openai_chat(_served_url(name, llm_base_url), name, name, spec)


def _vllm(name: str, spec: Any, llm_base_url: BaseUrl) -> ChatModel:
    return _openai_chat(_served_url(name, llm_base_url), spec.model_id, name, spec)


def _openai(name: str, spec: Any, llm_base_url: BaseUrl) -> ChatModel:
    api_key = None
    if spec.api_key_env:
        api_key = os.environ.get(spec.api_key_env)
        if not api_key:
            raise ConfigError(
                file="models.yaml",
                key=f"models.{name}.api_key_env",
                problem=f"environment variable {spec.api_key_env} is not set",
            )
    # hosted APIs get strict structured outputs (their grammar is opt-in); llama.cpp and vLLM
    # constrain every schema anyway
    return _openai_chat(spec.base_url, spec.model_id, name, spec, api_key, strict=True)


def _scripted(name: str, spec: Any, llm_base_url: BaseUrl) -> ChatModel:
    from fleet.adapters.registry import chat_client

    scripted: ChatModel = chat_client("scripted", spec.mode, name=name, latency_ms=spec.latency_ms)
    return scripted


BACKENDS: dict[str, Callable[[str, Any, BaseUrl], ChatModel]] = {
    "llamacpp": _llamacpp,
    "vllm": _vllm,
    "openai": _openai,
    "scripted": _scripted,
}


def build_chat_model(models: ModelsConfig, name: str, *, llm_base_url: BaseUrl = None) -> ChatModel:
    """The ChatModel for ``models.yaml`` entry ``name``.

    ``llm_base_url`` is the OpenAI base URL of the Serve app serving it (``.../llm/v1``; the
    embedded llama.cpp app serves all its models there), or a mapping model name -> base URL
    (apps of their own, e.g. one vLLM app per model on a cluster); unused by ``openai`` and
    ``scripted``.

    Raises:
        UnknownName: no such model or backend (lists the valid names).
        ConfigError: a served model without a base URL, or a missing API key variable.
    """
    if name not in models.models:
        raise UnknownName(what="model", name=name, valid=list(models.models))
    spec = models.models[name]
    factory = BACKENDS.get(spec.backend)
    if factory is None:
        raise UnknownName(what="model backend", name=spec.backend, valid=list(BACKENDS))
    return factory(name, spec, llm_base_url)


def with_budgets(models: ModelsConfig, budgets: Mapping[str, Any] | None) -> ModelsConfig:
    """``models`` with its ``budgets`` replaced (scope -> ``{tokens, cost}``), validated; unchanged if None."""
    if budgets is None:
        return models
    return ModelsConfig.model_validate({**models.model_dump(mode="json"), "budgets": dict(budgets)})


class Recording(TypedDict, total=False):
    """Where a role's calls are budgeted and recorded (all optional)."""

    ledger: UsageLedger | None  # budgets, and a ``model.usage`` event per call
    event_log: EventLog | None  # ``model.fallback`` / ``model.usage`` events of the story
    clock: Clock | None
    actor: str | None  # the caller named in usage events (default agent:<role>)


class RoleModels:
    """One role's models, built once; :meth:`for_story` gives that role's ChatModel in one story.

    The chain is ``routing.<role>`` (or ``routing.default``), or only ``model`` when one is
    named, or ``[(name, base)]`` for a ready-made model (a test's or the scripted developer).
    Each model is reached at ``llm_base_url``: one URL for all (the embedded llama.cpp app
    serves every routed model there) or a mapping model name -> URL.
    The expensive parts (HTTP clients) are shared by every story; each story gets its own thin
    routed wrapper (fallback events go to the story's timeline) and, with a ledger, its own
    budgeted, recorded wrapper: every call is a ``model.usage`` event of that story.
    """

    def __init__(
        self,
        models: ModelsConfig,
        role: str,
        *,
        model: str | None = None,
        base: ChatModel | None = None,
        llm_base_url: BaseUrl = None,
        **recording: Unpack[Recording],
    ) -> None:
        if base is not None:
            self.chain = [(str(getattr(base, "name", model or "model")), base)]
        else:
            names = (
                [model] if model else list(models.routing.get(role) or models.routing["default"])
            )
            self.chain = [
                (n, build_chat_model(models, n, llm_base_url=llm_base_url)) for n in names
            ]
        self.role = role
        self.ledger = recording.get("ledger")
        self.event_log = recording.get("event_log")
        self.clock = recording.get("clock")
        self.actor = recording.get("actor")

    def for_story(self, story_id: str | None) -> ChatModel:
        """The routed (and, with a ledger, budgeted and recorded) model for ``story_id``."""
        routed = RoutedChatModel(
            self.chain,
            role=self.role,
            story_id=story_id,
            on_event=self.event_log.append if self.event_log is not None else None,
            clock=self.clock,
        )
        if self.ledger is None:
            return routed
        return LedgeredChatModel(
            routed, self.ledger, role=self.role, story_id=story_id, actor=self.actor
        )


def chat_model_for_role(
    models: ModelsConfig,
    role: str,
    *,
    story_id: str | None = None,
    llm_base_url: BaseUrl = None,
    **recording: Unpack[Recording],
) -> ChatModel:
    """The routed (primary + fallbacks, ``routing.<role>`` or ``routing.default``) and,
    with a ledger, budgeted and recorded ChatModel for one role in one story.

    Fallbacks are recorded as ``model.fallback`` events in ``recording["event_log"]``.
    """
    return RoleModels(models, role, llm_base_url=llm_base_url, **recording).for_story(story_id)
