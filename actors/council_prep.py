"""What a story task's council needs before it starts: where the code is, and QA's evidence suite.

``where`` finds the code the task builds on exactly as the executor does (the story's latest
committed workspace, else its repository; a URL is cloned once), so the council's patches are
diffs against the very commit the executor applies the winner to. ``task_suite`` has QA write the
acceptance tests first (``fleet/evidence/acceptance.py``), runs them on the base commit through
the sandbox supervisor, keeps those that fail there, and stores the suite in a checkpoint keyed by
the deliberation id, so a retried council is asked the identical question.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray

from actors.wiring import OrchestratorSettings
from fleet.agents.stubs import named
from fleet.contracts import RunContext, Story, Task
from fleet.council import Brief
from fleet.errors import UserError, VersionConflict
from fleet.events import make_event
from fleet.evidence import EvidenceSuite
from fleet.evidence.acceptance import build_suite, names_of_tests
from fleet.fakes import SystemClock
from fleet.orchestrator.implement import task_criteria
from fleet.ports import EventLog

SUITE_KEY = "suite:{}"


def source_of(log: EventLog, story: Story) -> tuple[str, str | None]:
    """The latest committed workspace of this story (path, branch), else its repository."""
    for _, event in reversed(log.read(story.id)):
        if event.type == "workspace.report" and event.data.get("commit"):
            return str(event.data["workspace"]), str(event.data["branch"])
    if not story.repo:
        raise UserError(f"story {story.id} has no repository: set 'repo' to a git URL or path")
    return story.repo, story.branch


def where(
    settings: OrchestratorSettings, log: EventLog, story: Story
) -> tuple[str, str | None, str]:
    """(local repository, branch (None: its default branch), commit) the patches are made against."""
    from fleet.adapters.git_repo import GitRepo
    from fleet.adapters.workspace import WorkspaceRunner

    source, base = source_of(log, story)
    if not Path(source).is_dir():  # a URL: one local clone per (URL, branch)
        root = Path(settings.data_dir or "~/.swe-fleet").expanduser() / "council-sources"
        name = hashlib.sha256(f"{source}@{base}".encode()).hexdigest()[:12]
        local = root / name
        if not local.is_dir():
            ws = WorkspaceRunner(None, root=root).prepare(  # type: ignore[arg-type]
                source, branch="fleet/read", base=base
            )
            ws.rename(local)
        source, base = str(local), "fleet/read"
    git = GitRepo(source)
    commit = git.commit(base or "HEAD")
    return source, base, commit


def _repo_tests(files: Sequence[str]) -> list[str]:
    return sorted(
        p
        for p in files
        if p.endswith(".py")
        and (p.rsplit("/", 1)[-1].startswith("test_") or p.endswith("_test.py"))
    )


def task_suite(
    settings: OrchestratorSettings,
    log: EventLog,
    story: Story,
    task: Task,
    *,
    deliberation_id: str,
    repo: str,
    branch: str | None,
    commit: str,
    qa: Sequence[Any] = (),
) -> EvidenceSuite:
    """QA's evidence suite for ``task`` (stored, so a retried council reuses the same suite).

    ``qa``: agent actor handles of the council's QA members (their ``write_tests``)."""
    key = SUITE_KEY.format(deliberation_id)
    _, stored = log.checkpoint_get(key)
    if stored:
        return EvidenceSuite.model_validate(stored["suite"])
    from actors.council import supervised_evidence
    from actors.sandbox import build_supervisor
    from fleet.adapters.git_repo import GitRepo

    supervisor = f"sandbox-{settings.prefix}"
    ray.get(
        build_supervisor(
            supervisor,
            namespace=settings.namespace,
            redis_url=settings.redis_url,
            event_prefix=settings.prefix,
            storage_patience_s=settings.storage_patience_s,
        ).check_health.remote()
    )
    root = Path(settings.data_dir or "~/.swe-fleet").expanduser() / "evidence"
    runner = supervised_evidence(
        supervisor,
        namespace=settings.namespace,
        root=str(root),
        envs_root=str(root.parent / "workspaces"),
    )
    files = GitRepo(repo).files(commit)
    ctx = RunContext(story_id=story.id, task_id=task.id, role="qa", phase="test")
    brief = Brief(
        deliberation_id=deliberation_id,
        story_id=story.id,
        task_id=task.id,
        task=f"{story.title}\n{task.description}",
        phase="build",
        round=0,
        step="propose",
        source=repo,
        base=branch,
        base_commit=commit,
    )

    def write(prose: Sequence[str]) -> dict[str, str]:
        """Every QA member's candidate test file, written concurrently (one per member); a
        member whose model fails adds nothing (the others' candidates still count)."""
        out: dict[str, str] = {}
        refs = [handle.write_tests.remote(brief, tuple(prose)) for handle in qa]
        for ref in refs:
            try:
                got = ray.get(ref, timeout=settings.phase_timeout_s)
            except Exception as exc:  # noqa: BLE001 - a QA candidate is optional evidence
                notes.append(f"a QA member wrote no tests: {type(exc).__name__}")
                continue
            if isinstance(got, dict):
                out.update({p: t for p, t in got.items() if p not in files})
        return out

    def cases(criteria: Sequence[str]) -> list[str]:
        """Every QA member's own examples, written concurrently (advisory evidence tests)."""
        refs = [handle.write_examples.remote(brief, tuple(criteria)) for handle in qa]
        out: list[str] = []
        for ref in refs:
            try:
                got = ray.get(ref, timeout=settings.phase_timeout_s)
            except Exception as exc:  # noqa: BLE001 - optional evidence, like a QA test file
                notes.append(f"a QA member wrote no examples: {type(exc).__name__}")
                continue
            if isinstance(got, list):
                out += [c for c in got if isinstance(c, str) and c not in out]
        return out

    notes: list[str] = []
    name = "".join(ch if ch.isalnum() else "_" for ch in task.id).lower()
    suite, built = build_suite(
        task_criteria(story, task),
        name=name,
        repo_tests=_repo_tests(list(files)),
        qa=write if qa else None,
        baseline=lambda s: runner.baseline(s, source=repo, base=branch, context=ctx),
        signatures=[s.head for s in named(files, f"{story.title}\n{task.description}")],
        qa_examples=cases if qa and settings.qa_examples else None,
    )
    notes += built
    suite = suite.model_copy(
        update={
            "files": {p: t for p, t in suite.files.items() if p not in files},
            "probes": {p: t for p, t in suite.probes.items() if p not in files},
        }
    )
    try:
        log.checkpoint_put(key, {"suite": suite.model_dump(mode="json")}, expected_version=0)
    except VersionConflict:  # another attempt stored it first: everyone uses that one
        stored = log.checkpoint_get(key)[1]
        if stored is None:
            raise
        return EvidenceSuite.model_validate(stored["suite"])
    tests = {p: names_of_tests(t) or [] for p, t in suite.files.items()}
    data = {
        "deliberation_id": deliberation_id,
        "files": sorted(suite.files),
        "tests": [f"{p}::{n}" for p, names in tests.items() for n in names],
        "trusted": list(suite.trusted),
        "probes": sorted(suite.probes),
        "notes": notes[:20],
    }
    log.append(
        make_event(
            story.id,
            "council.suite",
            clock=SystemClock(),
            data=data,
            actor="qa",
            key=deliberation_id,
        )
    )
    return suite


def retries(log: EventLog, story_id: str, deliberation_id: str) -> int:
    """How many times the PO approved the ``error`` gate after this task attempt's council lost
    its quorum: each approval asks for a fresh council (new id, new seeds) instead of the
    checkpointed ``quorum_lost``, which would otherwise be re-raised forever."""
    lost, n = False, 0
    for _, event in log.read(story_id):
        if event.type == "council.quorum_lost":
            lost = lost or str(event.data.get("deliberation_id", "")).startswith(deliberation_id)
        elif (
            event.type == "story.approved"
            and lost
            and event.data.get("gate") == "error"
            and event.data.get("approved", True)
        ):
            n, lost = n + 1, False
    return n
