"""The workspace runner on the bundled sample repository, with real git, bwrap, pytest, coverage, ruff."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.workspace import WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine
from fleet.testing.fakes import InMemoryEventLog

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_repo"
DIVIDE = '''

def divide(a: float, b: float) -> float:
    """Return a / b."""
    if b == 0:
        raise ValueError("division by zero")
    return a / b
'''
TEST_DIVIDE = """import pytest

from calc.ops import divide


def test_divide():
    assert divide(6, 3) == 2


def test_divide_by_zero():
    with pytest.raises(ValueError):
        divide(1, 0)
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("sample") / "repo"
    shutil.copytree(SAMPLE, src)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "sample"], check=True)
    return src


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    log = InMemoryEventLog()
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    return WorkspaceRunner(sandbox, root=tmp_path_factory.mktemp("runs")), log


CTX = RunContext(story_id="s-ws", task_id="t-1", role="developer", phase="build")


def test_good_change_passes_l1_and_is_committed(runner, repo):
    run, log = runner
    ops = (repo / "calc" / "ops.py").read_text()
    change = {"calc/ops.py": ops + DIVIDE, "tests/test_divide.py": TEST_DIVIDE}
    out = run.execute(str(repo), change, branch="fleet/divide", level="L1", context=CTX)
    assert out.status == "committed", out.reason
    assert out.gate.verdict == "pass"
    assert out.report.build_ok and (out.report.unit_passed, out.report.unit_failed) == (5, 0)
    assert out.report.coverage == 100.0 and out.report.lint_findings == 0
    ws = Path(out.workspace)
    branch = subprocess.run(
        ["git", "-C", str(ws), "branch", "--show-current"], capture_output=True, text=True
    )
    assert branch.stdout.strip() == "fleet/divide"
    files = subprocess.run(
        ["git", "-C", str(ws), "show", "--name-only", "--format=", out.commit],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert sorted(files) == ["calc/ops.py", "tests/test_divide.py"]  # no .fleet/ reports, no caches
    runs = [e for _, e in log.read("s-ws") if e.type == "policy.decision"]
    assert {e.data["rule"].split(":")[0] for e in runs} == {
        "roles.runner.build.allow",
        "roles.runner.test.allow",
    }


THREADED_TEST = """import threading

from calc.ops import add


def test_add_from_a_hundred_threads():
    out = []
    together = threading.Barrier(100, timeout=30)  # all 100 alive at once, as more-itertools' test

    def work():
        together.wait()
        out.append(add(1, 2))

    workers = [threading.Thread(target=work) for _ in range(100)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert out == [3] * 100
"""


def test_a_test_suite_that_starts_a_hundred_threads_passes(runner, repo):
    # more-itertools' own suite starts 100 threads at once; with the default 64 processes every
    # run of it failed ("can't start new thread") and blocked every change to that repository.
    run, _ = runner
    change = {"tests/test_threads.py": THREADED_TEST}
    out = run.execute(str(repo), change, branch="fleet/threads", level="L1", context=CTX)
    assert out.status == "committed", out.reason
    assert out.report.unit_failed == 0 and out.report.unit_passed == 4


def test_breaking_change_is_blocked_naming_the_failing_tests(runner, repo):
    run, _ = runner
    ops = (repo / "calc" / "ops.py").read_text()
    broken = ops.replace("return a + b", "return a - b").replace(
        "return a - b\n\n\ndef multiply", "return a + b\n\n\ndef multiply"
    )
    broken = broken.replace("return a * b", "return a ** b")
    out = run.execute(
        str(repo), {"calc/ops.py": broken}, branch="fleet/broken", level="L1", context=CTX
    )
    assert out.status == "checked" and out.commit is None
    assert out.gate.verdict == "block"
    assert set(out.failed_tests) == {
        "tests/test_ops.py::test_add",
        "tests/test_ops.py::test_subtract",
        "tests/test_ops.py::test_multiply",
    }
    assert "failing test tests/test_ops.py::test_add" in out.reason
    assert any(
        n.startswith("failed: tests/test_ops.py::test_add: assert") for n in out.report.notes
    )


def test_one_failing_test_is_named_in_the_outcome(runner, repo):
    run, _ = runner
    ops = (repo / "calc" / "ops.py").read_text().replace("return a * b", "return a * b + 1")
    out = run.execute(str(repo), {"calc/ops.py": ops}, branch="fleet/one", level="L1", context=CTX)
    assert out.status == "checked" and out.gate.verdict != "pass"
    assert out.failed_tests == ("tests/test_ops.py::test_multiply",)


def test_unified_diff_is_applied(runner, repo):
    run, _ = runner
    diff = (
        "--- a/calc/__init__.py\n+++ b/calc/__init__.py\n@@ -1,3 +1,3 @@\n"
        '-"""A tiny calculator."""\n+"""A tiny calculator (patched)."""\n \n'
        " from calc.ops import add, multiply, subtract\n"
    )
    out = run.execute(str(repo), diff, branch="fleet/diff", level="L0", context=CTX)
    assert out.status == "committed", out.reason
    assert "(patched)" in (Path(out.workspace) / "calc" / "__init__.py").read_text()


def test_change_that_does_not_apply_is_rejected_with_reason(runner, repo):
    run, _ = runner
    diff = "--- a/calc/ops.py\n+++ b/calc/ops.py\n@@ -1,2 +1,2 @@\n-def nothing_like_this():\n+def x():\n"
    out = run.execute(str(repo), diff, branch="fleet/stale", context=CTX)
    assert out.status == "rejected" and out.report is None
    assert out.reason.startswith("the diff does not apply") and "calc/ops.py" in out.reason
    out = run.execute(str(repo), "please add a divide function", branch="fleet/prose", context=CTX)
    assert out.status == "rejected" and "not a unified diff" in out.reason


def test_missing_source_is_a_clear_error(runner, tmp_path):
    from fleet.errors import WorkspaceUnavailable

    run, _ = runner
    with pytest.raises(WorkspaceUnavailable, match="git clone"):
        run.execute(str(tmp_path / "nope"), {"a.py": "x"}, branch="b")


LINKED_RUN = """
import sys
from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.config import load
from fleet.contracts import RunContext
from fleet.evidence import EvidenceSuite
from fleet.policy import PolicyEngine

repo, root, test = sys.argv[1:4]
sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
suite = EvidenceSuite(files={"tests/test_linked.py": test}, test_paths=("tests/test_linked.py",))
ctx = RunContext(story_id="s-linked", task_id="t1")
for o in SandboxEvidence(sandbox, root=root).baseline(suite, source=repo, base="main", context=ctx):
    print(o.test_id, o.passed)
"""


def test_a_venv_reached_through_a_link_under_tmp_runs_in_the_sandbox(repo, tmp_path, linked_python):
    """The fleet started as ``<link>/bin/python``, the link under /tmp (masked in the sandbox) to
    the real venv, as a worktree's ``.venv`` linked to the checkout's: the evidence run still
    finds its interpreter (before, pytest exited 127 in every run and no test was collected)."""
    test = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    run = subprocess.run(
        [str(linked_python), "-c", LINKED_RUN, str(repo), str(tmp_path / "ev"), test],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["tests/test_linked.py::test_add", "True"], run.stdout


def test_an_evidence_run_whose_interpreter_does_not_start_is_a_sandbox_failure(repo, tmp_path):
    """On the base commit, a run whose interpreter is missing in the sandbox (exit 127) raises
    SandboxUnavailable, as the Baseline port says, instead of reading as "no test collected";
    a candidate's run (whose own files could fake that status) reads as failed, saying why."""
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.adapters.workspace import Toolchain
    from fleet.contracts import Patch, Proposal
    from fleet.errors import SandboxUnavailable
    from fleet.evidence import EvidenceSuite

    missing = tmp_path / "gone" / "bin" / "python"
    tools = Toolchain(python=str(missing))
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ev", tools=tools)
    test = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    suite = EvidenceSuite(files={"tests/test_gone.py": test}, test_paths=("tests/test_gone.py",))
    ctx = RunContext(story_id="s-gone", task_id="t1")
    with pytest.raises(SandboxUnavailable, match="could not start.*exit 127"):
        runner.baseline(suite, source=str(repo), base="main", context=ctx)
    diff = "--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # calc\n+more\n"
    patch = Patch(base_commit="main", diff=diff, files=("README.md",))
    mine = Proposal(id="p1", deliberation_id="d1", author="developer-1", role="developer",
                    content="", patch=patch)  # fmt: skip
    found = runner.one(mine, suite, source=str(repo), base="main", ctx=ctx)
    assert not found.passed and "exit 127" in found.detail, found.detail
