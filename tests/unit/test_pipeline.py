"""The build pipeline (fleet/pipeline) over a real git repository and simple ports: the winner is
applied as it is (no context pack, no model call), the gate is evaluated once and its verdict
decides the commit, and the orchestrator's driver hands the folded view on instead of re-reading."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleet.adapters.git_repo import GitRepo
from fleet.coach import score_story
from fleet.config import load
from fleet.contracts import Deliberation, Patch, Proposal, Story, Task, WorkspaceReport
from fleet.lifecycle import Lifecycle
from fleet.orchestrator import commands
from fleet.orchestrator.driver import StoryDriver
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.services import Execution, Services, summary_docs
from fleet.orchestrator.view import StoryView, fold
from fleet.patches import make_patch
from fleet.pipeline import apply as step
from fleet.pipeline.ports import Checked, Checkout
from fleet.rigor import evaluate
from fleet.testing.fakes import FakeClock, InMemoryEventLog

RIGOR = load("rigor.yaml")
PASSING = WorkspaceReport(build_ok=True, unit_passed=5, coverage=90.0)
FAILING = WorkspaceReport(build_ok=True, unit_passed=1, unit_failed=4, coverage=10.0)
OPS = "def add(a, b):\n    return a + b\n"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "calc").mkdir(parents=True)
    (repo / "calc" / "ops.py").write_text(OPS)
    _git(repo.parent, "init", "-q", "-b", "main", str(repo))
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "base")
    return repo


class Sources:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def checkout(self, story_id: str, source: str, base: str | None) -> Checkout:
        self.calls.append((story_id, source, base))
        git = GitRepo(source)
        return Checkout(git, base, git.commit(base or "HEAD"))


class Workspace:
    """Records the runner calls; ``report`` is what the sandbox's checks found."""

    def __init__(self, report: WorkspaceReport | None, *, rejected: str = "") -> None:
        self.report, self.rejected, self.keep = report, rejected, False
        self.changes: list[str] = []
        self.commits: list[str] = []
        self.removed: list[str] = []

    def check_change(self, source, change, *, branch, context, base) -> Checked:
        self.changes.append(change)
        ws = f"/runs/ws-{len(self.changes)}"
        return Checked(ws, "c0ffee", rejected=self.rejected, report=self.report,
                       failing=("tests/test_ops.py::test_add",) if self.report else ())  # fmt: skip

    def commit(self, ws: Path, message: str) -> str:
        self.commits.append(message)
        return f"sha{len(self.commits)}"

    def remove(self, ws) -> None:
        self.removed.append(str(ws))


def _ports(workspace: Workspace, gates: list[WorkspaceReport]) -> step.ApplyPorts:
    def unused(*args, **kwargs):
        raise AssertionError("the winner's patch applies: no context pack, no model")

    def gate(report: WorkspaceReport, level: str):
        gates.append(report)
        return evaluate(report, level, RIGOR)

    return step.ApplyPorts(sources=Sources(), context=unused, chat=unused, strategy=unused,
                           loop_box=unused, workspace=workspace, gate=gate,
                           story_diff=lambda runs: f"{len(runs)} runs")  # fmt: skip


def _winner(repo: Path) -> tuple[Story, Task, Proposal]:
    story = Story(id="s1", title="Subtract", repo=str(repo), rigor="L1",
                  acceptance_criteria=("subtract(3, 1) returns 2",))  # fmt: skip
    task = Task(id="T1", story_id="s1", role="developer", description="Subtract")
    base = GitRepo(repo).commit("HEAD")
    new = {"calc/ops.py": OPS + "\n\ndef subtract(a, b):\n    return a - b\n"}
    patch: Patch = make_patch(base, {"calc/ops.py": OPS}, new, "subtract")
    proposal = Proposal(id="d.p", deliberation_id="d", author="developer-1", role="developer",
                        content="subtract", patch=patch)  # fmt: skip
    return story, task, proposal


def test_the_winning_patch_is_applied_as_it_is_gated_once_and_committed(repo):
    story, task, winner = _winner(repo)
    workspace, gates = Workspace(PASSING), []
    view = StoryView(story=story)
    out = step.execute(_ports(workspace, gates), story, task, winner, view, attempt=0)
    assert workspace.changes == [winner.patch.diff]  # exactly what the council chose
    assert len(gates) == 1 and workspace.commits and not workspace.removed
    data = out.data
    assert data["status"] == "committed" and data["commit"] == "sha1"
    assert data["context_tokens"] == 0 and data["gate"]["verdict"] in ("pass", "warn")
    assert data["test_infra"] == []
    assert data["diff"] == "1 runs" and data["reason"].endswith(
        "failing test tests/test_ops.py::test_add"
    )


