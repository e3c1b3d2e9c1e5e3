"""A story on a repository as users have them: a ``src/`` package with a pyproject, default
branch ``develop``. Driven through the story path in process (the orchestrator's driver, the
criteria planner, QA's acceptance suite built by ``build_suite`` and proved failing on the base in
bubblewrap, the workspace runner applying, testing, gating and committing in bubblewrap, delivery
into the user's repository). The council is one scripted developer whose patch carries QA's suite
as the council's winner does (``with_suite``); the developer's change is scripted.

What ships must read as a person's work: one generated test file per task that imports the
package (``from calc import divide``), no helper that walks the repository, and commit messages
holding the story's title and the task whole."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from actors.story_services import WorkspaceExecutor
from actors.wiring import OrchestratorSettings
from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.adapters.workspace import WorkspaceRunner
from fleet.coach import score_story
from fleet.config import load
from fleet.contracts import Deliberation, Proposal, RunContext, Story, Task
from fleet.criteria import examples, task_criteria
from fleet.evidence.acceptance import build_suite
from fleet.evidence.suite import with_suite
from fleet.lifecycle import Lifecycle
from fleet.orchestrator import commands
from fleet.orchestrator.driver import StoryDriver
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.services import Services, summary_docs
from fleet.orchestrator.view import fold
from fleet.patches.diff import make_patch
from fleet.pipeline.sources import checkout
from fleet.pipeline.suite import repo_tests
from fleet.policy import PolicyEngine
from fleet.rigor import evaluate
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

RIGOR = load("rigor.yaml")
REPO = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n\n[project]\nname = "calc"\n'
    'version = "0.1.0"\ndependencies = []\n',
    "src/calc/__init__.py": '"""A small calculator."""\n\nfrom calc.ops import add\n\n'
    '__all__ = ["add"]\n',
    "src/calc/ops.py": '"""Operations."""\n\n\ndef add(a: float, b: float) -> float:\n'
    "    return a + b\n",
    "tests/test_ops.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
STORY = Story(
    id="src-1",
    title="Division and powers for the calc package, as its users asked for them in the survey",
    description=(
        "As a user of the calc package I want calc.divide(a, b) and calc.powers.power(a, b) so "
        "that I can divide numbers and raise them to a power the way I add them."
    ),
    acceptance_criteria=("divide(6, 3) returns 2.0", "power(2, 3) returns 8"),
    rigor="L1",
)
DIVIDE = '\n\ndef divide(a: float, b: float) -> float:\n    """a / b."""\n    return a / b\n'
POWERS = (
    '"""Powers."""\n\n\ndef power(a: int, b: int) -> int:\n    """a ** b."""\n    return a**b\n'
)


def _divide(files: Mapping[str, str]) -> dict[str, str]:
    """Exported from the package: the shipped test imports ``from calc import divide``."""
    init = files["src/calc/__init__.py"]
    return {
        "src/calc/ops.py": files["src/calc/ops.py"] + DIVIDE,
        "src/calc/__init__.py": init.replace("import add\n", "import add, divide\n").replace(
            '["add"]', '["add", "divide"]'
        ),
    }


def _power(files: Mapping[str, str]) -> dict[str, str]:
    """A module of its own, not exported: ``from calc.powers import power``."""
    return {"src/calc/powers.py": POWERS}


CHANGES = {"divide": _divide, "power": _power}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "user-repo"
    for rel, text in REPO.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    _git(dest, "init", "-q", "-b", "develop")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-qm", "calc with add")
    return dest


class OneDeveloper:
    """``CouncilPort``: QA's suite for the task (built and proved failing on the base in the
    sandbox), and one developer's patch carrying it, as the council's winner does."""

    def __init__(self, log: InMemoryEventLog, executor: WorkspaceExecutor, evidence: Any) -> None:
        self.log, self.executor, self.evidence = log, executor, evidence
        self.suites: list[list[str]] = []

    def deliberate(
        self,
        story: Story,
        task: Task,
        *,
        deliberation_id: str,
        attempt: int,
        findings: Sequence[str],
    ) -> Deliberation:
        at = checkout(self.executor.sources, story, fold(self.log.read(story.id)))
        files = at.repo.files(at.commit)
        criteria = task_criteria(story, task)
        ctx = RunContext(story_id=story.id, task_id=task.id, role="qa", phase="test")
        suite, notes = build_suite(
            criteria,
            name=task.id.replace("-", "_"),
            repo_tests=repo_tests(list(files)),
            baseline=lambda s: self.evidence.baseline(
                s, source=at.repo.path, base=at.branch, context=ctx
            ),
        )
        self.suites.append(sorted(suite.files))
        [func] = {e.func for e in examples(criteria)}
        change = make_patch(at.commit, files, CHANGES[func](files), f"add {func}")
        p = Proposal(id=f"{deliberation_id}:p0:developer-1", deliberation_id=deliberation_id,
                     author="developer-1", role="developer", round=0, content=f"add {func}",
                     patch=with_suite(change, suite))  # fmt: skip
        return Deliberation(id=deliberation_id, story_id=story.id, task_id=task.id,
                            proposals=(p,), winner=p.id, rounds=0)  # fmt: skip


def _no_context(*args: Any) -> Any:
    raise AssertionError("the winner's patch applies: no model writes the change")


def _drive(tmp_path: Path, repo: Path) -> tuple[InMemoryEventLog, Any, OneDeveloper]:
    log, clock = InMemoryEventLog(), FakeClock()
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    runner = WorkspaceRunner(sandbox, root=tmp_path / "runs")
    settings = OrchestratorSettings(redis_url="redis://unused", model="scripted",
                                    data_dir=str(tmp_path / "fleet"))  # fmt: skip
    executor = WorkspaceExecutor(settings, log, ScriptedChatModel(), context=_no_context,
                                 runner=runner)  # fmt: skip
    council = OneDeveloper(log, executor, SandboxEvidence(sandbox, root=tmp_path / "evidence"))
    services = Services(score=score_story, plan=plan_from_criteria, council=council,
                        executor=executor, gate=lambda r, lvl: evaluate(r, lvl, RIGOR),
                        document=summary_docs, deliver=executor.deliver)  # fmt: skip
    commands.create_story(log, STORY.model_copy(update={"repo": str(repo)}), clock=clock)
    lifecycle = Lifecycle.from_config()
    view = None
    for _ in range(6):
        view = StoryDriver(STORY.id, log=log, services=services, lifecycle=lifecycle,
                           clock=clock).run()  # fmt: skip
        if not view.parked:
            break
        assert view.parked.gate in ("scope", "design", "acceptance"), view.parked
        commands.approve(log, STORY.id, gate=None, approved=True,
                         note=commands.PoNote(by="po"), clock=clock)  # fmt: skip
    return log, view, council


SCANS = {"rglob", "walk", "glob", "iterdir", "import_module", "listdir", "scandir"}


def _scans_the_repository(tree: ast.Module) -> list[str]:
    """What in a test module looks code up instead of importing it."""
    found = [
        f"def {n.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and not n.name.startswith("test")
    ]
    found += [
        f"call {n.func.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in SCANS
    ]
    found += [
        f"import {a.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
        if a.name in ("importlib", "pathlib", "os", "sys", "glob")
    ]
    return found


def test_a_src_layout_story_on_develop_ships_tests_that_import_the_package(tmp_path, repo):
    develop = _git(repo, "rev-parse", "develop")
    log, view, council = _drive(tmp_path, repo)
    assert view is not None and view.outcome == "done", (view and view.parked, view)

    # one task per behaviour, each with its own generated test file, proved failing on the base
    tasks = [ev.payload for _, ev in log.read(STORY.id) if ev.type == "task.planned"]
    assert [t.id for t in tasks] == ["p1-t1", "p1-t2"]
    assert sorted(council.suites) == [
        ["tests/test_p1_t1_acceptance.py"],
        ["tests/test_p1_t2_acceptance.py"],
    ]
    # the two tasks are independent: they build in either order
    reports = [ev.data for _, ev in log.read(STORY.id) if ev.type == "workspace.report"]
    assert [r["status"] for r in reports] == ["committed", "committed"], reports
    assert sorted((r["generated_tests"] for r in reports), key=str) == [
        {"imports": ["tests/test_p1_t1_acceptance.py"], "lookup": {}},
        {"imports": ["tests/test_p1_t2_acceptance.py"], "lookup": {}},
    ]

    # delivered on fleet/<story> off develop; develop untouched
    branch = f"fleet/{STORY.id}"
    assert _git(repo, "rev-parse", "develop") == develop
    assert _git(repo, "merge-base", "develop", branch) == develop
    changed = _git(repo, "diff", "--name-only", f"develop..{branch}").splitlines()
    generated = sorted(p for p in changed if p.startswith("tests/"))
    assert generated == ["tests/test_p1_t1_acceptance.py", "tests/test_p1_t2_acceptance.py"]

    # the committed tests import the package as the repository's own tests do
    wanted = {
        "tests/test_p1_t1_acceptance.py": "calc",
        "tests/test_p1_t2_acceptance.py": "calc.powers",
    }
    for path, module in wanted.items():
        source = _git(repo, "show", f"{branch}:{path}")
        tree = ast.parse(source)
        assert _scans_the_repository(tree) == [], source
        froms = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert froms == {module}, source
        assert "_find" not in source and "src." not in source, source

    # each commit message: the story's title, then the task, whole
    messages = _git(repo, "log", "--format=%B%x00", f"develop..{branch}").split("\0")
    bodies = [m.strip() for m in messages if m.strip()]
    assert len(bodies) == 2
    for task in tasks:
        [body] = [b for b in bodies if f"\n\n{task.id}: " in b]
        assert body == f"{STORY.title}\n\n{task.id}: {task.description}\n\nfleet story {STORY.id}"
        assert task.description.endswith(("divide(6, 3) returns 2.0", "power(2, 3) returns 8"))

    # and the delivered tree's tests pass as a user runs them (the package installed or not)
    check = tmp_path / "check"
    _git(tmp_path, "clone", "-q", "-b", branch, str(repo), str(check))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "pythonpath=src"],
        cwd=check, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "3 passed" in done.stdout, done.stdout + done.stderr
