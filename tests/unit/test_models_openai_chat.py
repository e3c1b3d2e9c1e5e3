"""OpenAIChatModel against real local HTTP peers: retries on 5xx, dead ports, timeouts, 4xx."""

from __future__ import annotations

import json
import pickle
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cluster.graphserver import free_port
from fleet.adapters.openai_chat import OpenAIChatModel, Retry
from fleet.contracts import ChatMessage
from fleet.errors import ModelUnavailable

pytestmark = pytest.mark.usefixtures("allow_model_requests")  # the peers below are not models

MSG = [ChatMessage(role="user", content="hi")]
OK = {
    "choices": [{"message": {"role": "assistant", "content": '{"x": 1}'}}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 5},
}


class Peer:
    """A tiny OpenAI-ish server that answers from a script of (status, body, delay_s)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                peer.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                status, payload, delay = (
                    peer.script.pop(0) if len(peer.script) > 1 else peer.script[0]
                )
                time.sleep(delay)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer_factory():
    peers = []

    def make(*script):
        peers.append(Peer(script))
        return peers[-1]

    yield make
    for p in peers:
        p.close()


def test_retries_on_5xx_then_succeeds(peer_factory):
    peer = peer_factory((500, {"error": "boom"}, 0), (503, {"error": "busy"}, 0), (200, OK, 0))
    model = OpenAIChatModel(
        peer.url, "m", retry=Retry(max_retries=2, backoff_s=0.01), name="local", api_key="k"
    )
    out = model.complete(MSG, schema={"type": "object"}, seed=3, max_tokens=9)
    assert len(peer.requests) == 3
    assert (
        out.text == '{"x": 1}'
        and out.model == "local"
        and (out.prompt_tokens, out.completion_tokens) == (7, 5)
    )
    body = peer.requests[-1]["body"]
    assert (
        peer.requests[-1]["path"] == "/v1/chat/completions"
        and peer.requests[-1]["auth"] == "Bearer k"
    )
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert (body["seed"], body["max_tokens"], body["model"]) == (3, 9, "m")


def test_gives_up_after_bounded_retries_naming_the_url(peer_factory):
    peer = peer_factory((500, {"error": "boom"}, 0))
    model = OpenAIChatModel(peer.url, "m", retry=Retry(max_retries=1, backoff_s=0.01))
    with pytest.raises(ModelUnavailable) as err:
        model.complete(MSG)
    assert len(peer.requests) == 2
    assert (
        peer.url in str(err.value)
        and "HTTP 500" in str(err.value)
        and "2 attempts" in str(err.value)
    )


def test_client_error_is_not_retried(peer_factory):
    peer = peer_factory((400, {"error": "bad schema"}, 0))
    with pytest.raises(ModelUnavailable, match="HTTP 400"):
        OpenAIChatModel(peer.url, "m", retry=Retry(max_retries=3, backoff_s=0.01)).complete(MSG)
    assert len(peer.requests) == 1


def test_dead_port_is_unavailable_quickly():
    url = f"http://127.0.0.1:{free_port()}/v1"
    start = time.monotonic()
    with pytest.raises(ModelUnavailable) as err:
        OpenAIChatModel(url, "m", retry=Retry(max_retries=2, backoff_s=0.01)).complete(MSG)
    assert "cannot connect" in str(err.value) and url in str(err.value)
    # bounded by the retries given, not the SDK's own retry/timeout cycle (minutes); generous
    # because a loaded 2-core machine took over 5 s to build the client once
    assert time.monotonic() - start < 30


def test_timeout_is_retried_then_unavailable(peer_factory):
    peer = peer_factory((200, OK, 1.0))
    with pytest.raises(ModelUnavailable, match="timed out"):
        OpenAIChatModel(
            peer.url, "m", retry=Retry(timeout_s=0.2, max_retries=1, backoff_s=0.01)
        ).complete(MSG)
    assert len(peer.requests) == 2


def test_non_completion_body_is_unavailable(peer_factory):
    peer = peer_factory((200, {"hello": "world"}, 0))
    with pytest.raises(ModelUnavailable, match="not a chat completion"):
        OpenAIChatModel(peer.url, "m").complete(MSG)


def test_picklable_after_use(peer_factory):
    peer = peer_factory((200, OK, 0))
    model = OpenAIChatModel(peer.url, "m")
    model.complete(MSG)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.complete(MSG).text == '{"x": 1}'


def test_with_a_trace_file_every_call_is_one_private_json_line(peer_factory, tmp_path, monkeypatch):
    trace = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FLEET_MODEL_TRACE", str(trace))
    peer = peer_factory((200, OK, 0))
    model = OpenAIChatModel(peer.url, "m", name="local")
    model.complete(MSG, temperature=0.3, seed=4, max_tokens=9)
    model.complete([ChatMessage(role="user", content="again")], max_tokens=9)
    calls = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [c["messages"][-1]["content"] for c in calls] == ["hi", "again"]
    assert calls[0]["reply"] == '{"x": 1}' and calls[0]["temperature"] == 0.3
    assert calls[0]["seed"] == 4 and calls[0]["model"] == "local"
    assert trace.stat().st_mode & 0o777 == 0o600


def test_without_a_trace_file_nothing_is_written(peer_factory, tmp_path, monkeypatch):
    monkeypatch.delenv("FLEET_MODEL_TRACE", raising=False)
    monkeypatch.chdir(tmp_path)
    OpenAIChatModel(peer_factory((200, OK, 0)).url, "m").complete(MSG, max_tokens=9)
    assert list(tmp_path.iterdir()) == []


def test_stop_strings_are_sent_only_when_given(peer_factory):
    peer = peer_factory((200, OK, 0), (200, OK, 0))
    model = OpenAIChatModel(peer.url, "m", retry=Retry(max_retries=0), name="local")
    model.complete(MSG, stop=("\ndef test", "\n```"))
    model.complete(MSG)
    first, second = (r["body"] for r in peer.requests)
    assert first["stop"] == ["\ndef test", "\n```"] and "stop" not in second


def test_the_scripted_model_ends_its_reply_where_a_stop_string_begins():
    from fleet.contracts import ChatMessage
    from fleet.testing.fakes import ScriptedChatModel

    begun = "```python\nimport m\n\n\ndef test_"
    reply = begun + "1():\n    assert m.f()\n\n\ndef test_2():\n    assert m.f()\n```\n"
    chat = ScriptedChatModel(script=lambda messages, schema: reply)
    asked = [
        ChatMessage(role="user", content="a test"),
        ChatMessage(role="assistant", content=begun),
    ]
    # the begun module is not searched (a server matches stop strings in what it generates)
    got = chat.complete(asked, stop=("\ndef test", "\n```")).text
    assert got == begun + "1():\n    assert m.f()\n\n"
    assert chat.complete(asked).text == reply
