"""Gates that mean what they say, on the real runner (git, bwrap, pytest, coverage, ruff):
e2e tests are found by convention (``tests/e2e/``) and counted, so L3 can pass; static analysis
is a real analyser (ruff's bandit and bugbear rules) run in the sandbox; a ``warn`` verdict —
which lets a story go on — is committed like a pass."""

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
CTX = RunContext(story_id="s-gates", task_id="t-1", role="developer", phase="build")
E2E = """from calc import add, multiply, subtract


def test_a_whole_calculation():
    assert subtract(multiply(add(1, 2), 4), 2) == 10
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("gates") / "repo"
    shutil.copytree(SAMPLE, src)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "sample"], check=True)
    return src


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    sandbox = AuditedSandbox(
        BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=InMemoryEventLog()
    )
    return WorkspaceRunner(sandbox, root=tmp_path_factory.mktemp("runs"))


def test_l3_passes_with_e2e_tests_found_by_convention(runner, repo):
    out = runner.execute(
        str(repo), {"tests/e2e/test_flow.py": E2E}, branch="fleet/e2e", level="L3", context=CTX
    )
    assert out.report is not None
    assert (out.report.e2e_passed, out.report.e2e_failed) == (1, 0), out.report.notes
    assert out.report.unit_passed >= 1 and out.report.unit_failed == 0
    assert out.gate.verdict == "pass", (out.gate.score, out.gate.failures)
    assert out.status == "committed" and out.base_commit and out.commit != out.base_commit


def test_l3_blocks_without_e2e_tests(runner, repo):
    out = runner.execute(str(repo), {"NOTES.md": "notes\n"}, branch="fleet/no-e2e", level="L3")
    assert out.report.e2e_passed == 0 and out.gate.verdict == "block"
    assert out.status == "checked" and out.commit is None


def test_static_analysis_is_a_real_analyser_in_the_sandbox(runner, repo):
    risky = '"""Risky."""\n\n\ndef run(expr: str) -> object:\n    return eval(expr)\n'
    out = runner.execute(str(repo), {"calc/risky.py": risky}, branch="fleet/risky", level="L2")
    assert out.report.static_findings >= 1  # S307: eval


def test_a_warn_verdict_is_committed(runner, repo):
    # untested, unlinted code drags coverage and lint (so the score) below pass, above block
    unused = "".join(f"from os import path as p{i}\n" for i in range(25))
    body = unused + "".join(
        f"\n\ndef f{i}(x: int) -> int:\n    if x > {i}:\n        return x - {i}\n    return x + {i}\n"
        for i in range(40)
    )
    out = runner.execute(
        str(repo), {"calc/more.py": '"""More."""\n' + body}, branch="fleet/warn", level="L1"
    )
    assert out.gate.verdict == "warn", (out.gate.score, out.gate.failures)
    assert out.status == "committed" and out.commit
