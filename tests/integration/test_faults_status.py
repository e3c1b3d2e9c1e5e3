"""`fleet status` while the storage server hangs: hung is not stopped.

A real redis-server + FalkorDB (`fleet up`'s storage component on a private data dir and port)
is SIGSTOPped: it accepts connections and replies to nothing, as the hung FalkorDB CI once met.
Beside it, a real HTTP server plays the deployed gateway whose health says storage is down (or
accepts and never answers). `fleet status` must say both run and what is wrong with them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cluster import local
from cluster.cli import main
from cluster.fleet_apps import statefile
from cluster.graphserver import free_port, pid_alive
from fleet.config import fleet_config


class _Degraded(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        raw = json.dumps({"status": "degraded", "redis": False, "orchestrator": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path / "data"))
    for var in ("FLEET_REDIS_PORT", "FLEET_RAY_GCS_PORT", "FLEET_DASHBOARD_PORT"):
        monkeypatch.setenv(var, str(free_port()))
    monkeypatch.setenv("FLEET_GATEWAY_PORT", str(free_port()))
    cfg = fleet_config()
    os.makedirs(cfg.data_dir, exist_ok=True)
    statefile(cfg).write_text(json.dumps({"model": "scripted"}))  # the apps count as deployed
    yield cfg
    local.down(cfg)


@pytest.fixture
def hung_storage(env) -> Iterator[int]:
    comp = local.GraphComponent(env)
    pid, fresh = comp.start()
    assert fresh and pid is not None
    os.kill(pid, signal.SIGSTOP)
    yield pid
    if pid_alive(pid):
        os.kill(pid, signal.SIGCONT)


def _status(capsys) -> tuple[int, str]:
    rc = main(["status"])
    return rc, capsys.readouterr().out


def test_status_says_a_hung_storage_and_its_degraded_gateway_run(env, hung_storage, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", env.gateway.port), _Degraded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rc, out = _status(capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert rc == 1
    assert f"redis+falkordb: running (pid {hung_storage})" in out, out
    assert "HUNG: accepts connections but replied to nothing" in out
    assert "check redis PING: FAILED" in out and local.STORAGE_DOWN in out
    assert "serve apps: running" in out, out
    assert "the gateway answers: degraded (redis not ok)" in out
    assert "stopped" not in out.replace("ray head: stopped", "")  # no head runs here


def test_a_gateway_that_accepts_and_never_answers_runs_too(env, hung_storage, capsys):
    with socket.socket() as listener:  # a listening socket nobody serves: requests hang
        listener.bind(("127.0.0.1", env.gateway.port))
        listener.listen(8)
        rc, out = _status(capsys)
    assert rc == 1
    assert "serve apps: running" in out, out
    assert "the gateway accepts connections but answered nothing" in out


def test_stopped_is_still_stopped(env, capsys):
    rc, out = _status(capsys)
    assert rc == 1
    assert "redis+falkordb: stopped" in out and "serve apps: stopped" in out, out
