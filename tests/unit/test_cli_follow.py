"""`fleet run` / `fleet follow` against a real HTTP server that behaves like the gateway through
a stack restart: SSE with keep-alives, then nothing listening, then the Serve proxy's 404 while
the gateway app deploys, then the gateway again. The CLI runs as a process (`python -m
cluster.cli`), so its exit code and output are what a user sees; a hang fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cluster.graphserver import free_port

ROOT = Path(__file__).resolve().parents[2]
PROXY_404 = "Path '{}' not found. Ping http://.../-/routes for available routes."


@dataclass
class Fleet:
    """What the fake fleet answers; the test changes ``phase`` and ``events`` as time goes on."""

    phase: str = "up"  # up: the gateway; proxy: Serve without the gateway app
    events: list[dict] = field(default_factory=list)
    story: dict = field(default_factory=lambda: {"id": "s1", "state": "BUILD", "outcome": None})
    approvals: list[dict] = field(default_factory=list)
    keepalive_s: float = 0.3
    streams: int = 0  # event streams opened

    def wait_for_stream(self, n: int = 1) -> None:
        """Until the CLI (started as a process: its imports take a while) follows the story."""
        deadline = time.monotonic() + 30
        while self.streams < n:
            assert time.monotonic() < deadline, "the CLI never opened its event stream"
            time.sleep(0.1)


def _event(n: int, type_: str, **data: object) -> dict:
    return {"id": f"s1:{type_}:{n}", "type": type_, "story_id": "s1", "data": data}


class _Handler(BaseHTTPRequestHandler):
    fleet: Fleet
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: object, kind: str = "application/json") -> None:
        raw = (json.dumps(body) if kind == "application/json" else str(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0]
        if self.fleet.phase == "proxy":
            return self._send(404, PROXY_404.format(path), "text/plain")
        if path == "/stories/s1/events":
            return self._stream()
        if path == "/stories/s1":
            return self._send(200, self.fleet.story)
        if path == "/stories/s1/report":
            return self._send(200, "# report of s1\n", "text/markdown")
        error = {"error": "not_found", "message": f"no story at {path}", "field": None}
        return self._send(404, error)

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or "{}")
        if self.fleet.phase == "proxy":
            return self._send(404, PROXY_404.format(self.path), "text/plain")
        if self.path == "/stories":
            return self._send(201, self.fleet.story)
        self.fleet.approvals.append(body)
        return self._send(200, {"type": "story.approved", "event_id": "a1", "story_id": "s1"})

    def _stream(self) -> None:
        phase, sent = self.fleet.phase, int(self.headers.get("Last-Event-ID") or 0)
        self.fleet.streams += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        while self.fleet.phase == phase:
            for n, event in enumerate(self.fleet.events[sent:], start=sent + 1):
                frame = f"id: {n}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"
                self.wfile.write(frame.encode())
                sent = n
                if event["type"] == "story.done":
                    return
            self.wfile.write(b": keep-alive\n\n")
            self.wfile.flush()
            time.sleep(self.fleet.keepalive_s)

    def log_message(self, *args: object) -> None:
        pass


class Gateway:
    """A fake gateway on a fixed loopback port that can stop (nothing listens) and come back."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet, self.port = fleet, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        handler = type("H", (_Handler,), {"fleet": self.fleet})
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def fleet() -> Fleet:
    return Fleet()


@pytest.fixture
def gateway(fleet: Fleet) -> Iterator[Gateway]:
    gw = Gateway(fleet)
    gw.start()
    yield gw
    fleet.phase = "gone"  # ends open streams
    gw.stop()


