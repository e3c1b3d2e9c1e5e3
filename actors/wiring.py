"""Composition root of the orchestrator: real adapters chosen from settings.

The only place that knows which module implements which port; imports are lazy
so that a missing optional part fails with a clear message when it is used.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleet.coach import score_story
from fleet.config import load
from fleet.config.models import Budget
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.services import Services, summary_docs
from fleet.ports import EventLog
from fleet.rigor import evaluate


class OrchestratorSettings(BaseModel):
    """What the orchestrator actor needs to build its collaborators (JSON-able)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    redis_url: str = Field(description="Redis+FalkorDB server holding timelines and the graph")
    graph: str = Field("fleet", description="graph name in FalkorDB")
    prefix: str = Field("fleet", description="key prefix of the event log (tests isolate with it)")
    namespace: str = Field("swe-fleet", description="Ray namespace of the fleet's actors")
    model: str | None = Field(None, description="model name for every role (e.g. scripted)")
    role_models: dict[str, str] = Field(default_factory=dict, description="role -> model name")
    llm_base_url: str | None = Field(None, description="base URL of the Serve /llm app")
    members: tuple[str, ...] = Field(
        ("developer-1", "qa-1", "architect-1"), description="council members for each task"
    )
    rounds: int = Field(1, ge=0, description="critique/revise rounds per council")
    phase_timeout_s: float = Field(
        600.0,
        gt=0,
        description="a council member slower than this misses a phase (the default model, "
        "Qwen2.5-Coder-0.5B, makes ~19 tok/s on 2 CPUs: a turn may take minutes)",
    )
    dor_threshold: int = Field(70, ge=0, le=100)
    max_parallel_stories: int = Field(32, ge=1)
    task_parallelism: int = Field(4, ge=1)
    data_dir: str | None = Field(None, description="where workspaces and archives live")
    budgets: dict[str, Budget] | None = Field(
        None, description="replaces models.yaml budgets ('story' or a role -> {tokens, cost})"
    )


def event_log(settings: OrchestratorSettings) -> Any:
    from fleet.adapters.redis_events import RedisEventLog

    return RedisEventLog(settings.redis_url, prefix=settings.prefix)


def default_services(settings: OrchestratorSettings, log: EventLog) -> Services:
    """The real collaborators: coach, criteria planner, council actor, workspace runner, rigor gate."""
    from actors.story_services import RayCouncil, WorkspaceExecutor

    rigor = load("rigor.yaml")
    executor = WorkspaceExecutor(settings, log)
    return Services(
        score=partial(score_story, threshold=settings.dor_threshold),
        plan=plan_from_criteria,
        council=RayCouncil(settings, log),
        executor=executor,
        gate=partial(_gate, config=rigor),
        document=summary_docs,
        deliver=executor.deliver,
    )


def _gate(report: Any, level: str, *, config: Any) -> Any:
    return evaluate(report, level, config)
