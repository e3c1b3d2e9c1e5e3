"""The target's own environment, on the real runner (git, bwrap, uv, real PyPI): a ``src/``
layout project whose registry dependency (``roman``) the fleet's venv does not have gets its
dependencies installed in a sandbox with the network, its tests pass against the workspace's
code, the second run reuses the cached environment, and a broken dependency is a clear finding."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.target_env import TargetEnvs
from fleet.adapters.workspace import Toolchain, WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine
from fleet.testing.fakes import InMemoryEventLog

CTX = RunContext(story_id="s-env", task_id="t-1", role="developer", phase="build")
PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "numerals"
version = "0.1.0"
dependencies = ["{dep}"]

[project.optional-dependencies]
test = ["pytest"]
docs = ["this-group-is-not-installed"]
"""
CODE = '''"""Roman numerals for the fixture."""

import roman


def to_roman(n: int) -> str:
    return roman.toRoman(n)
'''
TEST = """import roman

from numerals import to_roman


def test_to_roman():
    assert to_roman(14) == "XIV" == roman.toRoman(14)
"""


def _repo(base: Path, dep: str) -> Path:
    src = base / "repo"
    files = {
        "pyproject.toml": PYPROJECT.format(dep=dep),
        "src/numerals/__init__.py": CODE,
        "tests/test_numerals.py": TEST,
    }
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    return src


@pytest.fixture(scope="module")
def log() -> InMemoryEventLog:
    return InMemoryEventLog()


@pytest.fixture(scope="module")
def runner(tmp_path_factory, log):
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    return WorkspaceRunner(sandbox, root=tmp_path_factory.mktemp("runs"))


def test_the_fleet_venv_lacks_the_dependency():
    assert importlib.util.find_spec("roman") is None  # else this test would prove nothing


def test_src_layout_with_a_registry_dependency_passes_and_is_cached(runner, log, tmp_path):
    repo = _repo(tmp_path, "roman==5.2")
    change = {"src/numerals/more.py": '"""More."""\n\nLIMIT = 3999\n'}
    times = []
    for attempt in (1, 2):
        started = time.monotonic()
        out = runner.execute(str(repo), change, branch=f"fleet/env-{attempt}", context=CTX)
        times.append(time.monotonic() - started)
        report = out.report
        assert report is not None and report.build_ok, report
        assert (report.unit_passed, report.unit_failed) == (1, 0), report.notes
        assert out.status == "committed", out.reason
        # the code under test is the workspace's (measured by coverage), not the installed copy
        assert report.coverage is not None and report.coverage > 0, report.notes
        note = next(n for n in report.notes if n.startswith("environment:"))
        print(f"\nrun {attempt}: {times[-1]:.1f}s total, {note}")
        assert note.startswith("environment: cached" if attempt == 2 else "environment: installed")
    # stored under its key, with the host's manifest next to it (outside the environment)
    keys = [e.name for e in (runner.root / "envs").iterdir() if e.is_dir()]
    assert keys and all(not k.startswith(".") for k in keys), keys
    assert all((runner.root / "envs" / f"{k}.manifest").is_file() for k in keys)
    # one install (uv venv + uv pip install) for both runs: the second reused it; it ran in the
    # sandbox as the installer role
    runs = [e for _, e in log.read("s-env") if e.type == "sandbox.run"]
    installs = [e for e in runs if e.data.get("role") == "installer"]
    assert len(installs) == 2 and all(e.payload.status == "passed" for e in installs)
    assert json.dumps([e.data["argv"] for e in installs]).count('"--no-config"') == 2


def test_a_broken_dependency_is_a_clear_finding(runner, tmp_path):
    repo = _repo(tmp_path, "no-such-package-swe-fleet-fixture==9.9.9")
    out = runner.execute(str(repo), {"NOTES.md": "n\n"}, branch="fleet/broken", context=CTX)
    report = out.report
    assert report is not None and not report.build_ok
    assert report.notes[0].startswith("could not install numerals[test]: failed"), report.notes
    assert "no-such-package-swe-fleet-fixture" in report.notes[0]
    assert out.status == "checked" and out.commit is None
    assert not [e for e in (runner.root / "envs").iterdir() if e.name.startswith(".build-")]


def test_council_evidence_runs_in_the_targets_environment(tmp_path):
    """The council's evidence runs (baseline and each proposal) use the same environment as the
    workspace runner: with the fleet's own python the repository's tests cannot import ``roman``
    and every candidate would fail alike."""
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.evidence import EvidenceSuite

    repo = _repo(tmp_path, "roman==5.2")
    log = InMemoryEventLog()
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    runs = tmp_path / "runs"  # the workspace runner's root: the evidence shares its environments
    evidence = SandboxEvidence(
        sandbox, root=tmp_path / "ws", concurrency=1, tools=Toolchain(envs_root=runs)
    )
    suite = EvidenceSuite(
        files={"tests/test_more.py": TEST.replace("14", "9").replace("XIV", "IX")},
        test_paths=("tests",),
    )
    ctx = RunContext(story_id="s-ev", task_id="t-1", role="qa", phase="test")
    tests = evidence.baseline(suite, source=str(repo), base=None, context=ctx)
    assert sorted((t.test_id, t.passed) for t in tests) == [
        ("tests/test_more.py::test_to_roman", True),
        ("tests/test_numerals.py::test_to_roman", True),
    ], tests
    done = [e for _, e in log.read("s-ev") if e.type == "sandbox.run"]
    assert any(e.data.get("role") == "installer" for e in done)
    pytest_run = next(e for e in done if "pytest" in e.data.get("argv", []))
    assert "/envs/" in pytest_run.data["argv"][0]  # the target's interpreter, not the fleet's
    # the workspace runner of the same fleet finds that environment built: one install per story
    env = WorkspaceRunner(sandbox, root=tmp_path / "runs").environment(repo, ctx)
    assert env.cached and env.python == pytest_run.data["argv"][0], env


