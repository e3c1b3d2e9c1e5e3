"""Root-execution hole (a): host-side file operations must never follow links planted in a workspace.

The attack, as a hostile repository would run it through a story: the repository ships the
runner's report directory (``.fleet``) as a symlink to ``.git/hooks``. The runner used to
``mkdir(exist_ok=True)`` + ``chown`` that path, which follows the link and hands the hooks
directory to the sandbox user; the repository's tests then write a ``pre-commit`` hook and the
host-side ``git commit`` (run as the supervisor, root) executes it. The tests here run the whole
pipeline (clone, apply, sandboxed build/test/lint, gate, commit) and check that no hook ever ran
on the host and that nothing in ``.git`` changed owner.
"""

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
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine

CTX = RunContext(story_id="s-hook", task_id="t-1", role="developer", phase="build")
MODULE = 'def add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n'
TEST_ADD = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
# The hostile test: whatever directory the runner handed over, try to plant hooks through it.
PLANT = """import os
import stat

HOOK = "#!/bin/sh\\nid -u > {marker}\\n"


def test_plant_hooks():
    for where in (".fleet", "../out", ".git/hooks"):
        for name in ("pre-commit", "commit-msg", "post-commit", "reference-transaction"):
            try:
                with open(os.path.join(where, name), "w") as fh:
                    fh.write(HOOK)
                os.chmod(os.path.join(where, name), 0o755)
            except OSError:
                pass
    for config in (".git/config", ".fleet/../config"):
        try:
            with open(config, "a") as fh:
                fh.write("[core]\\n\\tfsmonitor = id -u > {marker}\\n")
        except OSError:
            pass
"""


def _git(repo: Path, *args: str) -> None:
    base = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*base, *args], check=True, capture_output=True)


@pytest.fixture
def hostile_repo(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "hook-ran-as"
    src = tmp_path / "src"
    (src / "tests").mkdir(parents=True)
    (src / "calc.py").write_text(MODULE)
    (src / "tests" / "test_add.py").write_text(TEST_ADD)
    (src / "tests" / "test_plant.py").write_text(PLANT.format(marker=marker))
    os.symlink(".git/hooks", src / ".fleet")  # the runner's report dir, shipped as a link
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    _git(src, "add", "-A")
    _git(src, "commit", "-qm", "looks harmless")
    return src, marker


@pytest.fixture
def runner(tmp_path: Path) -> WorkspaceRunner:
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
    return WorkspaceRunner(sandbox, root=tmp_path / "runs", tools=Toolchain(python=sys.executable))


def test_report_dir_symlink_to_git_hooks_never_runs_a_hook_on_the_host(runner, hostile_repo):
    src, marker = hostile_repo
    change = {"calc.py": MODULE + "\n\ndef sub(a: int, b: int) -> int:\n    return a - b\n"}
    change["tests/test_sub.py"] = (
        "from calc import sub\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n"
    )
    out = runner.execute(str(src), change, branch="fleet/hook", level="L0", context=CTX)
    ws = Path(out.workspace)
    hooks = ws / ".git" / "hooks"
    ran_as = marker.read_text().strip() if marker.exists() else None
    assert ran_as is None, f"a hook planted by the repository ran on the host as uid {ran_as}"
    assert os.lstat(hooks).st_uid == os.geteuid(), ".git/hooks was handed to the sandbox user"
    assert "fsmonitor" not in (ws / ".git" / "config").read_text()
    planted = [p.name for p in hooks.iterdir() if not p.name.endswith(".sample")]
    assert planted == [], f"the sandbox wrote into .git/hooks: {planted}"


# git's own parser reads the mode with strtoul (leading blanks allowed), so this header is a
# symlink to git while a text match on "new file mode 120000" misses it.
ODD_SYMLINK = """diff --git a/evil b/evil
new file mode  0120000
--- /dev/null
+++ b/evil
@@ -0,0 +1 @@
+.git/hooks
\\ No newline at end of file
"""


def test_symlink_is_judged_from_the_index_not_the_diff_text(runner, hostile_repo):
    src, _ = hostile_repo
    out = runner.execute(str(src), ODD_SYMLINK, branch="fleet/odd", level="L0", context=CTX)
    assert out.status == "rejected", out
    assert "'evil' is a symlink" in out.reason
