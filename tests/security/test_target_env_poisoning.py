"""One story's build may not poison another story's environment, nor reach the host through it.

The attacks, through the product's own entry points (the workspace runner and ``TargetEnvs``,
real bubblewrap, real uv, real PyPI for ``roman`` and setuptools):

- two repositories with the *same* ``pyproject.toml``: the first one's in-tree build backend
  (``backend-path``) drops a ``.pth`` and a pytest plugin (failures reported as passes) into the
  environment it builds; the second repository's failing test must still fail. Environments
  used to be keyed by the dependency files alone, so the second ran in the first one's.
- the build backend plants ``<stage>/.ready`` as a link to a root-only host file; the host used
  to write the environment's key through it (root overwrote any host file).
- a candidate change to the build backend must not reach the environment (built from the base
  commit); an environment changed after it was stored is rebuilt, never used.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.target_env import TargetEnvs
from fleet.adapters.workspace import WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine

CTX = RunContext(story_id="s-poison", task_id="t-1", role="developer", phase="build")
PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "backend"
backend-path = ["_build"]

[project]
name = "numerals"
version = "0.1.0"
dependencies = ["roman==5.2"]

[tool.setuptools]
packages = ["numerals"]
"""
BENIGN = "from setuptools.build_meta import *  # noqa: F403\n"
# Run by uv in the sandboxed installer (cwd: the source copy, next to the new venv).
POISON = '''import glob
import os

from setuptools.build_meta import *  # noqa: F403

PLUGIN = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        report.outcome = "passed"
"""
for site in glob.glob(os.path.join(os.getcwd(), "..", "venv", "lib", "python*", "site-packages")):
    with open(os.path.join(site, "poison_plugin.py"), "w") as fh:
        fh.write(PLUGIN)
    with open(os.path.join(site, "poison.pth"), "w") as fh:
        fh.write("import os; os.environ['PYTEST_PLUGINS'] = 'poison_plugin'\\n")
'''
READY = """import os

from setuptools.build_meta import *  # noqa: F403

ready = os.path.join(os.getcwd(), "..", ".ready")
if not os.path.lexists(ready):
    os.symlink({victim!r}, ready)
"""
PASSING = "import roman\n\n\ndef test_roman():\n    assert roman.toRoman(4) == 'IV'\n"
FAILING = "def test_must_fail():\n    assert 1 == 2\n"


def _repo(path: Path, backend: str, test: str) -> Path:
    files = {
        "pyproject.toml": PYPROJECT,
        "_build/backend.py": backend,
        "numerals/__init__.py": '"""Numerals."""\n',
        "tests/test_numerals.py": test,
    }
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(path)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    return path


@pytest.fixture
def runner(tmp_path: Path) -> WorkspaceRunner:
    sandbox = AuditedSandbox(BwrapSandbox(prewarm=0), PolicyEngine(load("policy.yaml")))
    return WorkspaceRunner(sandbox, root=tmp_path / "runs")


def _site(python: str) -> Path:
    return next(Path(python).parent.parent.glob("lib/python*/site-packages"))


def test_a_poisoned_build_does_not_reach_another_repository(runner, tmp_path):
    first = _repo(tmp_path / "first", POISON, PASSING)
    out = runner.execute(str(first), {"NOTES.md": "n\n"}, branch="f/first", context=CTX)
    assert out.report is not None and out.report.build_ok, out.report
    victim = _repo(tmp_path / "second", BENIGN, FAILING)  # the same pyproject.toml
    out = runner.execute(str(victim), {"NOTES.md": "n\n"}, branch="f/second", context=CTX)
    report = out.report
    assert report is not None and report.build_ok, report
    assert (report.unit_passed, report.unit_failed) == (0, 1), report.notes
    assert out.status == "checked" and out.commit is None, out.status
    poisoned = runner.environment(first, CTX)
    clean = runner.environment(victim, CTX)
    assert poisoned.python != clean.python and clean.cached
    assert not (_site(clean.python) / "poison.pth").exists()


def test_the_build_cannot_make_the_host_write_through_a_link(runner, tmp_path):
    victim = tmp_path / "root-only"
    victim.write_text("secret\n")
    victim.chmod(0o600)
    repo = _repo(tmp_path / "repo", READY.format(victim=str(victim)), PASSING)
    env = runner.environment(repo, CTX)
    assert victim.read_text() == "secret\n"
    assert env.problem is None and env.expose, env
    assert not (Path(env.expose[0]) / ".ready").exists()


