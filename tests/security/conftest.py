from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def stack(ray_cluster, redis_url):
    """The real gateway + orchestrator (the shared ``fleet_stack`` used by tests/serve)."""
    from fleet_stack import start_stack, stop_stack

    s = start_stack(ray_cluster, redis_url)
    yield s
    stop_stack(ray_cluster, s)


@pytest.fixture(scope="module")
def client():
    import httpx

    with httpx.Client(timeout=30.0) as c:
        yield c
