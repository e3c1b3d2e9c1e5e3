"""The one place adapters are constructed: a table from a backend name to its implementation.

Config names the backend (``fleet.yaml``: ``graph.backend``, ``sandbox.backend``;
``models.yaml``: a model's ``backend``); this module turns the name into an object.
Implementations are dotted paths imported on first use, so a backend whose client library
is missing fails only when it is chosen, and an unknown name is an error that lists the
valid ones. Everything else (actors, the gateway, the CLI) asks here instead of importing
an adapter class.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from fleet.config import GraphConfig, SandboxConfig
from fleet.errors import ConfigError, UnknownName

# kind -> backend name -> "module:attribute"
IMPLEMENTATIONS: dict[str, dict[str, str]] = {
    "event_log": {"redis": "fleet.adapters.redis_events:RedisEventLog"},
    "graph": {
        "falkordb": "fleet.adapters.falkordb_graph:FalkorDecisionGraph",
        "neo4j": "fleet.adapters.neo4j_graph:Neo4jDecisionGraph",
    },
    "sandbox": {
        "bwrap": "fleet.adapters.bwrap_sandbox:BwrapSandbox",
        "k8s_job": "fleet.adapters.k8s_job_sandbox:K8sJobSandbox",
    },
    # Chat clients by models.yaml backend (fleet/adapters/model_registry.py picks the options):
    # llamacpp and vllm apps and any hosted model speak the OpenAI API.
    "chat": {
        "openai": "fleet.adapters.openai_chat:OpenAIChatModel",
        "llamacpp": "fleet.adapters.openai_chat:OpenAIChatModel",
        "vllm": "fleet.adapters.openai_chat:OpenAIChatModel",
        "scripted": "fleet.testing.fakes:ScriptedChatModel",
    },
}


def implementation(kind: str, name: str) -> Any:
    """The class registered for backend ``name`` of ``kind``, imported now.

    Raises:
        UnknownName: no such kind or backend (the error lists the valid names).
    """
    if kind not in IMPLEMENTATIONS:
        raise UnknownName(what="adapter kind", name=kind, valid=tuple(IMPLEMENTATIONS))
    table = IMPLEMENTATIONS[kind]
    if name not in table:
        raise UnknownName(what=f"{kind.replace('_', ' ')} backend", name=name, valid=tuple(table))
    module, _, attr = table[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def event_log(redis_url: str, *, backend: str = "redis", **options: Any) -> Any:
    """The ``EventLog`` (story timelines); ``options`` go to the implementation (``prefix``...)."""
    return implementation("event_log", backend)(redis_url, **options)


def graph_config(value: GraphConfig | Mapping[str, Any] | str | None = None) -> GraphConfig:
    """A full graph config: ``None`` is fleet.yaml's ``graph``; a string is fleet.yaml's with that
    graph name (tests isolate by name); a mapping or config is taken as it is."""
    if isinstance(value, GraphConfig):
        return value
    if isinstance(value, Mapping):
        return GraphConfig.model_validate(value)
    from fleet.config import fleet_config

    base = fleet_config().graph
    return base if value is None else base.model_copy(update={"name": value})


def sandbox_config(value: SandboxConfig | Mapping[str, Any] | None = None) -> SandboxConfig:
    """A full sandbox config: ``None`` is fleet.yaml's ``sandbox``."""
    if isinstance(value, SandboxConfig):
        return value
    if isinstance(value, Mapping):
        return SandboxConfig.model_validate(value)
    from fleet.config import fleet_config

    return fleet_config().sandbox


def decision_graph(
    graph: GraphConfig | Mapping[str, Any] | str | None,
    *,
    redis_url: str,
    env: Mapping[str, str] | None = None,
    patience_s: float = 0.0,
) -> Any:
    """The ``DecisionGraph`` that ``graph.backend`` names.

    FalkorDB lives in the Redis at ``redis_url`` (``patience_s``: how long its calls wait for
    a restarted server, see ``RedisEventLog``); Neo4j at ``graph.neo4j_uri``, with its user
    and password read from the environment variables the config names (never from config).

    Raises:
        UnknownName: an unknown backend.
        ConfigError: Neo4j without a URI or without its credentials in the environment.
    """
    cfg = graph_config(graph)
    cls = implementation("graph", cfg.backend)
    if cfg.backend == "falkordb":
        return cls(redis_url, graph=cfg.name, patience_s=patience_s)
    env = os.environ if env is None else env
    if not cfg.neo4j_uri:
        raise ConfigError(
            file="fleet.yaml", key="graph.neo4j_uri", problem="backend neo4j needs a neo4j_uri"
        )
    creds = []
    for key, var in (
        ("neo4j_user_env", cfg.neo4j_user_env),
        ("neo4j_password_env", cfg.neo4j_password_env),
    ):
        if not env.get(var):
            raise ConfigError(
                file="fleet.yaml",
                key=f"graph.{key}",
                problem=f"environment variable {var} is not set",
            )
        creds.append(env[var])
    return cls(cfg.neo4j_uri, creds[0], creds[1], database=cfg.name)


def sandbox(config: SandboxConfig | Mapping[str, Any] | None = None, **options: Any) -> Any:
    """The ``Sandbox`` backend that ``config.backend`` names.

    ``options`` are the local backend's (``use_cgroups``...); the ``k8s_job`` backend takes its
    own from ``config.k8s_job`` (and ``api_client`` when given).

    Raises:
        UnknownName: an unknown backend.
        SandboxUnavailable: the k8s_job backend finds no cluster credentials.
    """
    cfg = sandbox_config(config)
    cls = implementation("sandbox", cfg.backend)
    if cfg.backend == "k8s_job":
        k = cfg.k8s_job
        return cls(
            namespace=k.namespace,
            image=k.image,
            workspace_claim=k.workspace_claim,
            workspace_root=k.workspace_root,
            poll_s=k.poll_s,
            api_client=options.get("api_client"),
        )
    return cls(**options)


def chat_client(backend: str, *args: Any, **options: Any) -> Any:
    """A chat client class's instance for a models.yaml ``backend`` (see ``IMPLEMENTATIONS``)."""
    return implementation("chat", backend)(*args, **options)
