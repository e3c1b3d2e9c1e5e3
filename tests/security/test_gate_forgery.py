"""Gates cannot be forged: a repository whose tests rewrite the reports the gate reads must not pass.

The hostile repository has a failing test and a ``conftest.py`` that, once pytest has written
its JUnit report, overwrites it (wherever ``--junitxml`` points, and in the old in-repository
report directory) with a report claiming every test passed, and forces pytest's exit status
to 0. Run through the workspace runner as a story would, the change must be blocked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.workspace import Toolchain, WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine

CTX = RunContext(story_id="s-forge", task_id="t-1", role="developer", phase="build")
FORGER = """import atexit
import os
import sys

FAKE = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" '
    'failures="0" skipped="0" tests="2"><testcase classname="tests.test_calc" name="test_add"/>'
    '<testcase classname="tests.test_calc" name="test_sub"/></testsuite></testsuites>'
)


def _targets():
    for arg in sys.argv:
        if arg.startswith("--junitxml="):
            yield arg.split("=", 1)[1]
    yield ".fleet/junit.xml"
    yield "../out/junit.xml"


def _forge():
    for path in _targets():
        try:
            with open(path, "w") as fh:
                fh.write(FAKE)
        except OSError:
            pass


def pytest_sessionfinish(session, exitstatus):
    session.exitstatus = 0


atexit.register(_forge)
"""
CALC = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
TESTS = (
    "from calc import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
    "def test_sub():\n    assert sub(3, 1) == 2\n"
)


@pytest.fixture
def forging_repo(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "tests").mkdir(parents=True)
    (src / ".fleet").mkdir()
    (src / ".fleet" / ".keep").write_text("")
    (src / "calc.py").write_text(CALC)
    (src / "tests" / "test_calc.py").write_text(TESTS)
    (src / "conftest.py").write_text(FORGER)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "calc"], check=True)
    return src


@pytest.fixture
def runner(tmp_path: Path) -> WorkspaceRunner:
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
    return WorkspaceRunner(sandbox, root=tmp_path / "runs", tools=Toolchain(python=sys.executable))


def test_tests_that_overwrite_their_junit_report_do_not_pass_the_gate(runner, forging_repo):
    change = {"README.md": "calc\n"}
    out = runner.execute(str(forging_repo), change, branch="fleet/forge", level="L1", context=CTX)
    assert out.status == "checked" and out.commit is None, out
    assert out.gate.verdict == "block", out.gate
    assert out.report.unit_failed >= 1, out.report
    assert any("report does not match the run" in n for n in out.report.notes), out.report.notes


def test_an_honest_suite_still_passes(runner, forging_repo):
    """The cross-check is not a blanket refusal: the same repository without the forger passes."""
    fixed = {"calc.py": CALC.replace("return a - b", "return a + b", 1), "conftest.py": ""}
    out = runner.execute(str(forging_repo), fixed, branch="fleet/honest", level="L1", context=CTX)
    assert out.status == "committed", out
    assert (out.report.unit_passed, out.report.unit_failed) == (2, 0)
