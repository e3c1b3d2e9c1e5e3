"""``fleet mcp`` logs quietly: a tool call that reaches the gateway over HTTP leaves nothing on
stderr (no rich-formatted "HTTP Request" line per call), and stdout carries only the protocol.
The CLI runs as a process, spoken to in JSON-RPC over its stdio; a real HTTP server plays the
gateway."""

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


class _Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        raw = json.dumps({"id": "s1", "title": "Add divide", "state": "DRAFT"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


def _rpc(proc: subprocess.Popen[str], msg: dict) -> dict | None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()
    if "id" not in msg:
        return None
    while True:
        line = proc.stdout.readline()
        assert line, "fleet mcp closed its stdout"
        answer = json.loads(line)  # stdout: protocol messages only
        if answer.get("id") == msg["id"]:
            return answer


def test_a_tool_call_leaves_stderr_empty(tmp_path):
    handler = type("G", (_Gateway,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {**os.environ, "FLEET_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", "mcp", "--url", url, "--token", "t"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        init = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        }
        assert "result" in _rpc(
            proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}
        )
        _rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        call = {"name": "show_story", "arguments": {"story_id": "s1"}}
        answer = _rpc(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
        assert "Add divide" in json.dumps(answer)
        assert handler.seen == ["/stories/s1"]  # the call did reach the gateway over HTTP
    finally:
        try:  # communicate() closes stdin: the server ends
            _, err = proc.communicate(timeout=20)
        finally:
            proc.kill()
            server.shutdown()
            server.server_close()
    assert err == "", err
