"""Storage patience, for real: the actors' event log waits out a short Redis outage instead of
failing the step it is in. The server (our own, with AOF) is SIGKILLed and restarted on the
same data directory; calls made while it is down complete after the restart, exactly once; an
outage longer than the patience still raises ``StorageUnavailable``; the gateway's log (no
patience) fails at once, and its API answers 503 at once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
from fault_tools import until

from fleet.errors import StorageUnavailable
from fleet.events import Envelope, make_event
from fleet.testing.fakes import FakeClock


@pytest.fixture
def server(tmp_path):
    from cluster.graphserver import GraphServer, free_port

    s = GraphServer(data_dir=tmp_path / "graph", port=free_port())
    s.start()
    yield s
    s.stop()


def kill(server) -> None:
    os.kill(server.running_pid(), signal.SIGKILL)
    until(lambda: server.running_pid() is None, 10, "Redis to die")


def restart(server) -> None:
    from cluster.graphserver import GraphServer

    GraphServer(data_dir=server.data_dir, port=server.port).start()  # replays the AOF


def event(story: str, i: int):
    clock = FakeClock()
    clock.advance(10 * (i + 1))
    return make_event(
        story,
        "story.transition",
        clock=clock,
        data={"from": "A", "to": f"S{i}"},
        envelope=Envelope(key=f"k{i}"),
    )


def log_of(server, tmp_path, patience_s: float):
    from fleet.adapters.redis_events import RedisEventLog

    return RedisEventLog(
        server.url,
        prefix=f"p{uuid.uuid4().hex[:8]}",
        archive_dir=tmp_path / "archive",
        patience_s=patience_s,
    )


def in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        t0 = time.monotonic()
        try:
            out["value"] = fn()
        except BaseException as exc:  # reported by the test
            out["error"] = exc
        out["took"] = time.monotonic() - t0

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_calls_during_a_short_outage_complete_after_the_restart(server, tmp_path):
    log = log_of(server, tmp_path, patience_s=30.0)
    log.append(event("s1", 0))
    log.ensure_group("g")
    assert [ev.id for _, ev in log.read_group("g", "c1")] == [event("s1", 0).id]
    version = log.checkpoint_put("ck", {"step": 1}, expected_version=0)

    kill(server)
    calls = {
        "append": lambda: log.append_many([event("s1", 1), event("s1", 2)]),
        "read": lambda: [ev.id for _, ev in log.read("s1")],
        "checkpoint": lambda: log.checkpoint_put("ck", {"step": 2}, expected_version=version),
        "group": lambda: [ev.id for _, ev in log.read_group("g", "c1")],
    }
    running = {name: in_thread(fn) for name, fn in calls.items()}
    time.sleep(3.0)  # the outage: every call is waiting, none has failed
    assert all(t.is_alive() for t, _ in running.values()), {k: o for k, (_, o) in running.items()}
    restart(server)
    for name, (t, out) in running.items():
        t.join(timeout=30)
        assert not t.is_alive() and "error" not in out, (name, out)
        assert out["took"] >= 3.0, (name, out)  # it waited for the restart, it did not fail

    ids = [ev.id for _, ev in log.read("s1")]
    assert ids == [event("s1", i).id for i in range(3)]  # each once, in order
    assert running["checkpoint"][1]["value"] == version + 1
    assert log.checkpoint_get("ck") == (version + 1, {"step": 2})
    assert log.patience.outages == 1 and log.patience.since is None
    log.ack("g", [e for e, _ in log.read("s1")])  # the group call saw the appended events
    assert set(running["group"][1]["value"]) <= set(ids)
    # A repeated append (what a retry after a lost reply is) stores nothing new.
    log.append_many([event("s1", 1), event("s1", 2)])
    assert log.length("s1") == 3


def test_an_outage_longer_than_the_patience_still_raises(server, tmp_path):
    log = log_of(server, tmp_path, patience_s=2.0)
    log.append(event("s1", 0))
    kill(server)
    try:
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailable) as err:
            log.append(event("s1", 1))
        took = time.monotonic() - t0
        assert 2.0 <= took < 8.0, took
        assert "Redis at" in str(err.value)
        assert log.ping() is False  # ping never waits
    finally:
        restart(server)
    assert [ev.id for _, ev in log.read("s1")] == [event("s1", 0).id]


def test_the_gateway_has_no_patience_and_answers_503_at_once(server, tmp_path):
    from starlette.testclient import TestClient

    from serve_apps.gateway.app import GatewayArgs, build_fastapi, stores

    args = GatewayArgs(
        redis_url=server.url, prefix="gw", data_dir=str(tmp_path), tokens={"viewer": "v-tok"}
    )
    gw_log, _ = stores(args, server.url)
    assert gw_log.patience is None
    app = build_fastapi(args)
    kill(server)
    try:
        with TestClient(app) as http:
            t0 = time.monotonic()
            r = http.get("/stories/s1", headers={"Authorization": "Bearer v-tok"})
            took = time.monotonic() - t0
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "unavailable" and "Redis" in r.json()["message"]
        assert took < 2.0, took
        t0 = time.monotonic()
        with pytest.raises(StorageUnavailable):
            gw_log.read("s1")
        assert time.monotonic() - t0 < 2.0
    finally:
        restart(server)


def test_the_actors_logs_are_built_with_the_settings_patience(server):
    from actors.settings import OrchestratorSettings
    from actors.story_services import event_log_factory
    from actors.wiring import event_log

    settings = OrchestratorSettings(redis_url=server.url, prefix="pw")
    assert settings.storage_patience_s == 15.0
    assert event_log(settings).patience.patience_s == 15.0
    assert event_log_factory(settings)().patience.patience_s == 15.0
    off = settings.model_copy(update={"storage_patience_s": 0.0})
    assert event_log(off).patience is None


def test_a_checkpoint_write_whose_reply_was_lost_is_recognised_on_retry(server, tmp_path):
    """The compare-and-set ran on the server but its reply never arrived (the connection died
    after it): the retry meets version+1 holding this very value, and reports success instead
    of a VersionConflict. A different value at version+1 is still a conflict."""
    import redis

    from fleet.errors import VersionConflict

    log = log_of(server, tmp_path, patience_s=10.0)
    real = log._cas
    lost = [True]

    def reply_lost(*args, **kwargs):
        result = real(*args, **kwargs)  # applied on the real server...
        if lost[0]:
            lost[0] = False
            raise redis.exceptions.ConnectionError("Connection closed by server.")  # ...unseen
        return result

    log._cas = reply_lost
    assert log.checkpoint_put("ck", {"step": 1}, expected_version=0) == 1
    assert log.checkpoint_get("ck") == (1, {"step": 1})

    # another writer got there first (no reply lost for it)
    assert log.checkpoint_put("ck2", {"by": "other"}, expected_version=0) == 1
    lost[0] = True
    with pytest.raises(VersionConflict):
        log.checkpoint_put("ck2", {"by": "me"}, expected_version=0)
