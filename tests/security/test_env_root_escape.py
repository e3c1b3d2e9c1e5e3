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
    return SandboxSupervisor(concurrency=1)


def _loaded_as(marker: Path) -> list[str]:
    return marker.read_text().split() if marker.exists() else []


@pytest.mark.xfail(
    strict=True, reason="issue 19 hole (b): TaskSpec.env is applied by bwrap before the drop"
)
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
    assert os.geteuid() != 0 or result.status == "denied", result
