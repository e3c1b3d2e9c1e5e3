"""The benchmarks' shared harness: what the arms and task sets of ``bench_agents.py`` build on.

- tasks: ``BenchTask`` (a repository, a story, a judge), ``git_repo`` (a repository from files),
  ``sandbox_python`` (a judge's run in bubblewrap), ``sdist`` (a registry package's sources,
  cached; packages reserved for acceptance are refused);
- the fleet's build path for one story (``fleet_build``: executor, workspace runner, gate), with
  the serving model's tokenizer (``MODEL_PATH``, set by the entry point);
- an arm's figures (``ArmResult``, ``count``).

The entry points (``bench_agents.py``) and the arm and task modules (``council_arms``,
``vote_cost``, ``repo_tasks``, ``dev_tasks``) import this module; it imports none of them.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet.adapters.gguf_weights import model_dir
from fleet.contracts import Story, Task, TaskSpec

# the embedded default, where `make install` assembled it; the entry point sets the one in use
MODEL_PATH = str(model_dir() / "qwen2.5-coder-0.5b-instruct.gguf")
CACHE = Path.home() / ".cache" / "swe-fleet-bench"
RESERVED = {
    "inflection", "humanize", "parse", "semver", "docopt", "schema", "isodate", "jmespath",
    "pytimeparse", "python-slugify", "tabulate", "wcwidth", "boltons", "cachetools", "tinydb",
    "jsonpointer", "pathspec", "iso8601",
}  # fmt: skip


def sdist(name: str, version: str) -> dict[str, str]:
    """Path -> text of the package's source distribution (cached), from PyPI's simple index."""
    assert name not in RESERVED, f"{name} is reserved for acceptance"
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"{name}-{version}.tar.gz"
    if not target.exists():
        print(f"  fetching {name}=={version} (sdist)", flush=True)
        page = urllib.request.urlopen(f"https://pypi.org/simple/{name}/", timeout=60).read()
        norm = re.escape(name.replace("-", "_"))
        links = re.findall(rf'href="([^"#]*(?:{norm}|{re.escape(name)})-{re.escape(version)}'
                           rf'\.tar\.gz)[^"]*"', page.decode(), re.I)  # fmt: skip
        if not links:
            raise RuntimeError(f"no sdist of {name}=={version} on the index")
        target.write_bytes(urllib.request.urlopen(links[0], timeout=120).read())
    out: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(target.read_bytes())) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".py"):
                rel = member.name.split("/", 1)[1]
                out[rel] = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    return out


@dataclass
class BenchTask:
    """One problem: the repository at its base, the story, and how to judge a final tree."""

    id: str
    kind: str  # "humaneval" | "stub" | "bug" | "change"
    files: dict[str, str]
    story: Story
    judge: Callable[[Path], tuple[bool, str]]  # final tree -> (passed, detail)
    prompt: str = ""  # the plain prompt of the raw arm (humaneval)
    extra: dict[str, Any] = field(default_factory=dict)


def git_repo(files: dict[str, str], where: Path) -> Path:
    """A fresh git repository holding ``files`` in one commit on ``main``."""
    where.mkdir(parents=True)
    for rel, text in files.items():
        (where / rel).parent.mkdir(parents=True, exist_ok=True)
        # surrogate escapes: a data file that is not UTF-8 gets its own bytes back
        (where / rel).write_text(text, errors="surrogateescape")
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(
            ["git", "-C", str(where), "-c", "user.name=bench", "-c", "user.email=b@b", *cmd],
            check=True,
            capture_output=True,
        )
    return where


def sandbox_python(files: dict[str, str], argv: list[str], *, timeout_s: float = 60) -> Any:
    """Run ``python argv`` over ``files`` in bubblewrap (no network, read-only root), with the
    fleet's interpreter named where the sandbox shows it (``fleet_python``: from a worktree whose
    ``.venv`` links to the checkout's, ``sys.executable`` is under the masked /tmp and every run,
    the hidden-test judge's too, would exit 127)."""
    from fleet.adapters.bwrap_sandbox import BwrapSandbox, fleet_python

    with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
        for rel, text in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_text(text, errors="surrogateescape")
        os.chmod(tmp, 0o755)
        spec = TaskSpec(
            id=f"judge-{os.getpid()}-{time.monotonic_ns()}",
            cmd=(fleet_python(), *argv),
            workspace=tmp,
            timeout_s=timeout_s,
            env={"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/tmp/pyc"},
        )
        return BwrapSandbox().run(spec)


def task_text(story: Story) -> str:
    """The developer task's description as the story path plans it for a story without
    acceptance criteria (a bug report, a change): ``title: report``
    (``fleet.orchestrator.planning.plan_from_criteria``). A story with criteria (HumanEval, the
    stubs) keeps its title, as these benchmarks have always measured it."""
    from fleet.orchestrator.planning import plan_from_criteria

    if story.acceptance_criteria:
        return story.title
    return plan_from_criteria(story)[0].description


TASK_ID = "p1-t1"  # the story path's first planned task (``plan_from_criteria``, plan round 1)
TO_BUILD = (("BACKLOG", "DRAFT"), ("DRAFT", "DESIGN"), ("DESIGN", "BUILD"))


