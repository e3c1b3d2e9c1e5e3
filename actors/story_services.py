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


def role_of(member: str) -> str:
    """``developer-1`` -> ``developer`` (a member id is its role plus a number)."""
    return member.split("@", 1)[0].rsplit("-", 1)[0]


class RayCouncil:
    """``CouncilPort`` over the council actor and the role agents (created on first use)."""

    def __init__(self, settings: OrchestratorSettings, log: EventLog) -> None:
        self.settings = settings
        self._council: Any = None
        self._agents: set[str] = set()

    def _ensure(self) -> Any:
        if self._council is None:
            from actors.council import spawn_council
            from fleet.adapters.redis_events import RedisEventLog

            s = self.settings
            self._spawn({m: s.role_models.get(role_of(m)) or s.model for m in s.members})
            self._council = spawn_council(partial(RedisEventLog, s.redis_url, prefix=s.prefix),
                                          name=f"council-{s.prefix}", namespace=s.namespace)
        return self._council

    def _spawn(self, agents: dict[str, str | None]) -> None:
        """Create the agent actors not created yet (agent id -> model, None: models.yaml routing)."""
        from actors.agent import spawn_agent

        new = {a: m for a, m in agents.items() if a not in self._agents}
        s = self.settings
        handles = [spawn_agent(a, role_of(a), namespace=s.namespace, model=m, llm_base_url=s.llm_base_url)
                   for a, m in new.items()]
        ray.get([h.ping.remote() for h in handles])
        self._agents |= set(new)

    def members(self, story: Story) -> tuple[tuple[str, ...], dict[str, str]]:
        """The council for ``story``: a member whose role the story routes to another model is
        played by its own agent ``<member>@<model>`` (agents keep one model for life)."""
        ids, roles, spawn = [], {}, {}
        for m in self.settings.members:
            role = role_of(m)
            model = story.models.get(role)
            agent = f"{m}@{model}" if model else m
            ids.append(agent)
            roles[agent] = role
            if model:
                spawn[agent] = model
        self._spawn(spawn)
        return tuple(ids), roles

    def deliberate(self, story: Story, task: Task, *, deliberation_id: str, attempt: int,
                   findings: Any) -> Deliberation:
        from fleet.council import DeliberationRequest

        text = [task.description, *(f"Acceptance: {c}" for c in story.acceptance_criteria)]
        if findings:
            text += ["The last attempt failed; fix:", *list(findings)[:6]]
        council = self._ensure()
        members, roles = self.members(story)
        request = DeliberationRequest(
            id=deliberation_id, story_id=story.id, task_id=task.id, task="\n".join(text),
            phase="build", members=members, roles=roles, rounds=self.settings.rounds,
            phase_timeout_s=self.settings.phase_timeout_s,
        )
        return ray.get(council.deliberate.remote(request))


class WorkspaceExecutor:
    """``ExecutorPort``: model writes the change; the workspace runner checks it in the sandbox."""

    def __init__(self, settings: OrchestratorSettings, log: EventLog, chat: ChatModel | None = None) -> None:
        self.settings = settings
        self.log = log
        self._chat = chat
        self._chats: dict[str, ChatModel] = {}
        self._runner: Any = None

    def chat(self, story: Story | None = None) -> ChatModel:
        """The developer's model: the story's override, else the fleet's."""
        override = story.models.get("developer") if story else None
        if override:
            if override not in self._chats:
                self._chats[override] = developer_model(
                    self.settings.model_copy(update={"model": override, "role_models": {}}))
            return self._chats[override]
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
        change = implement(self.chat(story), story, task, winner, files, findings, seed=attempt)
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
