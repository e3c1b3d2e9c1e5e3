"""`fleet run` submits a story once, even when it retries through a stack restart: a real HTTP
server records the first POST and drops its answer (the gateway dying mid-request), then plays
the Serve proxy's 404 while the gateway deploys, then answers again. The CLI runs as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cluster.graphserver import free_port

ROOT = Path(__file__).resolve().parents[2]


class Fleet:
    def __init__(self) -> None:
        self.created: dict[str, dict] = {}  # story id -> body: what the fleet recorded
        self.posts = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fleet = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: object, kind: str = "application/json") -> None:
                raw = (json.dumps(body) if kind == "application/json" else str(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fleet.posts += 1
                if fleet.posts == 1:  # recorded, then the replica dies before answering
                    fleet.created[body["id"]] = body
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fleet.posts == 2:  # the Serve proxy up, the gateway app not deployed yet
                    return self._send(404, "Path '/stories' not found.", "text/plain")
                if body["id"] in fleet.created:
                    return self._send(409, {"error": "conflict", "message": "exists"})
                fleet.created[body["id"]] = body
                return self._send(201, {"id": body["id"], "state": "DRAFT"})

            def do_GET(self) -> None:  # noqa: N802
                sid = self.path.split("?")[0].split("/")[2]
                if sid in fleet.created and self.path.startswith(f"/stories/{sid}/events"):
                    ev = {"id": "e1", "type": "story.parked", "story_id": sid, "at_ms": 1}
                    ev["data"] = {"gate": "scope", "reason": "the PO approves the scope"}
                    frame = f"id: 1-0\nevent: story.parked\ndata: {json.dumps(ev)}\n\n"
                    return self._send(200, frame, "text/event-stream")
                if sid in fleet.created and self.path == f"/stories/{sid}/report":
                    return self._send(200, f"# report of {sid}\n", "text/markdown")
                if sid in fleet.created and self.path == f"/stories/{sid}":
                    parked = {"gate": "scope", "reason": "the PO approves the scope"}
                    return self._send(200, {"id": sid, "state": "DRAFT", "parked": parked})
                return self._send(404, {"error": "not_found", "message": self.path})

            def log_message(self, *args: object) -> None:
                pass

        return H


def _cli(*args: str, data_dir: Path) -> tuple[int, str, str]:
    env = {**os.environ, "FLEET_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "cluster.cli", *args, "--token", "t"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_a_submission_retried_through_a_restart_creates_one_story(tmp_path):
    fleet = Fleet()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), fleet.handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        code, out, err = _cli(
            *("run", "--url", url, "--repo", str(tmp_path), "--title", "t", "--timeout", "20"),
            data_dir=tmp_path,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert fleet.posts == 3, (out, err)
    assert len(fleet.created) == 1, fleet.created  # one story, however often it was sent
    (sid,) = fleet.created
    assert f"submitted {sid} to {url}" in out, (out, err)
    assert out.count("(waiting for the fleet:") == 1, out  # one line per outage
    assert code == 3, (out, err)  # followed to its scope gate: the story the first try made


def test_a_fleet_that_never_answers_at_submission_exits_1_after_the_wait(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = _cli(
        *("run", "--url", url, "--repo", str(tmp_path), "--title", "t", "--submit-wait", "2"),
        data_dir=tmp_path,
    )
    assert code == 1, (out, err)
    assert err.startswith(f"fleet run: error: cannot reach {url}"), err
    assert "(waiting for the fleet:" in out
