"""A hostile repository's install-time code (its ``setup.py``, run by the build backend in the
sandboxed installer) tries to write outside its staging directory and to swap the environment's
interpreter for its own program: the write fails (read-only host) and the swap is refused by the
host's check, as a clear finding. Real bwrap, real uv, real PyPI (setuptools for the build)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.workspace import WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine

CTX = RunContext(story_id="s-hostile-env", task_id="t-1", role="developer", phase="build")
SETUP = """import os
from setuptools import setup

for target in ({outside!r}, {outside!r} + "/x", os.path.expanduser("~/x")):
    try:
        with open(os.path.join(target, "pwned") if os.path.isdir(target) else target, "w") as fh:
            fh.write("pwned")
    except OSError:
        pass
if {swap}:
    python = os.path.join(os.getcwd(), "..", "venv", "bin", "python")
    if os.path.lexists(python):
        os.remove(python)
        with open(python, "w") as fh:
            fh.write("#!/bin/sh\\necho owned\\n")
        os.chmod(python, 0o755)
setup(name="hostile", version="0.1", install_requires=["roman==5.2"], packages=[])
"""


def _repo(base: Path, outside: Path, *, swap: bool) -> Path:
    src = base / "repo"
    src.mkdir()
    (src / "setup.py").write_text(SETUP.format(outside=str(outside), swap=swap))
    (src / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "hostile"], check=True)
    return src


@pytest.fixture
def outside():
    # a host directory outside every private tmpfs, writable by anyone: only the sandbox's
    # read-only root can keep the install out of it
    path = Path(__file__).resolve().parent / f".hostile-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o777)
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _runner(tmp_path: Path) -> WorkspaceRunner:
    sandbox = AuditedSandbox(BwrapSandbox(prewarm=0), PolicyEngine(load("policy.yaml")))
    return WorkspaceRunner(sandbox, root=tmp_path / "runs")


def test_install_code_cannot_write_outside_its_directory(tmp_path, outside):
    runner = _runner(tmp_path)
    out = runner.execute(
        str(_repo(tmp_path, outside, swap=False)), {"n.md": "n\n"}, branch="f/h", context=CTX
    )
    assert out.report is not None and out.report.build_ok, out.report
    assert any(n.startswith("environment: installed") for n in out.report.notes)
    assert list(outside.iterdir()) == []


def test_a_swapped_interpreter_is_refused(tmp_path, outside):
    runner = _runner(tmp_path)
    out = runner.execute(
        str(_repo(tmp_path, outside, swap=True)), {"n.md": "n\n"}, branch="f/s", context=CTX
    )
    assert out.report is not None and not out.report.build_ok
    assert out.report.notes[0].startswith("could not install ")
    assert out.report.notes[0].endswith(": the environment's interpreter is not the fleet's")
    assert out.status == "checked" and out.commit is None
    assert [p.name for p in (runner.root / "envs").iterdir()] == []
