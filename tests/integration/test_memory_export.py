"""`fleet export` writes every event (archived ones too) and the usage ledger to Parquet."""

from __future__ import annotations

import uuid

import pyarrow.parquet as pq

from cluster.cli import main
from fleet.adapters.redis_events import RedisEventLog
from fleet.contracts import UsageRecord
from fleet.events import Envelope, make_event
from fleet.testing.fakes import FakeClock
from fleet.testing.sample_timeline import sample_story


def test_export_includes_archived_events_and_usage(redis_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(
        "HOME", str(tmp_path)
    )  # config data_dir (~/.swe-fleet) -> the archive lives under tmp
    clock = FakeClock()
    sid = f"exp-{uuid.uuid4().hex[:6]}"
    events = sample_story(sid, clock=clock, tasks=1)
    events.append(
        make_event(
            sid,
            "model.usage",
            clock=clock,
            payload=UsageRecord(
                story_id=sid,
                role="developer",
                model="smollm2",
                prompt_tokens=10,
                completion_tokens=5,
                latency_ms=12.0,
            ),
            envelope=Envelope(key="u1"),
        )
    )
    log = RedisEventLog(redis_url, archive_dir=tmp_path / ".swe-fleet" / "archive")
    log.append_many(events)
    log.trim(sid, keep=4)
    assert main(["export", "--story", sid, "--out", str(tmp_path / "out"), "--url", redis_url]) == 0
    table = pq.read_table(tmp_path / "out" / "events.parquet")
    assert table.column("event_id").to_pylist() == [e.id for e in events]
    usage = pq.read_table(tmp_path / "out" / "usage.parquet").to_pylist()
    assert [(u["model"], u["prompt_tokens"]) for u in usage] == [("smollm2", 10)]
    assert (
        main(["export", "--story", "no-such", "--out", str(tmp_path / "o2"), "--url", redis_url])
        == 2
    )
    assert "no-such" in capsys.readouterr().err
