"""Settings of the orchestrator and everything it builds (JSON-able, so they cross to actors).

Its own module so that ``actors/wiring.py`` (the composition root) and the services it
wires (``actors/story_services.py``) both import it without importing each other.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fleet.config import CouncilSpec, GraphConfig, SandboxConfig
from fleet.config.models import Budget

_COUNCIL = CouncilSpec()  # the defaults of config/fleet.yaml's council block


class OrchestratorSettings(BaseModel):
    """What the orchestrator actor needs to build its collaborators (JSON-able)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    redis_url: str = Field(description="Redis+FalkorDB server holding timelines and the graph")
    graph: GraphConfig = Field(
        default_factory=lambda: _graph(None),
        description="decision graph store (backend, name); a plain string is a graph name with "
        "fleet.yaml's backend",
    )
    sandbox: SandboxConfig = Field(
        default_factory=lambda: _sandbox(None), description="sandbox backend (fleet.yaml's default)"
    )
    prefix: str = Field("fleet", description="key prefix of the event log (tests isolate with it)")
    namespace: str = Field("swe-fleet", description="Ray namespace of the fleet's actors")
    model: str | None = Field(None, description="model name for every role (e.g. scripted)")
    role_models: dict[str, str] = Field(default_factory=dict, description="role -> model name")
    llm_base_url: str | dict[str, str] | None = Field(
        None,
        description="OpenAI base URL of the Serve llm app (every served model there), or model "
        "name -> base URL (one app per model, e.g. the vLLM apps on a cluster)",
    )
    members: tuple[str, ...] = Field(
        ("developer-1", "qa-1", "architect-1"), description="council members for each task"
    )
    rounds: int = Field(1, ge=0, description="critique/revise rounds per council")
    settle_on_pass: bool = Field(
        True,
        description="patch councils also stop when a candidate passes the whole evidence suite "
        "(critique and revision only while none does); False: only on a supermajority",
    )
    qa_examples: bool = Field(
        True,
        description="patch councils: the QA members write their own examples of the task's "
        "functions, advisory evidence tests that rank the passing candidates and fail none",
    )
    debug_rounds: int = Field(
        _COUNCIL.debug_rounds,
        ge=0,
        le=5,
        description="patch councils: how many times each developer fixes its own failing "
        "candidate from its test output before the council compares (0: no debugging)",
    )
    distinguish: bool = Field(
        _COUNCIL.distinguish,
        description="patch councils: passing candidates that differ run on QA's distinguishing "
        "inputs, and ballots are asked only where the evidence cannot decide",
    )
    resample_failing: bool = Field(
        _COUNCIL.resample_failing,
        description="patch councils: while no candidate passes the whole evidence suite, each "
        "developer proposes afresh (hot, a new seed) at the revise step instead of revising its "
        "failing candidate",
    )
    critique: bool = Field(
        _COUNCIL.critique,
        description="patch councils with distinguish: critics review the candidates once one "
        "passes the whole evidence suite; false: no critiques (revisions work from the evidence)",
    )
    plan_by_team: bool = Field(
        True,
        description="stories with 2+ criteria: the architect proposes the task DAG and the "
        "council deliberates on it (the plan derived from the criteria is the fallback); "
        "False: always the plan derived from the criteria",
    )
    phase_timeout_s: float = Field(
        600.0,
        gt=0,
        description="a council member slower than this misses a phase (the default model, "
        "Qwen2.5-Coder-0.5B, makes ~19 tok/s on 2 CPUs: a turn may take minutes); a phase "
        "short of its quorum then waits up to this long again for the calls still running",
    )
    storage_patience_s: float = Field(
        15.0,
        ge=0,
        description="how long the actors' event log calls wait for Redis to come back before "
        "failing with StorageUnavailable (a restart of a few seconds then costs a pause, not "
        "the step a story is in); 0: fail at once",
    )
    dor_threshold: int = Field(70, ge=0, le=100)
    max_parallel_stories: int = Field(32, ge=1)
    task_parallelism: int = Field(4, ge=1)
    data_dir: str | None = Field(None, description="where workspaces and archives live")
    budgets: dict[str, Budget] | None = Field(
        None, description="replaces models.yaml budgets ('story' or a role -> {tokens, cost})"
    )

    @field_validator("graph", mode="before")
    @classmethod
    def _graph_name(cls, value: Any) -> Any:
        return _graph(value) if isinstance(value, str) else value


def _graph(value: str | None) -> GraphConfig:
    from fleet.adapters.registry import graph_config

    return graph_config(value)


def _sandbox(value: Any) -> SandboxConfig:
    from fleet.adapters.registry import sandbox_config

    return sandbox_config(value)
