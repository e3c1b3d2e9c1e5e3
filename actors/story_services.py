"""The orchestrator's real collaborators: the council actor and the workspace runner.

``RayCouncil`` asks the named council actor (which fans out to the role agents);
``WorkspaceExecutor`` has the developer's model write the change as a ``Patch`` from a context
pack of the context actor (the story, the task, findings, the repository map and the relevant
code), then the workspace runner clones the story's repository, applies the patch with
``git apply``, and builds/tests/lints it in the sandbox supervisor. Each task builds on the previous
task's committed workspace, found in the timeline, so a restart loses nothing.

Every model call of a story goes through the usage ledger: the agents and the developer's
model record ``model.usage`` events in the story's timeline and check its budgets first;
a spent budget reaches the orchestrator as ``BudgetExceeded`` (it parks the story).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

from actors.settings import OrchestratorSettings
from fleet.adapters import registry
from fleet.adapters.delivery import MAX_EVENT_DIFF, deliver, is_local, story_diff
from fleet.agents import PatchFailed
from fleet.agents.testsource import with_tests
from fleet.contracts import (
    ContextPack,
    Deliberation,
    Proposal,
    RunContext,
    Story,
    Task,
    WorkspaceReport,
)
from fleet.council.patching import developer_temperature
from fleet.errors import ControlSignal, QuorumLost, UserError
from fleet.ledger import UsageLedger
from fleet.orchestrator.implement import implement
from fleet.orchestrator.services import Execution
from fleet.orchestrator.view import fold
from fleet.ports import ChatModel, EventLog

if TYPE_CHECKING:
    from fleet.adapters.git_repo import GitRepo

MAX_DIFF_CHARS = 20_000  # of the committed diff, kept in the workspace.report event
# (story_id, role, phase, task_id, local repository, commit) -> the pack for that call
ContextSource = Callable[[str, str, str, str | None, str, str], ContextPack]
EXECUTOR_ACTOR = "executor:developer"  # names the implementation call in model.usage events
DEFAULT_PREFIX = "fleet"  # the event-log prefix of the default fleet (OrchestratorSettings.prefix)


def role_of(member: str) -> str:
    """``developer-1`` -> ``developer`` (a member id is its role plus a number)."""
    return member.split("@", 1)[0].rsplit("-", 1)[0]


class RayCouncil:
    """``CouncilPort`` over the council actor and the role agents (created on first use)."""

    def __init__(self, settings: OrchestratorSettings, log: EventLog) -> None:
        self.settings = settings
        # Agents are per fleet (their model, timeline and budgets are fixed at creation): the
        # default fleet keeps the plain names, another fleet in the namespace gets its own.
        self.scope = None if settings.prefix == DEFAULT_PREFIX else settings.prefix
        self.log = log
        self._council: Any = None
        self._agents: set[str] = set()

    def _ensure(self) -> Any:
        if self._council is None:
            from actors.council import spawn_council, supervised_evidence

            s = self.settings
            self._spawn({m: s.role_models.get(role_of(m)) or s.model for m in s.members})
            root = Path(s.data_dir or "~/.swe-fleet").expanduser() / "evidence"
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
        from actors.agent import spawn_agent

        new = {a: m for a, m in agents.items() if a not in self._agents}
        s = self.settings
        # The agents' ledgers write to (and read budgets from) this fleet's story timelines.
        logs = event_log_factory(s)
        context_actor(s)  # agents' prompts are packs from it: repository map, relevant code
        handles = [
            spawn_agent(
                a,
                role_of(a),
                namespace=s.namespace,
                scope=self.scope,
                model=m,
                llm_base_url=s.llm_base_url,
                event_log_factory=logs,
                budgets=budgets_of(s),
                context_service=context_name(s),
                chat_model_factory=scripted_factory(a, m),
                # the first developer decodes greedily (the single best guess); the others sample
                temperature=developer_temperature(a) if role_of(a) == "developer" else 0.7,
            )
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
        from fleet.council.team import members_for

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

    def deliberate(
        self, story: Story, task: Task, *, deliberation_id: str, attempt: int, findings: Any
    ) -> Deliberation:
        """A patch council: QA's suite first, then the developers' patches judged by it."""
        from actors.agent import agent_actor_name
        from actors.builder import lookup
        from actors.council_prep import retries, task_suite, where
        from fleet.council import DeliberationRequest
        from fleet.council.team import proposers
        from fleet.orchestrator.implement import task_criteria

        text = [task.description]
        if findings:
            text += ["The last attempt failed; fix:", *list(findings)[:6]]
        self._ensure()  # the configured members exist before the QA step asks them
        retry = retries(self.log, story.id, deliberation_id)
        if retry:  # the PO approved the error gate after a lost quorum: a fresh council
            deliberation_id = f"{deliberation_id}:retry{retry}"
        members, roles = self.members(story, task)
        repo, branch, commit = where(self.settings, self.log, story)
        qa = [
            h
            for m in members
            if roles[m] == "qa"
            and (h := lookup(agent_actor_name(m, self.scope), self.settings.namespace)) is not None
        ]
        suite = task_suite(
            self.settings,
            self.log,
            story,
            task,
            deliberation_id=deliberation_id,
            repo=repo,
            branch=branch,
            commit=commit,
            qa=qa,
        )
        request = DeliberationRequest(
            id=deliberation_id,
            story_id=story.id,
            task_id=task.id,
            task="\n".join(text),
            phase="build",
            members=members,
            roles=roles,
            proposers=proposers(members) or members[:1],
            rounds=self.settings.rounds,
            settle_on_pass=self.settings.settle_on_pass,
            phase_timeout_s=self.settings.phase_timeout_s,
            rule="evidence",
            seed=retry,
            suite=suite,
            source=repo,
            base=branch,
            base_commit=commit,
            acceptance=tuple(task_criteria(story, task)),
            findings=tuple(findings or ())[:6],
        )
        return self.run(request)

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


def context_name(settings: OrchestratorSettings) -> str:
    """The fleet's context actor's name (``context``; ``context-<prefix>`` for another fleet)."""
    from actors.context import ACTOR_NAME

    return ACTOR_NAME if settings.prefix == DEFAULT_PREFIX else f"{ACTOR_NAME}-{settings.prefix}"


def scripted_factory(agent: str, model: str | None) -> Any:
    """For the scripted model, developers and QA get the sample's scripted developer (it writes
    the sample's change as edit blocks) and the architect the scripted planner (task DAGs);
    None otherwise (models.yaml routing)."""
    if model != "scripted" or role_of(agent) not in ("developer", "qa", "architect"):
        return None
    from fleet.orchestrator.sample import scripted_architect, scripted_developer

    script = scripted_architect if role_of(agent) == "architect" else scripted_developer
    return partial(registry.chat_client, "scripted", script=script, name="scripted")


class WorkspaceExecutor:
    """``ExecutorPort``: the developer's model writes the change as a Patch from a context pack
    (repository map and relevant code at the base commit); the workspace runner applies it with
    ``git apply``, builds/tests/lints it in the sandbox, gates and commits it."""

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
        self._chat = (
            chat  # a given model replaces the fleet's (not a story's override); still ledgered
        )
        self._models: dict[str | None, Any] = {}  # model override (None: the fleet's) -> RoleModels
        self._ledger: UsageLedger | None = None
        self._lock = threading.Lock()  # stories are driven by concurrent threads
        self._runner: Any = runner
        self._context: ContextSource | None = context  # None: the fleet's context actor

    def ledger(self) -> UsageLedger:
        """The orchestrator's ledger, over the story timelines (shared with the agents' ledgers)."""
        from fleet.adapters.model_registry import with_budgets
        from fleet.config import load

        with self._lock:
            if self._ledger is None:
                self._ledger = UsageLedger(
                    with_budgets(load("models.yaml"), budgets_of(self.settings)), event_log=self.log
                )
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
            from actors.council import SupervisorSandbox
            from actors.sandbox import build_supervisor
            from fleet.adapters.workspace import WorkspaceRunner

            s = self.settings
            name = f"sandbox-{s.prefix}"
            ray.get(
                build_supervisor(
                    name,
                    namespace=s.namespace,
                    redis_url=s.redis_url,
                    event_prefix=s.prefix,
                    storage_patience_s=s.storage_patience_s,
                    sandbox=s.sandbox.model_dump(),
                ).check_health.remote()
            )
            self._runner = WorkspaceRunner(SupervisorSandbox(name, s.namespace), root=self._root())
        return self._runner

    def _root(self) -> Path:
        return Path(self.settings.data_dir or "~/.swe-fleet").expanduser() / "workspaces"

    def admit(self, story: Story) -> None:
        """Refuse at submit a repository the runner would refuse at its first clone (a local
        path outside the roots, a scheme or host not allowed): raises ``InvalidInput``."""
        from fleet.adapters import git_host
        from fleet.adapters.workspace_fs import default_roots

        if not story.repo:
            return
        runner = self._runner
        if runner is not None and hasattr(runner, "repo_roots"):
            roots = (*runner.repo_roots, str(runner.root))
            private = runner.allow_private_urls
        else:  # the runner this executor builds (``runner()``), without starting its sandbox
            root = self._root()
            roots, private = (*default_roots(root), str(root)), False
        git_host.check_source(story.repo, local_roots=roots, allow_private=private)

    def _source(self, story: Story) -> tuple[str, str | None]:
        """The latest committed workspace of this story, else its repository."""
        view_events = self.log.read(story.id)
        for _, event in reversed(view_events):
            if event.type == "workspace.report" and event.data.get("commit"):
                return str(event.data["workspace"]), str(event.data["branch"])
        if not story.repo:
            raise UserError(f"story {story.id} has no repository: set 'repo' to a git URL or path")
        return story.repo, story.branch

    def strategy(self, story: Story) -> str:
        """``edit`` or ``agent``: the developer's model's strategy in models.yaml."""
        from fleet.config import load

        config = load("models.yaml")
        name = (
            story.models.get("developer")
            or self.settings.role_models.get("developer")
            or self.settings.model
            or next(iter(config.routing.get("developer", config.routing.get("default", []))), "")
        )
        spec = config.models.get(name)
        return getattr(spec, "strategy", "edit")

    def _loop(
        self, story: Story, task: Task, winner: Proposal | None, pack: ContextPack,
        files: Mapping[str, str], findings: Any, commit: str,
    ) -> Any:  # fmt: skip
        """The ``agent`` strategy: a tool loop in a sandboxed copy (developer/build policy)."""
        from fleet.adapters.sandbox_workspace import SandboxWorkspace
        from fleet.orchestrator.implement import implement_in_loop

        runner = self.runner()
        ctx = RunContext(story_id=story.id, task_id=task.id, role="developer", phase="build")
        ws = SandboxWorkspace(runner.sandbox, files, context=ctx, root=runner.root)
        try:
            return implement_in_loop(self.chat(story), ws, pack, story, task, winner, files,
                                     findings, base_commit=commit)  # fmt: skip
        finally:
            ws.close()

    def _checkout(self, source: str, base: str | None) -> tuple[GitRepo, str]:
        """A local repository holding ``base`` (a clone when ``source`` is a URL), and its commit."""
        from fleet.adapters.git_repo import GitRepo

        if Path(source).is_dir():
            git = GitRepo(source)
            return git, git.commit(base or "HEAD")
        ws = self.runner().prepare(source, branch="fleet/read", base=base)
        git = GitRepo(ws)
        return git, git.commit("HEAD")

    def execute(
        self, story: Story, task: Task, winner: Proposal | None, *, attempt: int
    ) -> Execution:
        source, base = self._source(story)
        view = fold(self.log.read(story.id))
        findings = view.findings(attempt - 1) if attempt else []
        git, commit = self._checkout(source, base)
        pack = self.context()(story.id, "developer", "build", task.id, git.path, commit)
        branch = f"fleet/{story.id}/{task.id}-a{attempt}"
        # a retry's failing tests are shown with their source, big test modules included
        files = with_tests(git.files(commit), findings, lambda path: git.read(commit, path))
        try:
            if self.strategy(story) == "agent" and not (winner and winner.patch):
                patch = self._loop(story, task, winner, pack, files, findings, commit)
            else:
                patch = implement(
                    self.chat(story), pack, story, task, winner, files, findings,
                    base_commit=commit, check=git, seed=attempt,
                )  # fmt: skip
        except PatchFailed as exc:
            why = str(exc.fields.get("reason", exc))[:500]
            report = WorkspaceReport(build_ok=False, notes=(f"change rejected: {why}",))
            return Execution(report=report, data={"branch": branch, "status": "rejected",
                                                  "base_commit": commit, "reason": why})  # fmt: skip
        # One branch per task attempt, each cloned from the last committed one: history accumulates.
        ctx = RunContext(story_id=story.id, task_id=task.id, role="developer", phase="build")
        outcome = self.runner().execute(
            source,
            patch.diff,
            branch=branch,
            level=story.rigor,
            context=ctx,
            base=base,
            message=f"fleet {story.id} {task.id}: {task.description[:60]}",
        )
        report = outcome.report or WorkspaceReport(
            build_ok=False, notes=(f"change rejected: {outcome.reason}",)
        )
        data = {
            "workspace": outcome.workspace,
            "branch": branch,
            "status": outcome.status,
            "commit": outcome.commit,
            "base_commit": outcome.base_commit or commit,
            "files": list(patch.files),
            "patch": patch.diff[:MAX_DIFF_CHARS],
            "context_tokens": pack.token_count,
            "reason": outcome.reason[:500],
        }
        if outcome.commit:  # the story's change so far, for the PO (API, UI) before delivery
            data["diff"] = story_diff([*self._reports(story), data])[:MAX_EVENT_DIFF]
        return Execution(report=report, data=data)

    def _reports(self, story: Story) -> list[dict[str, Any]]:
        return [dict(e.data) for _, e in self.log.read(story.id) if e.type == "workspace.report"]

    def deliver(self, story: Story) -> dict[str, Any]:
        """The finished story's change into the user's repository (``fleet/<id>``) and a patch
        file, pushed when the story names a remote; then its workspaces are removed (unless the
        runner keeps them, or the repository is remote: the fleet's clone holds the branch)."""
        data_dir = Path(self.settings.data_dir or "~/.swe-fleet").expanduser()
        facts = deliver(
            story.id, story.repo, self._reports(story), data_dir=data_dir, push=story.push
        )
        runner = self.runner()
        if facts.get("delivered") and is_local(story.repo) and not runner.keep:
            runner.remove_story(story.id)
        return facts


def context_actor(settings: OrchestratorSettings) -> Any:
    """The fleet's context service actor (``context``; ``context-<prefix>`` for another fleet)."""
    from actors.context import ACTOR_NAME, build_context_service

    name = ACTOR_NAME if settings.prefix == DEFAULT_PREFIX else f"{ACTOR_NAME}-{settings.prefix}"
    return build_context_service(
        settings.redis_url,
        name=name,
        namespace=settings.namespace,
        graph=settings.graph,
        prefix=settings.prefix,
        storage_patience_s=settings.storage_patience_s,
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


def developer_models(
    settings: OrchestratorSettings,
    log: EventLog,
    ledger: UsageLedger,
    base: ChatModel | None = None,
) -> Any:
    """The developer's ``RoleModels``: ``base`` if given, the scripted developer (it knows the
    bundled sample's change), the named model, or models.yaml routing."""
    from fleet.adapters.model_registry import RoleModels

    model = settings.role_models.get("developer") or settings.model
    if base is None and model == "scripted":
        from fleet.orchestrator.sample import scripted_developer

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
