from __future__ import annotations

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
