"""The fleet's named parts the story services use: actor names, the context and sandbox
supervisor actors, the event log factory, budgets and the developer's models.

Every function here only looks up or creates a part from the settings; what the parts do for a
story is :mod:`fleet.pipeline`'s business.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import ray

from actors.context import ACTOR_NAME, build_context_service
from actors.sandbox import AuditLog, build_supervisor
from actors.settings import OrchestratorSettings
from actors.supervised import supervised_evidence
from fleet.adapters import registry
from fleet.adapters.git_repo import GitRepo
from fleet.adapters.model_registry import RoleModels
from fleet.agents import write_patch
from fleet.config import ModelsConfig, fleet_config, load
from fleet.council.patching import PatchTools
from fleet.ledger import UsageLedger
from fleet.orchestrator.sample import scripted_architect, scripted_developer
from fleet.ports import ChatModel, EventLog

EXECUTOR_ACTOR = "executor:developer"  # names the implementation call in model.usage events
DEFAULT_PREFIX = "fleet"  # the event-log prefix of the default fleet (OrchestratorSettings.prefix)


def role_of(member: str) -> str:
    """``developer-1`` -> ``developer`` (a member id is its role plus a number)."""
    return member.split("@", 1)[0].rsplit("-", 1)[0]


def data_dir(settings: OrchestratorSettings) -> Path:
    """The fleet's data directory (workspaces, evidence runs, story sources)."""
    return Path(settings.data_dir or fleet_config().data_dir).expanduser()


def context_name(settings: OrchestratorSettings) -> str:
    """The fleet's context actor's name (``context``; ``context-<prefix>`` for another fleet)."""
    return ACTOR_NAME if settings.prefix == DEFAULT_PREFIX else f"{ACTOR_NAME}-{settings.prefix}"


def context_actor(settings: OrchestratorSettings) -> Any:
    """The fleet's context service actor (created on first use, shared by the fleet)."""
    return build_context_service(
        settings.redis_url,
        name=context_name(settings),
        namespace=settings.namespace,
        graph=settings.graph,
        prefix=settings.prefix,
        storage_patience_s=settings.storage_patience_s,
    )


def supervisor(settings: OrchestratorSettings) -> str:
    """The fleet's sandbox supervisor actor, created with the settings' sandbox and healthy;
    its name."""
    name = f"sandbox-{settings.prefix}"
    ray.get(
        build_supervisor(
            name,
            namespace=settings.namespace,
            audit=AuditLog(
                redis_url=settings.redis_url,
                prefix=settings.prefix,
                patience_s=settings.storage_patience_s,
            ),
            sandbox=settings.sandbox.model_dump(),
        ).check_health.remote()
    )
    return name


def evidence_runner(settings: OrchestratorSettings) -> Any:
    """Evidence runs (the council's, QA's baseline) through the fleet's sandbox supervisor."""
    root = data_dir(settings) / "evidence"
    return supervised_evidence(
        f"sandbox-{settings.prefix}",
        namespace=settings.namespace,
        root=str(root),
        envs_root=str(root.parent / "workspaces"),
    )


def event_log_factory(settings: OrchestratorSettings) -> Any:
    """A picklable maker of this fleet's event log, as the actors it creates use it (with
    the settings' storage patience)."""
    return partial(
        registry.event_log,
        settings.redis_url,
        prefix=settings.prefix,
        patience_s=settings.storage_patience_s,
    )


def budgets_of(settings: OrchestratorSettings) -> dict[str, Any] | None:
    """The settings' budget overrides as plain dicts (picklable, for the agent actors)."""
    if settings.budgets is None:
        return None
    return {scope: b.model_dump() for scope, b in settings.budgets.items()}


def scripted_factory(agent: str, model: str | None) -> Any:
    """For the scripted model, developers and QA get the sample's scripted developer (it writes
    the sample's change as edit blocks) and the architect the scripted planner (task DAGs);
    None otherwise (models.yaml routing)."""
    if model != "scripted" or role_of(agent) not in ("developer", "qa", "architect"):
        return None
    script = scripted_architect if role_of(agent) == "architect" else scripted_developer
    return partial(registry.chat_client, "scripted", script=script, name="scripted")


def patch_tools() -> PatchTools:
    """``write_patch`` over the host's git view of a local repository (``GitRepo``)."""
    return PatchTools(write_patch=write_patch, repo=GitRepo)


def developer_model(
    settings: OrchestratorSettings, overrides: dict[str, str]
) -> tuple[ModelsConfig, str]:
    """models.yaml and the name of the developer's model: the story's override, the fleet's
    role or model setting, else the routing table's first choice."""
    config = load("models.yaml")
    routed = config.routing.get("developer", config.routing.get("default", []))
    name = (
        overrides.get("developer")
        or settings.role_models.get("developer")
        or settings.model
        or next(iter(routed), "")
    )
    return config, name


def developer_models(
    settings: OrchestratorSettings,
    log: EventLog,
    ledger: UsageLedger,
    base: ChatModel | None = None,
) -> Any:
    """The developer's ``RoleModels``: ``base`` if given, the scripted developer (it knows the
    bundled sample's change), the named model, or models.yaml routing."""
    model = settings.role_models.get("developer") or settings.model
    if base is None and model == "scripted":
        base = registry.chat_client("scripted", script=scripted_developer, name="scripted")
    return RoleModels(
        ledger.models,
        "developer",
        model=model,
        base=base,
        llm_base_url=settings.llm_base_url,
        ledger=ledger,
        event_log=log,
        actor=EXECUTOR_ACTOR,
    )
