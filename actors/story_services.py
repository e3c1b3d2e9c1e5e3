"""The orchestrator's real collaborators: the council actor and the workspace runner.

``RayCouncil`` asks the named council actor (which fans out to the role agents);
``WorkspaceExecutor`` has the developer's model write the winning change as whole
files, then the workspace runner clones the story's repository, applies it, and
builds/tests/lints it in the sandbox supervisor. Each task builds on the previous
task's committed workspace, found in the timeline, so a restart loses nothing.
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import ray

from actors.wiring import OrchestratorSettings
from fleet.contracts import Deliberation, Proposal, RunContext, Story, Task, WorkspaceReport
from fleet.errors import UserError
from fleet.orchestrator.implement import implement
from fleet.orchestrator.services import Execution
from fleet.orchestrator.view import fold
from fleet.ports import ChatModel, EventLog

MAX_REPO_FILES = 12


class RayCouncil:
    """``CouncilPort`` over the council actor and the role agents (created on first use)."""

    def __init__(self, settings: OrchestratorSettings, log: EventLog) -> None:
        self.settings = settings
        self._council: Any = None

    def _ensure(self) -> Any:
        if self._council is None:
            from actors.agent import spawn_agent
            from actors.council import spawn_council
            from fleet.adapters.redis_events import RedisEventLog

            s = self.settings
            handles = [spawn_agent(m, namespace=s.namespace, model=s.model, llm_base_url=s.llm_base_url)
                       for m in s.members]
            ray.get([h.ping.remote() for h in handles])
            self._council = spawn_council(partial(RedisEventLog, s.redis_url, prefix=s.prefix),
                                          name=f"council-{s.prefix}", namespace=s.namespace)
        return self._council

    def deliberate(self, story: Story, task: Task, *, deliberation_id: str, attempt: int,
                   findings: Any) -> Deliberation:
        from fleet.council import DeliberationRequest

        text = [task.description, *(f"Acceptance: {c}" for c in story.acceptance_criteria)]
        if findings:
            text += ["The last attempt failed; fix:", *list(findings)[:6]]
        request = DeliberationRequest(
            id=deliberation_id, story_id=story.id, task_id=task.id, task="\n".join(text),
            phase="build", members=self.settings.members, rounds=self.settings.rounds,
            phase_timeout_s=self.settings.phase_timeout_s,
        )
        return ray.get(self._ensure().deliberate.remote(request))


class WorkspaceExecutor:
    """``ExecutorPort``: model writes the change; the workspace runner checks it in the sandbox."""

    def __init__(self, settings: OrchestratorSettings, log: EventLog, chat: ChatModel | None = None) -> None:
        self.settings = settings
        self.log = log
        self._chat = chat
        self._runner: Any = None

    def chat(self) -> ChatModel:
        if self._chat is None:
            self._chat = developer_model(self.settings)
        return self._chat

    def runner(self) -> Any:
        if self._runner is None:
            from actors.council import SupervisorSandbox
            from actors.sandbox import build_supervisor
            from fleet.adapters.workspace import WorkspaceRunner

            s = self.settings
            name = f"sandbox-{s.prefix}"
            ray.get(build_supervisor(name, namespace=s.namespace, redis_url=s.redis_url,
                                     event_prefix=s.prefix).check_health.remote())
            self._runner = WorkspaceRunner(SupervisorSandbox(name, s.namespace),
                                           root=Path(s.data_dir or "~/.swe-fleet").expanduser() / "workspaces")
        return self._runner

    def _source(self, story: Story) -> tuple[str, str | None]:
        """The latest committed workspace of this story, else its repository."""
        view_events = self.log.read(story.id)
        for _, event in reversed(view_events):
            if event.type == "workspace.report" and event.data.get("commit"):
                return str(event.data["workspace"]), str(event.data["branch"])
        if not story.repo:
            raise UserError(f"story {story.id} has no repository: set 'repo' to a git URL or path")
        return story.repo, story.branch

    def execute(self, story: Story, task: Task, winner: Proposal | None, *, attempt: int) -> Execution:
        source, base = self._source(story)
        view = fold(self.log.read(story.id))
        findings = view.findings(attempt - 1) if attempt else []
        files = repo_files(source, base)
        change = implement(self.chat(), story, task, winner, files, findings, seed=attempt)
        # One branch per task attempt, each cloned from the last committed one: history accumulates.
        branch = f"fleet/{story.id}/{task.id}-a{attempt}"
        ctx = RunContext(story_id=story.id, task_id=task.id, role="developer", phase="build")
        outcome = self.runner().execute(source, change, branch=branch, level=story.rigor, context=ctx,
                                        base=base, message=f"fleet {story.id} {task.id}: {task.description[:60]}")
        report = outcome.report or WorkspaceReport(build_ok=False, notes=(f"change rejected: {outcome.reason}",))
        data = {"workspace": outcome.workspace, "branch": branch, "status": outcome.status,
                "commit": outcome.commit, "files": sorted(change), "reason": outcome.reason[:500]}
        return Execution(report=report, data=data)


def developer_model(settings: OrchestratorSettings) -> ChatModel:
    """The developer's model; the scripted one knows the bundled sample's change."""
    model = settings.role_models.get("developer") or settings.model
    if model == "scripted":
        from fleet.fakes import ScriptedChatModel
        from fleet.orchestrator.sample import scripted_developer

        return ScriptedChatModel(script=scripted_developer, name="scripted")
    from fleet.adapters.model_registry import build_chat_model, chat_model_for_role
    from fleet.config import load

    models = load("models.yaml")
    if model:
        return build_chat_model(models, model, llm_base_url=settings.llm_base_url)
    return chat_model_for_role(models, "developer", llm_base_url=settings.llm_base_url)


def repo_files(source: str, branch: str | None) -> dict[str, str]:
    """Small text files of the repository at ``branch`` (what the developer's model sees)."""
    ref = branch or "HEAD"
    try:
        names = subprocess.run(["git", "-C", source, "ls-tree", "-r", "--name-only", ref], check=True,
                               capture_output=True, text=True, timeout=30).stdout.split()
    except (subprocess.SubprocessError, OSError):
        return {}  # a remote URL: the model works from the story alone
    out: dict[str, str] = {}
    for name in [n for n in names if n.endswith(".py")][:MAX_REPO_FILES]:
        shown = subprocess.run(["git", "-C", source, "show", f"{ref}:{name}"], capture_output=True,
                               text=True, timeout=30)
        if shown.returncode == 0 and len(shown.stdout) < 4_000:
            out[name] = shown.stdout
    return out
