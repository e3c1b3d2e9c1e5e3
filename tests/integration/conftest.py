from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def client():
    import httpx

    with httpx.Client(timeout=60.0) as c:
        yield c


@pytest.fixture(scope="module")
def sample_git(tmp_path_factory):
    """A git copy of the bundled sample repository."""
    from cluster.cli.stories import sample_repo

    return str(sample_repo(str(tmp_path_factory.mktemp("data"))))


@pytest.fixture(scope="module")
def real_stack(ray_cluster, redis_url, tmp_path_factory):
    """Every real part (council actor + agents, sandbox supervisor, workspace runner) on scripted models."""
    from fleet_stack import start_stack, stop_stack

    s = start_stack(
        ray_cluster,
        redis_url,
        factory=None,
        model="scripted",
        data_dir=str(tmp_path_factory.mktemp("fleet")),
        members=("developer-1", "qa-1"),
        rounds=1,
        phase_timeout_s=60.0,
    )
    yield s
    stop_stack(ray_cluster, s)


@pytest.fixture
def linked_python(tmp_path):
    """``<tmp>/worktree/.venv/bin/python``, the ``.venv`` a link to this suite's real venv: how a
    worktree under /tmp (masked in the sandbox) shares the checkout's venv."""
    venv = Path(os.path.realpath(sys.prefix))
    if venv == Path(os.path.realpath(sys.base_prefix)):
        pytest.fail("the suite runs in the project's venv (make test)")
    linked = tmp_path / "worktree" / ".venv"
    linked.parent.mkdir()
    linked.symlink_to(venv, target_is_directory=True)
    return linked / "bin" / "python"