NAMESPACE = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
    'build-backend = "setuptools.build_meta"\n\n[project]\nname = "acme-numerals"\n'
    'version = "0.1.0"\ndependencies = ["roman==5.2"]\n\n'
    '[tool.setuptools.packages.find]\nwhere = ["src"]\nnamespaces = true\n',
    # acme is a namespace package (no __init__.py); the tests sit next to the code
    "src/acme/numerals/__init__.py": "",
    "src/acme/numerals/core.py": CODE,
    "src/acme/numerals/test_core.py": "from acme.numerals.core import to_roman\n\n\n"
    "def test_next_to_the_code():\n    assert to_roman(4) == 'IV'\n",
}


def test_namespace_package_with_tests_next_to_the_code(runner, tmp_path):
    src = tmp_path / "ns"
    for rel, text in NAMESPACE.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    change = {
        "src/acme/numerals/core.py": CODE + "\n\ndef from_roman(s: str) -> int:\n"
        "    return roman.fromRoman(s)\n",
        "src/acme/numerals/test_from.py": "from acme.numerals.core import from_roman\n\n\n"
        "def test_from_roman():\n    assert from_roman('XIV') == 14\n",
    }
    out = runner.execute(str(src), change, branch="fleet/ns", context=CTX)
    report = out.report
    assert report is not None and report.build_ok, report
    assert (report.unit_passed, report.unit_failed) == (2, 0), report.notes
    assert out.status == "committed", (out.reason, report.notes)


# A test of the target that fails when the fleet's own pytest plugins were loaded into its run.
NO_FLEET_PLUGINS = """import sys


def test_no_fleet_plugin_was_loaded():
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in {mods})
    assert not loaded, loaded
"""


def test_the_fleets_interpreter_runs_the_target_without_the_fleets_pytest_plugins(tmp_path):
    """A repository declaring no dependencies runs on the fleet's interpreter, but the fleet's
    pytest plugins (schemathesis, hypothesis... installed for the fleet's own tests) are not
    the target's: they are not autoloaded, in the workspace runner's runs and in the evidence
    runs (they were also most of each run's time)."""
    from importlib.metadata import entry_points

    from fleet.adapters.evidence import SandboxEvidence
    from fleet.evidence import EvidenceSuite

    plugins = {e.value.split(".")[0] for e in entry_points(group="pytest11")}
    assert plugins, "the fleet's venv has no pytest plugin: this test would prove nothing"
    src = tmp_path / "plain"
    (src / "tests").mkdir(parents=True)
    (src / "tests" / "test_plain.py").write_text(NO_FLEET_PLUGINS.format(mods=sorted(plugins)))
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    log = InMemoryEventLog()
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    runner = WorkspaceRunner(sandbox, root=tmp_path / "runs")
    out = runner.execute(str(src), {"NOTES.md": "n\n"}, branch="fleet/plain", context=CTX)
    report = out.report
    assert report is not None and report.build_ok, report
    assert (report.unit_passed, report.unit_failed) == (1, 0), report.notes
    assert any(n.startswith("environment: the fleet's") for n in report.notes), report.notes
    evidence = SandboxEvidence(
        sandbox, root=tmp_path / "ws", concurrency=1, tools=Toolchain(envs_root=runner.root)
    )
    ctx = RunContext(story_id="s-plain", task_id="t-1", role="qa", phase="test")
    tests = evidence.baseline(
        EvidenceSuite(files={}, test_paths=("tests",)), source=str(src), base=None, context=ctx
    )
    assert [(t.test_id, t.passed) for t in tests] == [
        ("tests/test_plain.py::test_no_fleet_plugin_was_loaded", True)
    ], tests


def test_a_repository_without_dependencies_needs_no_installer(tmp_path):
    # An install without uv on its PATH (a user's venv that reuses another's packages) ran every
    # story's plan through `uv --version` and failed: "could not install the dependencies:
    # FileNotFoundError" for a repository that declares none.
    src = tmp_path / "plain"
    (src / "calc").mkdir(parents=True)
    (src / "calc" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    envs = TargetEnvs(
        BwrapSandbox(prewarm=0), root=tmp_path / "runs", python=sys.executable,
        uv=str(tmp_path / "no-such-uv"), uid=65534,
    )  # fmt: skip
    env = envs.ensure(src, RunContext(story_id="s", task_id="t"), python_version="3.11")
    assert env.problem is None and env.python == sys.executable
