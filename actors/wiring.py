"""Composition root of the orchestrator: its collaborators, with adapters from the registry.

Which module implements which port is :mod:`fleet.adapters.registry`'s business (imported
lazily, chosen by name from config); this module only says which ports the orchestrator
gets. ``OrchestratorSettings`` lives in :mod:`actors.settings`, so the services wired here
import it without importing this module back.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from actors.settings import OrchestratorSettings
from actors.story_services import RayCouncil, WorkspaceExecutor
from fleet.adapters import registry
from fleet.coach import score_story
from fleet.config import load
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.services import Services, summary_docs
from fleet.orchestrator.team_planning import TeamPlan
from fleet.ports import EventLog
from fleet.rigor import evaluate

__all__ = ["OrchestratorSettings", "decision_graph", "default_services", "event_log"]


def event_log(settings: OrchestratorSettings) -> Any:
    """The story timelines (``EventLog``) these settings name."""
    return registry.event_log(
        settings.redis_url, prefix=settings.prefix, patience_s=settings.storage_patience_s
    )


def decision_graph(settings: OrchestratorSettings) -> Any:
    """The ``DecisionGraph`` that ``settings.graph.backend`` names (FalkorDB or Neo4j)."""
    return registry.decision_graph(settings.graph, redis_url=settings.redis_url)


def default_services(settings: OrchestratorSettings, log: EventLog) -> Services:
    """The real collaborators: coach, the team's planner (or the criteria planner), council actor,
    workspace runner, rigor gate."""
    rigor = load("rigor.yaml")
    executor = WorkspaceExecutor(settings, log)
    council = RayCouncil(settings, log, sources=executor.sources)  # one clone per story
    return Services(
        score=partial(score_story, threshold=settings.dor_threshold),
        plan=team_plan(settings, council) if settings.plan_by_team else plan_from_criteria,
        council=council,
        executor=executor,
        gate=partial(_gate, config=rigor),  # reports the executor did not judge (doubles)
        document=summary_docs,
        deliver=executor.deliver,
        admit=executor.admit,
    )


def team_plan(settings: OrchestratorSettings, council: RayCouncil) -> TeamPlan:
    """Planning by the team: the architect's task DAG, deliberated on the council actor."""
    return TeamPlan(
        council=council.members,
        deliberate=council.run,
        rounds=settings.rounds,
        phase_timeout_s=settings.phase_timeout_s,
    )


def _gate(report: Any, level: str, *, config: Any) -> Any:
    return evaluate(report, level, config)