def fleet_cli(*args: str, data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "FLEET_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", *args, "--token", "t"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(gateway: Gateway, *args: str, data_dir: Path) -> subprocess.Popen[str]:
    """`fleet run` of a story (the fake gateway names it s1)."""
    return fleet_cli(
        *("run", "--url", gateway.url, "--repo", str(data_dir), "--title", "t", *args),
        data_dir=data_dir,
    )


def finish(proc: subprocess.Popen[str], *, within: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the CLI still ran after {within} s:\n{out}\n{err}")
    return proc.returncode, out, err


def test_timeout_is_a_wall_clock_deadline_while_the_story_is_silent(gateway, fleet, tmp_path):
    fleet.events.append(_event(1, "story.transition", **{"from": "DRAFT", "to": "BUILD"}))
    proc = run_cli(gateway, "--timeout", "3", data_dir=tmp_path)
    fleet.wait_for_stream()
    started = time.monotonic()
    code, out, err = finish(proc, within=30)
    took = time.monotonic() - started
    assert code == 6, (out, err)
    assert "outcome: not finished within --timeout 3 s (state BUILD" in out, out
    assert "exit code 6" in out and "parked at None" not in out
    # keep-alives never stop the clock (they would run to finish()'s 30 s); the margin is for the
    # final state read and interpreter exit on a loaded 2-core machine
    assert took < 3 + 7, took


def test_run_follows_the_story_across_a_stack_restart(gateway, fleet, tmp_path):
    fleet.events.append(_event(1, "story.transition", **{"from": "DRAFT", "to": "BUILD"}))
    proc = run_cli(gateway, "--auto-approve", "--timeout", "60", data_dir=tmp_path)
    fleet.wait_for_stream()
    fleet.phase = "down"  # `fleet down`: the stream ends, then nothing listens
    gateway.stop()
    time.sleep(2.5)
    fleet.phase = "proxy"  # `fleet up`: Serve's proxy answers before the gateway app is deployed
    gateway.start()
    time.sleep(2.5)
    fleet.events += [
        _event(2, "story.parked", gate="acceptance", reason="PO"),
        _event(3, "story.done", outcome="done"),
    ]
    fleet.story = {"id": "s1", "state": "DONE", "outcome": "done"}
    fleet.phase = "up"
    code, out, err = finish(proc, within=60)
    assert code == 0, (out, err)
    assert out.count("waiting for the fleet") == 1, out  # one line for the whole restart
    assert "outcome: done (state DONE" in out, out
    assert fleet.approvals == [{"gate": "acceptance", "approved": True, "comment": "auto-approved"}]


def test_fleet_away_at_the_deadline_exits_6_not_2(gateway, fleet, tmp_path):
    proc = run_cli(gateway, "--timeout", "4", data_dir=tmp_path)
    fleet.wait_for_stream()
    fleet.phase = "down"
    gateway.stop()
    code, out, err = finish(proc, within=30)
    assert code == 6, (out, err)
    assert "outcome: not finished within --timeout 4 s (state unknown" in out, out
    assert "the fleet did not answer: cannot reach" in out, out
    assert out.count("waiting for the fleet") == 1 and not err, (out, err)


def test_follow_a_submitted_story(gateway, fleet, tmp_path):
    fleet.events += [_event(1, "story.parked", gate="scope", reason="PO")]
    fleet.story = {"id": "s1", "state": "DRAFT", "outcome": None, "parked": {"gate": "scope"}}
    proc = fleet_cli("follow", "s1", "--url", gateway.url, data_dir=tmp_path)
    code, out, err = finish(proc, within=30)
    assert code == 3, (out, err)
    assert "outcome: parked at scope (state DRAFT" in out, out


def test_the_gateways_own_404_is_an_error_not_a_wait(gateway, tmp_path):
    proc = fleet_cli("follow", "nope", "--url", gateway.url, "--timeout", "30", data_dir=tmp_path)
    code, out, err = finish(proc, within=20)
    assert code == 2, (out, err)
    assert "gateway answered HTTP 404: no story at /stories/nope/events" in err
    assert "waiting for the fleet" not in out


def test_an_unreachable_fleet_at_submission_exits_1_after_the_submit_wait(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    proc = fleet_cli(
        *("run", "--url", url, "--repo", str(tmp_path), "--title", "t", "--submit-wait", "1"),
        data_dir=tmp_path,
    )
    code, out, err = finish(proc, within=20)
    assert code == 1, (out, err)
    assert err.startswith(f"fleet run: error: cannot reach {url}"), err