def story_log(task: BenchTask, repo: Path | None = None) -> tuple[Any, Any, Task]:
    """An in-memory timeline as the story path's stands when its council convenes: ``task``'s
    story (on ``repo`` when given; a bug or change marked so, as the PO marks it), its moves to
    BUILD and its one developer task. The context service reads it, the suite step and the
    council write to it: what the story path's agents see in their packs (the story's state,
    the task, the suite's failing tests, the deliberation so far)."""
    from fleet.clock import SystemClock
    from fleet.events import Envelope, make_event
    from fleet.testing.fakes import InMemoryEventLog

    update: dict[str, Any] = {"repo": str(repo)} if repo else {}
    if task.kind in ("bug", "change"):
        update["work_kind"] = task.kind
    story = task.story.model_copy(update=update)
    log, clock = InMemoryEventLog(), SystemClock()
    tk = Task(id=TASK_ID, story_id=story.id, role="developer", description=task_text(story))
    log.append(make_event(story.id, "story.created", clock=clock, payload=story))
    for n, (was, to) in enumerate(TO_BUILD):
        data = {"from": was, "to": to, "by": "orchestrator", "attempt": 0}
        log.append(make_event(story.id, "story.transition", clock=clock, data=data,
                              envelope=Envelope(actor="orchestrator", key=f"{n}:{to}")))  # fmt: skip
    log.append(make_event(story.id, "task.planned", clock=clock, payload=tk))
    return log, story, tk


def story_context(log: Any) -> Any:
    """The context service's packs over ``log`` (the story path's agents and build step get
    theirs from it: story, task, repository map, the located code first), called as an agent
    calls it: ``(story, role, phase, task, repo=path, ref=commit)``."""
    from fleet.adapters.git_repo import GitRepo
    from fleet.config import load
    from fleet.context import ContextBuilder, ContextEngine

    engine = ContextEngine(log, ContextBuilder(load("scopes.yaml"), _tokenizer()))

    def context(sid: str, role: str, phase: str, tid: str | None,
                repo: str | None = None, ref: str | None = None) -> Any:  # fmt: skip
        files = GitRepo(repo).files(ref or "HEAD") if repo else None
        return engine.pack(sid, role, phase, tid, repo=files, repo_key=ref)

    return context


def fleet_build(
    task: BenchTask,
    chat: Any,
    root: Path,
    *,
    attempts: int = 2,
    winner: Any = None,
    repo: Path | None = None,
) -> tuple[Path | None, dict[str, Any]]:
    """The fleet's build path for ``task``'s story: the committed tree (None: never committed).

    ``winner``: a council's winning proposal, applied as it is on the first attempt (its patch is
    on ``repo``'s base commit, so ``repo`` must be the repository the council worked on)."""
    from actors.story_services import WorkspaceExecutor
    from actors.wiring import OrchestratorSettings
    from fleet.adapters.audited_sandbox import AuditedSandbox
    from fleet.adapters.bwrap_sandbox import BwrapSandbox
    from fleet.adapters.workspace import Checks, WorkspaceRunner
    from fleet.clock import SystemClock
    from fleet.config import load
    from fleet.events import Envelope, make_event
    from fleet.orchestrator.view import fold
    from fleet.policy import PolicyEngine
    from fleet.rigor import evaluate

    repo = repo or git_repo(task.files, root / "repo")
    log, story, tk = story_log(task, repo)
    context, clock = story_context(log), SystemClock()
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
    # the story path's checks (300 s a step): at 120 s here, the right `take` of more-itertools
    # could not pass (its test_recipes.py takes ~150 s of CPU under coverage, over the limit)
    runner = WorkspaceRunner(sandbox, root=root / "runs", checks=Checks())
    settings = OrchestratorSettings(redis_url="redis://unused", model="scripted")
    executor = WorkspaceExecutor(settings, log, chat, context=context, runner=runner)
    info: dict[str, Any] = {"attempts": 0, "status": []}
    for attempt in range(attempts):
        execution = executor.execute(story, tk, winner if attempt == 0 else None, attempt=attempt)
        info["attempts"] += 1
        info["status"].append(execution.data.get("status"))
        info["context_tokens"] = execution.data.get("context_tokens")
        data = {**execution.data, "task_id": tk.id, "attempt": attempt}
        key = f"{tk.id}:a{attempt}"
        log.append(make_event(story.id, "workspace.report", clock=clock, payload=execution.report,
                              data=data, envelope=Envelope(key=key)))  # fmt: skip
        gate = evaluate(execution.report, story.rigor, load("rigor.yaml"))
        log.append(make_event(story.id, "gate.result", clock=clock, payload=gate,
                              data={"task_id": tk.id, "attempt": attempt},
                              envelope=Envelope(key=key)))  # fmt: skip
        if execution.data.get("status") == "committed":
            return Path(execution.data["workspace"]), info
        info["reason"] = str(execution.data.get("reason", ""))[:200]
        # what the next attempt must fix, as the orchestrator tells it (failing tests first)
        info["findings"] = fold(log.read(story.id)).findings(attempt)
    return None, info


_TOK: Any = None


def _tokenizer() -> Any:
    """The serving model's tokenizer, read from its GGUF (budgets are counted with it)."""
    global _TOK
    if _TOK is None:
        from fleet.adapters.gguf_tokenizer import GGUFTokenizer

        _TOK = GGUFTokenizer(MODEL_PATH)
    return _TOK


# ----------------------------------------------------------------------------- arms


@dataclass
class ArmResult:
    passed: dict[str, int] = field(default_factory=dict)  # kind -> passed
    total: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    seconds: float = 0.0
    located: dict[str, bool] = field(default_factory=dict)  # bug/change task -> edited the target
    repo_minutes: list[float] = field(default_factory=list)  # wall time per repository task


def count(res: ArmResult, task: BenchTask, ok: bool) -> None:
    res.total[task.kind] = res.total.get(task.kind, 0) + 1
    res.passed[task.kind] = res.passed.get(task.kind, 0) + int(ok)
