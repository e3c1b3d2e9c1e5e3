"""What a role agent is built with (``actors.agent.RoleAgent``'s keyword options)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from fleet.config import RolesConfig
from fleet.ports import ChatModel, EventLog

ChatModelFactory = Callable[[], ChatModel]
EventLogFactory = Callable[[], EventLog]


class AgentOptions(TypedDict, total=False):
    """``RoleAgent``'s options, all optional.

    ``chat_model_factory``: a ready-made model (a test's, the scripted developer) instead of
    models.yaml routing; ``model``: the one models.yaml model to use; ``llm_base_url``: where the
    served models answer (one URL, or model name -> URL); ``event_log_factory``, ``budgets``: see
    ``RoleAgent``; ``temperature`` (0.7), ``seed`` (from the id), ``max_tokens`` (160): the
    member's sampling of JSON answers; ``context_service``: the context actor's name (None: no
    context packs); ``namespace``: the Ray namespace it is looked up in
    (``actors.builder.NAMESPACE``); ``roles``: roles.yaml as loaded (None: load it).
    """

    chat_model_factory: ChatModelFactory | None
    model: str | None
    llm_base_url: str | Mapping[str, str] | None
    event_log_factory: EventLogFactory | None
    budgets: Mapping[str, Any] | None
    temperature: float
    seed: int | None
    context_service: str | None
    namespace: str
    max_tokens: int
    roles: RolesConfig | None
