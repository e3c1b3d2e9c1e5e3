"""Both readers of the story event stream (the CLI follower and the MCP tools) parse what the
gateway's own SSE writer sends: the retry hint and keep-alives are skipped, every event arrives
whole with its entry id, and a data line holding ``data:`` or a colon is not cut.

The body comes from ``serve_apps.gateway.router._sse`` (the writer the gateway serves) over a
real loopback HTTP server; the clients are the product's own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cluster.cli.gateway_client import Client
from cluster.graphserver import free_port
from fleet.contracts import FleetEvent
from serve_apps.gateway.mcp_server import Gateway, over_http
from serve_apps.gateway.router import _sse
from serve_apps.gateway.service import HEARTBEAT

EVENTS = [
    FleetEvent(id="e1", story_id="s1", type="story.created", at_ms=1, data={"note": "a: b"}),
    FleetEvent(id="e2", story_id="s1", type="story.note", at_ms=2, data={"t": "data: x\n\ny"}),
    FleetEvent(id="e3", story_id="s1", type="story.done", at_ms=3),
]
ENTRIES = ["1700000000000-0", "1700000000001-0", "1700000000002-0"]


def _body() -> bytes:
    items: list[object] = [HEARTBEAT]
    for entry, event in zip(ENTRIES, EVENTS, strict=True):
        items += [(entry, event), HEARTBEAT]
    return "".join(_sse(iter(items))).encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = _body()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway_url() -> Iterator[str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_the_writer_sends_what_the_readers_must_skip():
    body = _body().decode()
    assert body.startswith("retry: 2000\n\n") and body.count(": keep-alive\n\n") == 4


def test_the_cli_follower_reads_every_event_with_its_entry_id(gateway_url):
    got = list(Client(gateway_url, "tok").events("s1", deadline=None))
    assert [entry for entry, _ in got] == ENTRIES
    assert [FleetEvent.model_validate(ev) for _, ev in got] == EVENTS


def test_the_mcp_tools_read_every_event_of_a_finished_stream(gateway_url):
    got = asyncio.run(Gateway(over_http(gateway_url, "tok")).events(None, "s1"))
    assert [FleetEvent.model_validate(ev) for ev in got] == EVENTS
