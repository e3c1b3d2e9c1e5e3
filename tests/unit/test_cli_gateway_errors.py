"""A gateway error reaches the user as one clear line: the HTTP status and the server's message.

The gateway here is a real HTTP server on loopback that answers with the gateway's error model
(``{"error", "message", "field"}``), so the CLI's whole client path runs: httpx, status check,
error parsing, ``GatewayError``, and ``main``'s error printing.
"""

from __future__ import annotations

import json
import pickle
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cluster import cli
from cluster.cli.gateway_client import GatewayError


class _Refusing(BaseHTTPRequestHandler):
    """Answers every call the way the gateway answers a bad one."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.command == "GET" and self.path.split("?")[0] == "/stories":
            status, body = 401, {"error": "unauthorized", "message": "unknown token", "field": None}
        elif self.path.startswith("/plain"):
            status, body = 502, None
        else:
            status = 422
            body = {
                "error": "invalid_request",
                "message": "body.title: String should have at least 1 character",
                "field": "body.title",
            }
        raw = json.dumps(body).encode() if body else b"upstream\nproxy error"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body else "text/plain")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "unexpected" not in err and "Traceback" not in err
    return lines[0]


def test_run_rejected_by_the_gateway_prints_status_and_message(gateway_url, capsys, tmp_path):
    code = cli.main(
        [
            "run",
            "--url",
            gateway_url,
            "--token",
            "t",
            "--repo",
            str(tmp_path),
            "--title",
            "x",
        ]
    )
    assert code == 2
    line = _one_error_line(capsys)
    assert line == (
        "fleet run: error: gateway answered HTTP 422: "
        "body.title: String should have at least 1 character"
    )


def test_stories_with_a_bad_token(gateway_url, capsys):
    assert cli.main(["stories", "--url", gateway_url, "--token", "wrong"]) == 2
    assert (
        _one_error_line(capsys) == "fleet stories: error: gateway answered HTTP 401: unknown token"
    )


def test_a_non_json_error_body_still_gives_one_line(gateway_url, capsys):
    assert cli.main(["show", "--url", f"{gateway_url}/plain", "--token", "t", "s1"]) == 1
    assert _one_error_line(capsys) == (
        "fleet show: error: gateway answered HTTP 502: upstream proxy error"
    )


def test_an_unreachable_gateway_says_so(capsys):
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        assert cli.main(["stories", "--url", url, "--token", "t"]) == 1  # no usage error
    line = _one_error_line(capsys)
    assert line.startswith(f"fleet stories: error: cannot reach {url}")
    assert "is `fleet up` running?" in line


def test_gateway_error_keeps_its_fields_across_pickling():
    err = pickle.loads(pickle.dumps(GatewayError(status=404, message="no story s1")))
    assert (err.status, err.detail, str(err)) == (
        404,
        "no story s1",
        "gateway answered HTTP 404: no story s1",
    )


def test_which_answers_are_the_fleet_away_and_which_a_refusal():
    away = [GatewayError(status=s, message="m") for s in (0, 500, 502, 503, 504)]
    assert all(e.outage for e in away)
    assert not any(GatewayError(status=s, message="m").outage for s in (400, 401, 404, 409, 422))
    assert GatewayError(status=404, message="Path '/x' not found", outage=True).outage