def test_a_candidates_build_backend_is_not_installed(runner, tmp_path):
    """The environment is the base commit's: a change to the build backend (only staged in the
    workspace) is not what gets installed, and its failing test still fails."""
    repo = _repo(tmp_path / "repo", BENIGN, PASSING)
    change = {"_build/backend.py": POISON, "tests/test_more.py": FAILING}
    out = runner.execute(str(repo), change, branch="f/candidate", context=CTX)
    report = out.report
    assert report is not None and (report.unit_passed, report.unit_failed) == (1, 1), report
    base = runner.environment(repo, CTX)  # the base commit's, built by that run
    note = next(n for n in report.notes if n.startswith("environment:"))
    assert base.cached and note.startswith(f"environment: installed {base.note.split()[2]}")
    assert not (_site(base.python) / "poison.pth").exists()


def test_the_key_covers_the_tree_and_a_changed_environment_is_rebuilt(tmp_path):
    """Same ``pyproject.toml``, one byte apart elsewhere: two environments. An environment
    changed after it was stored (here by root, as nothing else can) is never used again."""
    sandbox = BwrapSandbox(prewarm=0)
    envs = TargetEnvs(sandbox, root=tmp_path, python=_python(), uv=_uv(), uid=65534)
    one = _repo(tmp_path / "one", BENIGN, PASSING)
    two = _repo(tmp_path / "two", BENIGN, PASSING + "\n")
    first, second = (envs.ensure(r, CTX, python_version="py") for r in (one, two))
    assert first.expose and second.expose and first.expose != second.expose
    assert not first.cached and not second.cached
    sealed = Path(first.expose[0])
    modes = [os.lstat(os.path.join(d, n)) for d, ds, fs in os.walk(sealed) for n in ds + fs]
    assert all(st.st_uid == os.geteuid() for st in modes)
    assert not [st for st in modes if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o222]
    init = _site(first.python) / "roman" / "__init__.py"
    init.chmod(0o644)
    init.write_text(init.read_text().replace("def toRoman(", "def toRomaN("))
    init.chmod(0o444)  # the same kind, mode and size: only the content hash can tell
    fresh = TargetEnvs(sandbox, root=tmp_path, python=_python(), uv=_uv(), uid=65534)
    again = fresh.ensure(one, CTX, python_version="py")
    assert again.problem is None and not again.cached, again
    assert "def toRoman(" in (_site(again.python) / "roman" / "__init__.py").read_text()
    (_site(again.python) / "planted.py").symlink_to("/etc/passwd")
    assert not envs.ensure(one, CTX, python_version="py").cached  # same process: walked again


def _python() -> str:
    import sys

    return sys.executable


def _uv() -> str:
    import sys

    return str(Path(sys.executable).parent / "uv")


def test_a_dead_builds_leftovers_are_removed_without_following_links(tmp_path):
    """A stage left by a killed build holds whatever the sandboxed build wrote: links to host
    files and directories, a tree deeper than any walk should recurse. The next build removes
    it (old enough to be dead) without touching what the links point at; a fresh one stays."""
    victim = tmp_path / "host-dir"
    victim.mkdir()
    (victim / "keep").write_text("keep\n")
    envs = tmp_path / "envs"
    stale, fresh = envs / ".build-dead", envs / ".build-alive"
    (stale / "venv").mkdir(parents=True)
    fd = os.open(stale / "venv", os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(300):  # deeper than any walk of the store goes (it moves them up instead)
        os.mkdir("d", dir_fd=fd)
        fd, old = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd), fd
        os.close(old)
    os.symlink(victim, "to-dir", dir_fd=fd)
    os.close(fd)
    (stale / "to-file").symlink_to(victim / "keep")
    fresh.mkdir()
    os.utime(stale, (1, 1))
    repo = tmp_path / "plain"
    repo.mkdir()
    (repo / "test_x.py").write_text("def test_x():\n    assert True\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "plain"], check=True)
    envs_ = TargetEnvs(
        BwrapSandbox(prewarm=0), root=tmp_path, python=_python(), uv=_uv(), uid=65534
    )
    env = envs_.ensure(repo, CTX, python_version="py")
    assert env.note.startswith("environment: the fleet's"), env
    assert not stale.exists() and fresh.is_dir()
    assert (victim / "keep").read_text() == "keep\n"
