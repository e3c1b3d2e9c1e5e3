"""A full disk is a storage outage: the story pauses and resumes by itself, nothing crashes.

The real redis-server + FalkorDB keeps its AOF on a small tmpfs that the test fills to the last
byte: Redis then refuses every write, and PING, with ``MISCONF Errors writing to the AOF file:
No space left on device`` until a write succeeds again. The story driver on the real event log
must pause on that (``StorageUnavailable``, nothing parked, no traceback), and once space is
back, go on to DONE with no event stored twice; a short episode is ridden out inside one call.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cluster.graphserver import GraphServer, free_port
from fleet.adapters.redis_events import RedisEventLog
from fleet.errors import StorageUnavailable
from fleet.events import Envelope, make_event
from fleet.orchestrator import commands
from fleet.testing.fakes import FakeClock
from tests.unit.test_orchestrator import GOOD, Council, drive, setup

TMPFS_MB = 24


class Disk:
    """A small tmpfs that can be filled up and emptied again."""

    def __init__(self, root: Path) -> None:
        self.root, self.filler = root, root / "filler"

    def fill(self) -> None:
        with open(self.filler, "ab") as f, contextlib.suppress(OSError):  # ENOSPC: full
            while True:
                f.write(b"\0" * 65536)
                f.flush()

    def fill_and_refuse(self, url: str) -> None:
        """Fill, then write once so Redis meets the full disk (its first failed AOF write is
        what turns it to refusing: the write that met it was already acknowledged)."""
        self.fill()
        r = redis.Redis.from_url(url)
        with contextlib.suppress(redis.exceptions.ResponseError):
            r.set("fleet:test:trigger", "x" * 40_000)
        deadline = time.monotonic() + 10
        while True:
            try:
                r.ping()
            except redis.exceptions.ResponseError:
                break  # MISCONF: it refuses now
            assert time.monotonic() < deadline, "Redis never noticed the full disk"
            time.sleep(0.1)
        r.close()

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def disk(tmp_path) -> Iterator[Disk]:
    root = tmp_path / "small-disk"
    root.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(root)], check=True
    )
    try:
        yield Disk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture
def server(disk) -> Iterator[GraphServer]:
    srv = GraphServer(data_dir=disk.root / "graph", port=free_port())
    srv.start()
    yield srv
    disk.free()
    srv.stop()


def _log(server: GraphServer, tmp_path: Path, patience_s: float) -> RedisEventLog:
    return RedisEventLog(
        server.url,
        prefix=f"d{uuid.uuid4().hex[:6]}",
        archive_dir=tmp_path / "archive",
        patience_s=patience_s,
    )


def _big(clock: FakeClock, n: int) -> object:
    # big enough to need new pages in the AOF (a write that fits a page already there succeeds)
    return make_event(
        "s1",
        "story.parked",
        clock=clock,
        data={"gate": "scope", "reason": "x" * 40_000},
        envelope=Envelope(key=f"p{n}"),
    )


class FillingCouncil(Council):
    """Deliberates, and the disk fills up meanwhile: what the driver stores next is refused."""

    def __init__(self, disk: Disk) -> None:
        super().__init__()
        self.disk = disk

    def deliberate(self, *args, **kwargs):
        self.disk.fill()
        return super().deliberate(*args, **kwargs)


def test_a_story_pauses_on_a_full_disk_and_finishes_once_space_is_back(
    server, disk, tmp_path, caplog
):
    import dataclasses

    log = _log(server, tmp_path, patience_s=1.0)
    _, clock, lifecycle, services = setup()
    commands.create_story(log, GOOD, clock=clock)
    for _ in range(2):  # scope and design
        drive(log, clock, lifecycle, services)
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )
    filling = dataclasses.replace(services, council=FillingCouncil(disk))
    with caplog.at_level(logging.WARNING), pytest.raises(StorageUnavailable, match="MISCONF"):
        drive(log, clock, lifecycle, filling)  # a pause, not a crash
    assert not log.ping()  # a Redis that cannot write is down for the watcher too
    disk.free()
    deadline = time.monotonic() + 20
    while not log.ping():  # Redis retries its AOF write every second
        assert time.monotonic() < deadline, "Redis never took writes again"
        time.sleep(0.2)
    view = drive(log, clock, lifecycle, services)
    while view.parked and view.parked.gate != "error":
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )
        view = drive(log, clock, lifecycle, services)
    assert view.outcome == "done", view.parked
    ids = [e.id for _, e in log.read("s1")]
    assert len(ids) == len(set(ids))
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    starts = [r for r in caplog.records if "storage unavailable" in r.getMessage()]
    assert len(starts) == 1 and "MISCONF" in starts[0].getMessage(), starts


def test_a_short_full_disk_episode_is_ridden_out_inside_one_call(server, disk, tmp_path, caplog):
    log = _log(server, tmp_path, patience_s=15.0)
    clock = FakeClock()
    log.append(_big(clock, 0))
    disk.fill_and_refuse(server.url)
    with pytest.raises(StorageUnavailable):  # no patience here: the gateway's 503
        _log(server, tmp_path, patience_s=0.0).append(_big(clock, 1))
    threading.Timer(1.5, disk.free).start()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        log.append(_big(clock, 2))  # waits for the space, then is stored
    assert 1.0 < time.monotonic() - started < 15
    assert [e.id for _, e in log.read("s1")] == ["s1:story.parked:p0", "s1:story.parked:p2"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "MISCONF" in lines[0] and "back after" in lines[1], lines


def test_status_names_a_full_disk(disk, monkeypatch, capsys):
    from cluster import local
    from cluster.cli import main
    from fleet.config import fleet_config

    monkeypatch.setenv("FLEET_DATA_DIR", str(disk.root))
    for var in ("FLEET_REDIS_PORT", "FLEET_RAY_GCS_PORT", "FLEET_DASHBOARD_PORT"):
        monkeypatch.setenv(var, str(free_port()))
    cfg = fleet_config()
    comp = local.GraphComponent(cfg)
    pid, _ = comp.start()
    try:
        disk.fill_and_refuse(comp.server.url)
        rc = main(["status"])
        out = capsys.readouterr().out
    finally:
        disk.free()
        comp.stop()
    assert rc == 1
    assert f"redis+falkordb: running (pid {pid})" in out, out
    assert (
        "REFUSES to store: MISCONF Errors writing to the AOF file: No space left on device" in out
    )
    assert f"{disk.root / 'graph'}: 0 MiB free of {TMPFS_MB} MiB" in out, out
    assert local.STORAGE_DOWN in out
