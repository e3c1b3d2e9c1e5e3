"""``RayCouncil``: the orchestrator's ``CouncilPort`` over the council actor and the role agents.

It hosts the pipeline's council step (:func:`fleet.pipeline.council.deliberate`): the agents and
the council actor are created on first use, and the step's ports are Ray handles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import ray

from actors.agent import agent_actor_name, spawn_agent
from actors.builder import lookup
from actors.council import spawn_council
from actors.parts import (
    DEFAULT_PREFIX,
    budgets_of,
    context_actor,
    context_name,
    data_dir,
    event_log_factory,
    evidence_runner,
    role_of,
    scripted_factory,
    supervisor,
)
from actors.settings import OrchestratorSettings
from actors.story_ports import LazyBaseline, RayQaTeam, StorySources
from actors.supervised import supervised_evidence
from fleet.adapters.workspace import WorkspaceRunner
from fleet.clock import SystemClock
from fleet.contracts import Deliberation, Story, Task
from fleet.council.team import members_for, temperature_of
from fleet.errors import ControlSignal, QuorumLost
from fleet.orchestrator.view import StoryView, fold
from fleet.pipeline import council as step
from fleet.pipeline.ports import Sources
from fleet.ports import EventLog


def agent_options(settings: OrchestratorSettings, agent: str, model: str | None) -> dict[str, Any]:
    """How the story's agent ``agent`` on ``model`` samples, beside its infrastructure: its model
    (scripted or routed), budgets and temperature (the first developer greedy, the others hotter,
    QA and the architect nearly greedy: ``fleet.council.team.temperature_of``, as the benchmark's
    members); its seed is its id's (``RoleAgent``: ``team.member_seed``)."""
    return {
        "model": model,
        "llm_base_url": settings.llm_base_url,
        "budgets": budgets_of(settings),
        "chat_model_factory": scripted_factory(agent, model),
        "temperature": temperature_of(agent),
    }


class RayCouncil:
    """``CouncilPort`` over the council actor and the role agents (created on first use)."""

    def __init__(
        self, settings: OrchestratorSettings, log: EventLog, *, sources: Sources | None = None
    ) -> None:
        self.settings = settings
        # Agents are per fleet (their model, timeline and budgets are fixed at creation): the
        # default fleet keeps the plain names, another fleet in the namespace gets its own.
        self.scope = None if settings.prefix == DEFAULT_PREFIX else settings.prefix
        self.log = log
        self.sources = sources or _plain_sources(settings)
        self._council: Any = None
        self._agents: set[str] = set()

    def _ensure(self) -> Any:
        if self._council is None:
            s = self.settings
            self._spawn({m: s.role_models.get(role_of(m)) or s.model for m in s.members})
            root = data_dir(s) / "evidence"
            # the council's evidence runs on the fleet's sandbox supervisor: created first. Left to
            # the suite step's baseline, a story whose suite ran nothing on the base found no
            # supervisor, and its council waited for one forever.
            supervisor(s)
            self._council = spawn_council(
                event_log_factory(s),
                name=f"council-{s.prefix}",
                namespace=s.namespace,
                agent_scope=self.scope,
                evidencer_factory=partial(
                    supervised_evidence,
                    f"sandbox-{s.prefix}",
                    namespace=s.namespace,
                    root=str(root),
                    envs_root=str(root.parent / "workspaces"),
                ),
            )
        return self._council

    def _spawn(self, agents: Mapping[str, str | None]) -> None:
        """Create the agent actors not created yet (agent id -> model, None: models.yaml routing)."""
        new = {a: m for a, m in agents.items() if a not in self._agents}
        s = self.settings
        logs = event_log_factory(s)  # the agents' ledgers write to this fleet's timelines
        context_actor(s)  # agents' prompts are packs from it: repository map, relevant code
        handles = [
            spawn_agent(
                a,
                role_of(a),
                namespace=s.namespace,
                scope=self.scope,
                event_log_factory=logs,
                context_service=context_name(s),
                **agent_options(s, a, m),
            )  # fmt: skip
            for a, m in new.items()
        ]
        ray.get([h.ping.remote() for h in handles])
        self._agents |= set(new)

    def members(
        self, story: Story, task: Task | None = None
    ) -> tuple[tuple[str, ...], dict[str, str]]:
        """The council for ``story``'s ``task``: the configured members, plus devops/data when the
        task touches their areas. A member whose role the story routes to another model is played
        by its own agent ``<member>@<model>`` (agents keep one model for life)."""
        text = f"{story.title}\n{story.description}\n{task.description if task else ''}"
        chosen = members_for(self.settings.members, "\n".join([text, *story.acceptance_criteria]))
        ids, roles, spawn = [], {}, {}
        for m in chosen:
            role = role_of(m)
            model = story.models.get(role)
            agent = f"{m}@{model}" if model else m
            ids.append(agent)
            roles[agent] = role
            if model or m not in self.settings.members:
                spawn[agent] = model or self.settings.role_models.get(role) or self.settings.model
        self._spawn(spawn)
        return tuple(ids), roles

    def qa(self, members: Sequence[str]) -> RayQaTeam:
        """The QA team of these member ids (their running agent actors)."""
        names = [agent_actor_name(m, self.scope) for m in members]
        handles = [h for n in names if (h := lookup(n, self.settings.namespace)) is not None]
        return RayQaTeam(handles, timeout_s=self.settings.phase_timeout_s)

    def deliberate(
        self, story: Story, task: Task, *, deliberation_id: str, attempt: int,
        findings: Any, view: StoryView | None = None,
    ) -> Deliberation:  # fmt: skip
        """A patch council: QA's suite first, then the developers' patches judged by it."""
        self._ensure()  # the configured members exist before the QA step asks them
        s = self.settings
        options = step.CouncilOptions(
            rounds=s.rounds, settle_on_pass=s.settle_on_pass,
            phase_timeout_s=s.phase_timeout_s, qa_examples=s.qa_examples,
            debug_rounds=s.debug_rounds, distinguish=s.distinguish,
            resample_failing=s.resample_failing, critique=s.critique,
        )  # fmt: skip
        ports = step.CouncilPorts(
            log=self.log, sources=self.sources, members=self.members, qa=self.qa,
            baseline=LazyBaseline(self._evidence), council=self, clock=SystemClock(),
            options=options,
        )  # fmt: skip
        view = view if view is not None else fold(self.log.read(story.id))
        return step.deliberate(ports, story, task, view, deliberation_id=deliberation_id,
                               findings=findings or ())  # fmt: skip

    def _evidence(self) -> Any:
        supervisor(self.settings)  # created (with the fleet's sandbox) and healthy first
        return evidence_runner(self.settings)

    def run(self, request: Any) -> Deliberation:
        """One ``DeliberationRequest`` on the council actor (task councils, planning councils)."""
        try:
            return ray.get(self._ensure().deliberate.remote(request))
        except ray.exceptions.RayTaskError as exc:
            # A spent budget is the orchestrator's to handle (it parks the story), and a lost
            # quorum parks it at the error gate: re-raise the error itself, not Ray's wrapper
            # with the remote traceback in its message (the PO reads that reason).
            if isinstance(exc.cause, ControlSignal | QuorumLost):
                raise exc.cause from None
            raise


def _plain_sources(settings: OrchestratorSettings) -> StorySources:
    """Story clones with the default source checks (no sandbox needed to clone)."""
    root = data_dir(settings) / "sources"
    return StorySources(root, WorkspaceRunner(None, root=root / "tmp").prepare)  # type: ignore[arg-type]
