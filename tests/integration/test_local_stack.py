"""`fleet up | status | down` against the real thing: a Ray head and Redis+FalkorDB, on free ports.

Starts the Ray head twice in total (each start costs ~10 s and ~600 MB).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from cluster import local, proctree
from cluster.cli import main
from cluster.graphserver import free_port
from fleet.config import fleet_config
from fleet.errors import PortInUse

pytestmark = pytest.mark.slow

DRIVER = """
import ray, sys
ray.init(address=sys.argv[1], namespace="swe-fleet", log_to_driver=False)
@ray.remote(num_cpus=0)
class Probe:
    def pid(self):
        import os
        return os.getpid()
p = Probe.options(name="probe", lifetime="detached").remote()
print(ray.get(p.pid.remote()))
"""


@pytest.fixture
def stack_env(tmp_path, monkeypatch):
    """A private stack: free ports, a temp data dir, a temp Ray token file."""
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path / "data"))
    for var in ("FLEET_REDIS_PORT", "FLEET_RAY_GCS_PORT", "FLEET_DASHBOARD_PORT"):
        monkeypatch.setenv(var, str(free_port()))
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "ray_token"))
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    cfg = fleet_config()
    yield cfg
    local.down(cfg)  # whatever a failed test left behind


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def pids(st: local.StackStatus) -> dict[str, int | None]:
    return {p.name: p.pid for p in st.parts}


def start_driver(cfg, ray_address: str) -> int:
    """A separate driver process: proves the token works and leaves a worker behind."""
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, ray_address],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def test_up_status_down_up_keeps_data_and_leaves_no_strays(stack_env, capsys):
    cfg = stack_env
    rc, out, err = run(capsys, "up", "--no-apps")
    assert rc == 0, out + err
    assert "started: redis+falkordb, ray head" in out and "healthy" in out
    assert f"dashboard: http://127.0.0.1:{cfg.ray.dashboard.port}" in out
    assert Path(os.environ["RAY_AUTH_TOKEN_PATH"]).stat().st_mode & 0o077 == 0  # private token

    first = local.status(cfg)
    assert first.healthy, first.render()
    ray_part = first.part("ray head")
    assert ray_part.where["auth"] == "token"
    rc, out, _ = run(capsys, "status")
    assert rc == 0 and f"redis://127.0.0.1:{cfg.redis.port}/0" in out

    url = first.part("redis+falkordb").where["url"]
    with redis.Redis.from_url(url) as r:
        r.set("fleet:test:key", "kept")
        entry = r.xadd("fleet:test:stream", {"event": "story.created"})
        r.execute_command("GRAPH.QUERY", "fleet:test", "CREATE (:Story {id: 's1'})")
    worker = start_driver(cfg, ray_part.where["address"])
    assert proctree.alive(worker)

    rc, out, _ = run(capsys, "up", "--no-apps")
    assert rc == 0 and "already running (reused): redis+falkordb, ray head" in out
    assert pids(local.status(cfg)) == pids(first)

    ray_pid = ray_part.pid
    assert ray_pid is not None
    tree = proctree.members(ray_pid)
    assert worker in tree and len(tree) > 5  # gcs, raylet, dashboard, agents, worker...
    redis_pid = first.part("redis+falkordb").pid
    rc, out, _ = run(capsys, "down")
    assert rc == 0 and "stopped: ray head, redis+falkordb" in out
    assert not [p for p in tree | {redis_pid} if proctree.alive(p)]
    assert proctree.members(ray_pid) == set()
    data = Path(cfg.data_dir)
    assert not list(data.rglob("*.pid")) and not (data / "ray" / "head.json").exists()
    assert (data / "graph" / "appendonlydir").is_dir()
    rc, out, _ = run(capsys, "status")
    assert rc == 1 and "stopped" in out

    again = local.up(cfg)
    assert again.healthy and again.started == ["redis+falkordb", "ray head"]
    with redis.Redis.from_url(url) as r:
        assert r.get("fleet:test:key") == b"kept"
        assert r.xrange("fleet:test:stream")[0][0].decode() == entry.decode()
        rows = r.execute_command("GRAPH.QUERY", "fleet:test", "MATCH (s:Story) RETURN s.id")
        assert rows[1] == [[b"s1"]]
    new_ray = again.part("ray head").pid
    assert new_ray is not None
    tree = proctree.members(new_ray)
    stopped = local.down(cfg)
    assert stopped.stopped == ["ray head", "redis+falkordb"]
    assert not [p for p in tree if proctree.alive(p)]


def test_down_when_nothing_runs(stack_env, capsys):
    rc, out, _ = run(capsys, "down")
    assert rc == 0
    assert "nothing to stop: no fleet processes are running" in out
    assert local.down(stack_env).stopped == []


def test_redis_port_in_use(stack_env, capsys):
    cfg = stack_env
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", cfg.redis.port))
        squatter.listen()
        with pytest.raises(PortInUse) as exc:
            local.up(cfg)
        assert exc.value.port == cfg.redis.port
        rc, _, err = run(capsys, "up", "--no-apps")
    assert rc == 2
    assert f"port {cfg.redis.port} for Redis+FalkorDB is already in use" in err
    assert "Traceback" not in err
    assert local.status(cfg).running == []


def test_ray_port_in_use_starts_no_head(stack_env, capsys):
    cfg = stack_env
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", cfg.ray.gcs_port))
        squatter.listen()
        rc, _, err = run(capsys, "up", "--no-apps")
    assert rc == 2 and f"port {cfg.ray.gcs_port} for the Ray GCS" in err
    st = local.status(cfg)
    assert st.running == ["redis+falkordb"]  # the graph came up first; no Ray was started
    assert local.down(cfg).stopped == ["redis+falkordb"]


def test_up_restarts_a_storage_server_that_runs_but_never_answers(stack_env):
    """A hung redis-server (SIGSTOPped here; CI once saw FalkorDB hang for real) is replaced by
    `up` on the same data: a running, answering one is reused as before."""
    import signal

    from cluster.graphserver import pid_alive

    comp = local.GraphComponent(stack_env)
    pid, fresh = comp.start()
    assert fresh and pid is not None
    assert comp.start() == (pid, False)  # answering: reused
    redis.Redis.from_url(comp.server.url).set("kept", "yes")
    os.kill(pid, signal.SIGSTOP)
    try:
        new, fresh = comp.start()
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGCONT)
    assert fresh and new not in (None, pid)
    assert not pid_alive(pid)
    assert redis.Redis.from_url(comp.server.url).get("kept") == b"yes"
    assert local.status(stack_env).part(comp.name).healthy