def test_a_blocked_change_is_discarded_and_a_rejected_one_is_judged_once_too(repo):
    story, task, winner = _winner(repo)
    blocked, gates = Workspace(FAILING), []
    out = step.execute(_ports(blocked, gates), story, task, winner, StoryView(story=story),
                       attempt=0)  # fmt: skip
    assert out.data["status"] == "checked" and out.data["commit"] is None
    assert blocked.removed == ["/runs/ws-1"] and not blocked.commits and len(gates) == 1
    assert out.data["gate"]["verdict"] == "block" and "diff" not in out.data
    rejected, gates = Workspace(None, rejected="patch does not apply"), []
    out = step.execute(_ports(rejected, gates), story, task, winner, StoryView(story=story),
                       attempt=0)  # fmt: skip
    assert out.data["status"] == "rejected" and rejected.removed and len(gates) == 1
    assert out.report.notes == ("change rejected: patch does not apply",)


def test_a_task_builds_on_the_last_committed_run_of_the_view(repo, tmp_path):
    story, task, winner = _winner(repo)
    view = StoryView(story=story)
    view.workspaces.append({"workspace": str(repo), "branch": "main", "commit": "abc"})
    ports = _ports(Workspace(PASSING), [])
    step.execute(ports, story, task, winner, view, attempt=0)
    assert ports.sources.calls == [("s1", str(repo), "main")]  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="has no repository"):
        step.execute(ports, story.model_copy(update={"repo": None}), task, winner,
                     StoryView(story=story), attempt=0)  # fmt: skip


GOOD = Story(
    id="s1",
    title="Add a slugify helper to the text utilities",
    description="As a blog author I want titles turned into URL slugs so that links are readable.",
    acceptance_criteria=(
        "slugify('Hello World') returns 'hello-world'",
        "slugify strips characters that are not letters, digits or dashes",
    ),
    rigor="L1",
)


class ViewCouncil:
    def __init__(self) -> None:
        self.views: list[StoryView] = []

    def deliberate(self, story, task, *, deliberation_id, attempt, findings, view=None):
        self.views.append(view)
        p = Proposal(id=f"{deliberation_id}.p", deliberation_id=deliberation_id,
                     author="developer-1", role="developer", content="do it")  # fmt: skip
        return Deliberation(id=deliberation_id, story_id=story.id, task_id=task.id,
                            proposals=(p,), winner=p.id, rounds=1)  # fmt: skip


class ViewExecutor:
    """Commits every task and judges its report itself, as the pipeline does."""

    def __init__(self) -> None:
        self.sources: list[tuple[str, tuple[str, str] | None]] = []

    def execute(self, story, task, winner, *, attempt, view=None):
        self.sources.append((task.id, view.source()))
        gate = evaluate(PASSING, story.rigor, RIGOR).model_dump(mode="json")
        data = {
            "workspace": f"/ws/{task.id}",
            "branch": f"b-{task.id}",
            "commit": "c",
            "gate": gate,
        }
        return Execution(report=PASSING, data=data)


def test_the_driver_passes_its_view_on_and_records_the_gate_the_build_step_judged():
    log, clock = InMemoryEventLog(), FakeClock()
    judged: list[WorkspaceReport] = []
    council, executor = ViewCouncil(), ViewExecutor()
    services = Services(score=score_story, plan=plan_from_criteria, council=council,
                        executor=executor, gate=lambda r, lvl: judged.append(r),
                        document=summary_docs)  # type: ignore[arg-type]  # fmt: skip
    commands.create_story(log, GOOD, clock=clock)
    lifecycle = Lifecycle.from_config()
    for _ in range(6):
        view = StoryDriver("s1", log=log, services=services, lifecycle=lifecycle,
                           clock=clock).run()  # fmt: skip
        if not view.parked:
            break
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )
    assert view.outcome == "done"
    assert judged == []  # the TEST step used the build step's gate: one evaluation per report
    events = [e for _, e in log.read("s1")]
    gates = [e for e in events if e.type == "gate.result"]
    assert len(gates) == 2 and all(e.payload.verdict == "pass" for e in gates)
    assert all(isinstance(v, StoryView) for v in council.views) and len(council.views) == 2
    # two parallel tasks, their workspace runs in turn: the second builds on the first's commit
    (first, before), (_, after) = executor.sources
    assert before is None and after == (f"/ws/{first}", f"b-{first}")
    assert fold(log.read("s1")).judged.keys() == {("p1-t1", 0), ("p1-t2", 0)}


def test_the_commit_message_is_the_story_title_and_the_task_whole(repo):
    story, task, winner = _winner(repo)
    long = "Subtract " + "with a description longer than sixty characters, " * 3 + "the end."
    task = task.model_copy(update={"description": long})
    workspace = Workspace(PASSING)
    step.execute(_ports(workspace, []), story, task, winner, StoryView(story=story), attempt=0)
    (message,) = workspace.commits
    assert message.startswith("Subtract\n\nT1: ") and message.split("\n")[2].endswith("the end.")
    assert "fleet story s1" in message
