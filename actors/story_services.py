"""The orchestrator's real collaborators: the council actor and the workspace runner.

``RayCouncil`` (:mod:`actors.story_council`) hosts the pipeline's council step;
``WorkspaceExecutor`` hosts its apply, gate and deliver steps (:mod:`fleet.pipeline.apply`):
the developer's model, the context actor's packs and the workspace runner in the sandbox
supervisor are its ports, created on first use.

Every model call of a story goes through the usage ledger: the agents and the developer's
model record ``model.usage`` events in the story's timeline and check its budgets first;
a spent budget reaches the orchestrator as ``BudgetExceeded`` (it parks the story).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import ray

from actors.parts import (
    EXECUTOR_ACTOR,
    budgets_of,
    context_actor,
    data_dir,
    developer_model,
    developer_models,
    event_log_factory,
    supervisor,
)
from actors.settings import OrchestratorSettings
from actors.story_council import RayCouncil
from actors.story_ports import RunnerWorkspace, StorySources
from actors.supervised import SupervisorSandbox
from fleet.adapters import git_host
from fleet.adapters.delivery import MAX_EVENT_DIFF, deliver, is_local, story_diff
from fleet.adapters.model_registry import with_budgets
from fleet.adapters.sandbox_workspace import SandboxWorkspace
from fleet.adapters.workspace import WorkspaceRunner
from fleet.adapters.workspace_fs import default_roots
from fleet.config import ModelProfile, load
from fleet.contracts import ContextPack, Proposal, RunContext, Story, Task
from fleet.ledger import UsageLedger
from fleet.orchestrator.services import Execution
from fleet.orchestrator.view import StoryView, fold
from fleet.pipeline import apply as step
from fleet.pipeline.ports import ContextSource
from fleet.ports import ChatModel, EventLog
from fleet.rigor import evaluate

__all__ = ["EXECUTOR_ACTOR", "RayCouncil", "WorkspaceExecutor", "event_log_factory"]


class WorkspaceExecutor:
    """``ExecutorPort``: the council's winner (or the developer model's change, from a context
    pack) applied with ``git apply``, built/tested/linted in the sandbox, gated, committed."""

    def __init__(
        self,
        settings: OrchestratorSettings,
        log: EventLog,
        chat: ChatModel | None = None,
        *,
        context: ContextSource | None = None,
        runner: Any = None,
    ) -> None:
        self.settings = settings
        self.log = log
        self._chat = chat  # a given model replaces the fleet's (not a story's override)
        self._models: dict[str | None, Any] = {}  # model override (None: the fleet's) -> RoleModels
        self._ledger: UsageLedger | None = None
        self._lock = threading.Lock()  # stories are driven by concurrent threads
        self._runner: Any = runner
        self._context: ContextSource | None = context  # None: the fleet's context actor
        root = data_dir(settings) / "sources"  # one clone of a remote repository per story
        self.sources = StorySources(root, lambda *a, **kw: self.runner().prepare(*a, **kw))

    def ledger(self) -> UsageLedger:
        """The orchestrator's ledger, over the story timelines (shared with the agents' ledgers)."""
        with self._lock:
            if self._ledger is None:
                budgets = with_budgets(load("models.yaml"), budgets_of(self.settings))
                self._ledger = UsageLedger(budgets, event_log=self.log)
            return self._ledger

    def chat(self, story: Story | None = None) -> ChatModel:
        """The developer's model for ``story`` (its override, else the fleet's): routed, checked
        against the story's budgets and recorded as ``model.usage`` in its timeline."""
        override = story.models.get("developer") if story else None
        ledger = self.ledger()
        with self._lock:
            if override not in self._models:
                settings = self.settings
                if override:
                    settings = settings.model_copy(update={"model": override, "role_models": {}})
                base = self._chat if override is None else None
                self._models[override] = developer_models(settings, self.log, ledger, base=base)
            models = self._models[override]
        return models.for_story(story.id if story else None)

    def context(self) -> ContextSource:
        """Packs from the fleet's context actor (created on first use, shared by the fleet)."""
        if self._context is None:
            actor = context_actor(self.settings)

            def pack(
                story_id: str, role: str, phase: str, task_id: str | None, repo: str, ref: str
            ) -> ContextPack:
                return ray.get(actor.pack.remote(story_id, role, phase, task_id, repo, ref))

            self._context = pack
        return self._context

    def runner(self) -> Any:
        if self._runner is None:
            name = supervisor(self.settings)
            root = data_dir(self.settings) / "workspaces"
            self._runner = WorkspaceRunner(
                SupervisorSandbox(name, self.settings.namespace), root=root
            )
        return self._runner

    def admit(self, story: Story) -> None:
        """Refuse at submit a repository the runner would refuse at its first clone (a local
        path outside the roots, a scheme or host not allowed): raises ``InvalidInput``."""
        if not story.repo:
            return
        runner = self._runner
        if runner is not None and hasattr(runner, "repo_roots"):
            roots = (*runner.repo_roots, str(runner.root))
            private = runner.allow_private_urls
        else:  # the runner this executor builds (``runner()``), without starting its sandbox
            root = data_dir(self.settings) / "workspaces"
            roots, private = (*default_roots(root), str(root)), False
        git_host.check_source(story.repo, local_roots=roots, allow_private=private)

    def strategy(self, story: Story) -> str:
        """``edit`` or ``agent``: the developer's model's strategy in models.yaml."""
        config, name = developer_model(self.settings, story.models)
        return getattr(config.models.get(name), "strategy", "edit")

    def profile(self, story: Story) -> ModelProfile:
        """The developer's model's profile in models.yaml (its quirks: docs/models.md)."""
        config, name = developer_model(self.settings, story.models)
        return config.profile_of(name)

    def _loop_box(self, files: Mapping[str, str], ctx: RunContext) -> Any:
        runner = self.runner()
        return SandboxWorkspace(runner.sandbox, files, context=ctx, root=runner.root)

    def ports(self) -> step.ApplyPorts:
        """The apply step's ports: this executor's model, context, runner and gate."""
        runner = self.runner()
        return step.ApplyPorts(
            sources=self.sources, context=self.context(), chat=self.chat,
            strategy=self.strategy, loop_box=self._loop_box, workspace=RunnerWorkspace(runner),
            profile=self.profile,
            gate=partial(_gate, config=runner.rigor),
            story_diff=lambda runs: story_diff(runs)[:MAX_EVENT_DIFF],
        )  # fmt: skip

    def execute(
        self, story: Story, task: Task, winner: Proposal | None, *, attempt: int,
        view: StoryView | None = None,
    ) -> Execution:  # fmt: skip
        """The task attempt's change, checked, gated and committed (``view``: the story's
        folded timeline; folded here when not given)."""
        view = view if view is not None else fold(self.log.read(story.id))
        return step.execute(self.ports(), story, task, winner, view, attempt=attempt)

    def deliver(self, story: Story, view: StoryView | None = None) -> dict[str, Any]:
        """The finished story's change into the user's repository (``fleet/<id>``) and a patch
        file, pushed when the story names a remote; then its workspaces are removed (unless the
        runner keeps them, or the repository is remote: the fleet's clone holds the branch)."""
        view = view if view is not None else fold(self.log.read(story.id))
        facts = step.deliver(
            story, view, deliver_runs=partial(self._deliver, data_dir(self.settings))
        )
        runner = self.runner()
        if facts.get("delivered") and is_local(story.repo) and not runner.keep:
            runner.remove_story(story.id)
        return facts

    @staticmethod
    def _deliver(where: Path, story: Story, runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return deliver(story.id, story.repo, list(runs), data_dir=where, push=story.push)


def _gate(report: Any, level: str, *, config: Any) -> Any:
    return evaluate(report, level, config)
