"""Root-execution hole (b): nothing of a run's environment may reach a process that holds privileges.

The attack: a hostile repository ships a shared object whose constructor records who loaded it,
and a run asks for ``LD_PRELOAD=<that object>``. The sandbox supervisor (the same class the
fleet's ``sandbox-supervisor`` actor hosts) used to hand the spec's env to bwrap with
``--setenv``, so it applied to ``setpriv`` - still root, with every capability, inside the
namespace - before the privilege drop: the object ran as root and could undo the mount masks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from actors.sandbox import SandboxSupervisor
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.contracts import RunContext, TaskSpec

EVIL_C = r"""
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void loaded(void) {
    FILE *f = fopen("%s", "a");
    if (f) { fprintf(f, "%%d\n", (int)geteuid()); fclose(f); }
}
"""


@pytest.fixture
def hostile_repo(tmp_path: Path) -> tuple[Path, Path]:
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed to build the hostile shared object (apt-get install gcc)"
    repo = tmp_path / "repo"
    repo.mkdir()
    marker = repo / "loaded-as"
    (repo / "evil.c").write_text(EVIL_C % marker)
    subprocess.run(
        [cc, "-shared", "-fPIC", "-o", str(repo / "evil.so"), str(repo / "evil.c")], check=True
    )
    (repo / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    return repo, marker


@pytest.fixture(scope="module")
def supervisor():
    sup = SandboxSupervisor(concurrency=1)
    yield sup
    sup.close()


def _loaded_as(marker: Path) -> list[str]:
    return marker.read_text().split() if marker.exists() else []


def test_ld_preload_from_a_run_env_never_runs_as_root(supervisor, hostile_repo):
    repo, marker = hostile_repo
    spec = TaskSpec(
        id="preload",
        cmd=("python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"),
        workspace=str(repo),
        env={"LD_PRELOAD": str(repo / "evil.so")},
        context=RunContext(story_id="s-env", role="developer", phase="build"),
    )
    result = supervisor.run(spec)
    assert "0" not in _loaded_as(marker), f"the preloaded object ran as root: {result.reason}"
    assert result.status == "denied" and result.reason.startswith("env:LD_PRELOAD"), result


def test_even_without_policy_the_env_reaches_only_the_unprivileged_command(hostile_repo):
    """Defense in depth: the backend alone applies a spec's env after the drop, never before."""
    repo, marker = hostile_repo
    os.chmod(repo, 0o777)  # so the (unprivileged) command could record that it loaded the object
    spec = TaskSpec(
        id="preload-raw",
        cmd=("/bin/true",),
        workspace=str(repo),
        env={"LD_PRELOAD": str(repo / "evil.so")},
    )
    result = BwrapSandbox(prewarm=0).run(spec)
    loaded = _loaded_as(marker)
    assert result.status == "passed", result
    assert loaded and "0" not in loaded, f"loaded by uids {loaded}"


def _run(supervisor, repo: Path, cmd: tuple[str, ...], env: dict[str, str]):
    spec = TaskSpec(
        id=f"env-{len(env)}-{cmd[0][-8:]}",
        cmd=cmd,
        workspace=str(repo),
        env=env,
        context=RunContext(story_id="s-env", role="developer", phase="build"),
    )
    return supervisor.run(spec)


@pytest.mark.parametrize(
    ("env", "rule"),
    [
        ({"PATH": "{repo}/bin:/usr/bin:/bin"}, "env:PATH"),
        ({"PYTHONPATH": "{repo}"}, "env:PYTHONPATH"),
        ({"PYTHONSTARTUP": "{repo}/evil.py"}, "env:PYTHONSTARTUP"),
        ({"GCONV_PATH": "{repo}"}, "env:GCONV_PATH"),
        ({"LD_LIBRARY_PATH": "{repo}"}, "env:LD_LIBRARY_PATH"),
        ({"GIT_SSH_COMMAND": "touch /tmp/x"}, "env:GIT_SSH_COMMAND"),
    ],
)
def test_code_loading_variables_are_refused(supervisor, hostile_repo, env, rule):
    repo, _ = hostile_repo
    env = {k: v.format(repo=repo) for k, v in env.items()}
    result = _run(supervisor, repo, ("python3", "-m", "pytest", "-q"), env)
    assert result.status == "denied" and result.reason.startswith(rule), result


def test_a_bare_command_name_never_resolves_into_the_workspace(supervisor, hostile_repo):
    repo, marker = hostile_repo
    fake = repo / "bin" / "pytest"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nid -u >> {marker}\n")
    fake.chmod(0o755)
    result = _run(supervisor, repo, (str(fake), "-q"), {})
    assert result.status == "denied" and result.reason.startswith("executable:untrusted")
    relative = _run(supervisor, repo, ("./bin/pytest", "-q"), {})
    assert relative.status == "denied", relative
    assert not marker.exists()
