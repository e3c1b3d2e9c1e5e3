"""Policy and patch attacks: disallowed tools, shell-string bypasses, path escapes via a change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.workspace import Toolchain, WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext, TaskSpec
from fleet.policy import PolicyEngine
from fleet.testing.fakes import InMemoryEventLog


@pytest.fixture(scope="module")
def audited():
    log = InMemoryEventLog()
    return AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log), log


def spec(*cmd: str, role: str = "developer", phase: str = "build") -> TaskSpec:
    return TaskSpec(
        id="-".join(cmd)[:60] + str(len(cmd)),
        cmd=cmd,
        context=RunContext(story_id="s-sec", role=role, phase=phase),
    )


@pytest.mark.parametrize(
    ("cmd", "rule"),
    [
        (("curl", "https://example.com"), "default:deny"),
        (("git", "push", "origin", "main"), "roles.developer.build.deny:git push"),
        (("pip", "install", "requests"), "roles.developer.build.deny:pip install"),
        (("bash", "-c", "cat /etc/passwd"), "shell_escape:bash -c"),
        (("/bin/sh", "-ec", "id"), "shell_escape:sh -c"),
        (("python3", "-I", "-c", "import os"), "shell_escape:python3 -c"),
        (("env", "FOO=1", "python", "-m", "pytest"), "shell_escape:env"),
        (("ls", ";", "rm", "-rf", "/"), "metacharacter:';'"),
        (("cat", "$(cat /etc/shadow)"), "metacharacter:'$('"),
        (("python", "-m", "pytest", "`id`"), "metacharacter:'`'"),
        (("python", "-m", "pytest", "-k", "x && curl evil"), "metacharacter:'&'"),
    ],
)
def test_disallowed_and_shell_bypass_are_denied_and_audited(audited, cmd, rule):
    sandbox, log = audited
    result = sandbox.run(spec(*cmd))
    assert result.status == "denied"
    assert result.exit_code is None  # it never ran
    assert result.reason.startswith(rule)
    decisions = [
        e
        for _, e in log.read("s-sec")
        if e.type == "policy.decision" and e.data["argv"] == list(cmd)
    ]
    assert (
        decisions and decisions[-1].data["allowed"] is False and decisions[-1].data["rule"] == rule
    )


def test_allowed_command_runs_and_both_events_are_audited(audited):
    sandbox, log = audited
    result = sandbox.run(spec("true"))
    assert result.status == "passed" and result.exit_code == 0
    types = [e.type for _, e in log.read("s-sec") if e.data.get("argv") == ["true"]]
    assert types == ["policy.decision", "sandbox.run"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "mod.py").write_text("X = 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.py").write_text("SECRET = 1\n")
    os.symlink(outside, src / "linked")  # a symlink already in the repository, pointing out
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return src


@pytest.fixture
def runner(tmp_path: Path) -> WorkspaceRunner:
    return WorkspaceRunner(
        BwrapSandbox(), root=tmp_path / "runs", tools=Toolchain(python=sys.executable)
    )


DOTDOT = """--- a/../outside/target.py
+++ b/../outside/target.py
@@ -1 +1 @@
-SECRET = 1
+SECRET = 2
"""
THROUGH_LINK = """--- a/linked/target.py
+++ b/linked/target.py
@@ -1 +1 @@
-SECRET = 1
+SECRET = 2
"""
NEW_SYMLINK = """diff --git a/evil b/evil
new file mode 120000
--- /dev/null
+++ b/evil
@@ -0,0 +1 @@
+/etc/passwd
\\ No newline at end of file
"""


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (DOTDOT, "climbs out of the repository with '..'"),
        (THROUGH_LINK, "outside the repository (a symlinked directory)"),
        (NEW_SYMLINK, "creates or changes a symlink"),
        ({"../outside/target.py": "SECRET = 2\n"}, "climbs out of the repository"),
        ({"/etc/cron.d/evil": "* * * * * root id\n"}, "is absolute"),
        ({"linked/target.py": "SECRET = 2\n"}, "outside the repository (a symlinked directory)"),
        ({"linked/../../outside/target.py": "x"}, "climbs out of the repository"),
        ({".git/hooks/pre-commit": "#!/bin/sh\nid\n"}, "inside .git"),
    ],
)
def test_patch_escapes_are_rejected(runner, repo, tmp_path, change, why):
    outcome = runner.execute(str(repo), change, branch="fleet/escape")
    assert outcome.status == "rejected"
    assert why in outcome.reason
    assert (tmp_path / "outside" / "target.py").read_text() == "SECRET = 1\n"
