"""Storage outages as weather: recognised through wrappers, one log line each, never a park."""

from __future__ import annotations

import dataclasses
import logging
import threading

import pytest
from test_orchestrator import GOOD, Council, approve_until_done, drive, setup

from fleet import outage as outage_mod
from fleet.errors import QuorumLost, StorageUnavailable
from fleet.memory.projector import Projector
from fleet.orchestrator import commands
from fleet.orchestrator import driver as driver_mod
from fleet.outage import Outage, storage_cause, wait_for_storage
from fleet.testing.fakes import InMemoryEventLog

DOWN = StorageUnavailable(what="Redis at redis://127.0.0.1:1/0", reason="Connection refused")


class RemoteError(Exception):
    """Shaped like Ray's RayTaskError: the remote exception is in ``cause``."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__("remote traceback ...")
        self.cause = cause


def test_storage_cause_sees_through_wrappers_and_chains():
    assert storage_cause(DOWN) is DOWN
    assert storage_cause(RemoteError(DOWN)) is DOWN

    class DualError(StorageUnavailable):  # Ray's RayTaskError(StorageUnavailable) shape
        def __init__(self, cause):
            Exception.__init__(self, "ray::Actor.method() traceback")
            self.cause = cause

    assert storage_cause(DualError(DOWN)) is DOWN
    chained = RuntimeError("wrapped")
    chained.__cause__ = DOWN  # what `raise RuntimeError(...) from exc` leaves
    assert storage_cause(chained) is DOWN
    assert storage_cause(RuntimeError("a bug")) is None
    assert storage_cause(None) is None


def test_one_line_when_an_outage_starts_and_one_when_it_ends(caplog):
    now = [0.0]
    o = Outage("loop", logger=logging.getLogger("t"), monotonic=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="t"):
        delays = [o.failed(DOWN) for _ in range(50)]
        now[0] = 12.5
        assert o.ok() == 12.5
        assert o.ok() is None  # nothing to report when there was no outage
    assert len(caplog.records) == 2, [r.getMessage() for r in caplog.records]
    assert "storage unavailable" in caplog.records[0].getMessage()
    assert "back after 12.5 s" in caplog.records[1].getMessage()
    assert max(delays) == outage_mod.BACKOFF_S[-1] and delays == sorted(delays)
    assert o.outages == 1 and not o.down


def test_wait_for_storage_returns_when_the_probe_answers_or_stop_is_set():
    answers = iter([False, False, True])
    o = Outage("w", logger=logging.getLogger("t"), backoff_s=(0.01,))
    assert wait_for_storage(lambda: next(answers), o, stop=threading.Event(), first=DOWN)
    assert not o.down and o.outages == 1
    stop = threading.Event()
    stop.set()
    assert not wait_for_storage(lambda: True, o, stop=stop, first=DOWN)


class FlakyLog(InMemoryEventLog):
    """An in-memory log whose ping says what ``up`` says."""

    def __init__(self) -> None:
        super().__init__()
        self.up = True

    def ping(self) -> bool:
        return self.up


class FailingCouncil:
    def __init__(self, exc: Exception, log: FlakyLog | None = None) -> None:
        self.exc, self.log, self.calls = exc, log, 0

    def deliberate(self, *args, **kwargs):
        self.calls += 1
        if self.log is not None:
            self.log.up = False  # storage died while the council ran
        raise self.exc


def _to_build(log, clock, lifecycle, services):
    commands.create_story(log, GOOD, clock=clock)
    for _ in range(2):  # scope and design gates
        drive(log, clock, lifecycle, services)
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )


@pytest.mark.parametrize("wrapped", [True, False])
def test_a_storage_error_in_a_step_pauses_the_story_without_parking_it(wrapped):
    log, clock, lifecycle, services = setup()
    _to_build(log, clock, lifecycle, services)
    council = FailingCouncil(RemoteError(DOWN) if wrapped else DOWN)
    services = dataclasses.replace(services, council=council)
    with pytest.raises(StorageUnavailable):
        drive(log, clock, lifecycle, services)
    assert council.calls == 2, "one call per task (they build in parallel), no retry"
    assert not [e for _, e in log.read("s1") if e.type == "story.parked" and "error" in e.id]


def test_any_failure_while_the_log_does_not_answer_is_an_outage():
    _, clock, lifecycle, services = setup()
    log = FlakyLog()
    _to_build(log, clock, lifecycle, services)
    lost = QuorumLost(deliberation_id="d", round=0, present=0, quorum=1)
    council = FailingCouncil(lost, log)
    services = dataclasses.replace(services, council=council)
    with pytest.raises(StorageUnavailable, match="QuorumLost"):
        drive(log, clock, lifecycle, services)
    log.up = True
    assert not [e for _, e in log.read("s1") if e.data.get("gate") == "error"]


def test_a_real_failure_with_storage_up_still_parks_after_retries(monkeypatch):
    monkeypatch.setattr(driver_mod, "RETRY_WAIT_S", 0.0)
    _, clock, lifecycle, services = setup()
    log = FlakyLog()
    _to_build(log, clock, lifecycle, services)
    council = FailingCouncil(RuntimeError("a bug"))
    services = dataclasses.replace(services, council=council)
    view = drive(log, clock, lifecycle, services)
    assert view.parked and view.parked.gate == "error" and "a bug" in view.parked.reason
    assert council.calls == 2 * (driver_mod.INFRA_RETRIES + 1)  # two tasks, each retried


class OutageLog(InMemoryEventLog):
    """Group reads fail ``fail`` times (Redis down), and a batch read just before the outage
    is never acknowledged: after it, the projector must take it again (claim)."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail, self.pending_ids, self.acked = fail, [], []

    def ensure_group(self, group):
        pass

    def read_group(self, group, consumer, *, count=100, block_ms=None):
        if self.fail:
            self.fail -= 1
            raise DOWN
        new = [(e, ev) for s in self.stories() for e, ev in self.read(s)]
        new = [x for x in new if x[0] not in self.acked and x[0] not in self.pending_ids]
        self.pending_ids += [e for e, _ in new]
        return new

    def claim(self, group, consumer, *, min_idle_ms, count=100):
        all_ = [(e, ev) for s in self.stories() for e, ev in self.read(s)]
        return [x for x in all_ if x[0] in self.pending_ids and x[0] not in self.acked]

    def ack(self, group, ids):
        self.acked += ids
        return len(ids)


class Graph:
    def __init__(self, fail_first: bool) -> None:
        self.fail_first, self.events = fail_first, []

    def project_many(self, events):
        if self.fail_first:
            self.fail_first = False
            raise DOWN  # the batch was read, then storage died: not acknowledged
        self.events += events


def test_projector_waits_out_an_outage_and_reprojects_the_unacknowledged_batch(caplog):
    log, clock, lifecycle, services = setup()
    out = OutageLog(fail=3)
    _to_build(out, clock, lifecycle, services)
    graph = Graph(fail_first=True)
    p = Projector(out, graph)
    stop = threading.Event()
    o = Outage("projector", logger=logging.getLogger("p"), backoff_s=(0.01,))
    total = len(out.read("s1"))

    def stop_when_done():
        return len(graph.events) >= total

    t = threading.Thread(target=p.run, kwargs={"block_ms": 1, "stop": stop, "outage": o})
    with caplog.at_level(logging.WARNING, logger="p"):
        t.start()
        for _ in range(500):
            if stop_when_done():
                break
            threading.Event().wait(0.01)
        stop.set()
        t.join(5)
    assert sorted(e.id for e in graph.events) == sorted(e.id for _, e in out.read("s1"))
    assert sorted(out.acked) == sorted(out.pending_ids)
    assert (
        o.outages == 1 and len(caplog.records) == 2
    )  # one outage: one line as it starts, one as it ends


class LosingCouncil(Council):
    """Loses quorum the first time each task's council meets (its members' model died)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def deliberate(self, story, task, *, deliberation_id, attempt, findings):
        self.ids.append(deliberation_id)
        if deliberation_id.endswith(".a0"):
            raise QuorumLost(deliberation_id=deliberation_id, round=0, present=0, quorum=1)
        return super().deliberate(
            story, task, deliberation_id=deliberation_id, attempt=attempt, findings=findings
        )


def test_a_council_that_lost_quorum_is_convened_again_and_the_story_finishes(monkeypatch):
    monkeypatch.setattr(driver_mod, "RETRY_WAIT_S", 0.0)
    council = LosingCouncil()
    log, clock, lifecycle, services = setup(council=council)
    commands.create_story(log, GOOD, clock=clock)
    view, _ = approve_until_done(log, clock, lifecycle, services)
    assert view.outcome == "done"
    assert sorted(council.ids) == ["s1.p1-t1.a0", "s1.p1-t1.a0.c1", "s1.p1-t2.a0", "s1.p1-t2.a0.c1"]
    before = [e.id for _, e in log.read("s1")]
    drive(log, clock, lifecycle, services)  # re-driven after a crash: the same ids, no new event
    assert [e.id for _, e in log.read("s1")] == before


def test_a_council_that_never_gets_quorum_parks_the_story(monkeypatch):
    monkeypatch.setattr(driver_mod, "RETRY_WAIT_S", 0.0)
    lost = QuorumLost(deliberation_id="d", round=0, present=0, quorum=1)
    council = FailingCouncil(lost)
    log, clock, lifecycle, services = setup(council=council)
    _to_build(log, clock, lifecycle, services)
    view = drive(log, clock, lifecycle, services)
    assert view.parked and view.parked.gate == "error" and "quorum" in view.parked.reason


class Down(Exception):
    """Stands for a client's connection error."""


def _patience(now, patience_s=15.0):
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    p = outage_mod.Patience(
        "log",
        patience_s=patience_s,
        logger=logging.getLogger("t"),
        timer=outage_mod.Timer(monotonic=lambda: now[0], sleep=sleep),
    )
    return p, sleeps


def test_patience_rides_out_a_short_outage_with_one_line_each_way(caplog):
    now, fails, retried = [0.0], [6], []

    def call():
        if fails[0]:
            fails[0] -= 1
            raise Down("Connection refused")
        return "ok"

    p, sleeps = _patience(now)
    with caplog.at_level(logging.WARNING, logger="t"):
        got = p.call(
            call, transient=lambda e: isinstance(e, Down), on_retry=lambda: retried.append(1)
        )
        assert p.call(lambda: "again", transient=lambda e: isinstance(e, Down)) == "again"
    assert got == "ok" and len(retried) == 6 and sleeps == sorted(sleeps)
    assert max(sleeps) == outage_mod.PATIENCE_BACKOFF_S[-1]
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2, msgs
    assert "storage unavailable (Connection refused)" in msgs[0] and "up to 15 s" in msgs[0]
    assert f"back after {sum(sleeps):.1f} s" in msgs[1]
    assert p.outages == 1 and p.ridden == 1 and p.since is None


def test_patience_gives_up_after_its_bound_and_never_retries_other_errors():
    now = [0.0]
    p, sleeps = _patience(now, patience_s=3.0)

    def down():
        raise Down("Connection refused")

    with pytest.raises(Down):
        p.call(down, transient=lambda e: isinstance(e, Down))
    assert sum(sleeps) == pytest.approx(3.0) and now[0] == pytest.approx(3.0)

    calls = []

    def bug():
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        p.call(bug, transient=lambda e: isinstance(e, Down))
    assert calls == [1]  # not transient: raised at once, not retried


def test_a_read_that_works_while_writes_are_refused_does_not_end_the_outage(caplog):
    """A Redis that cannot write its AOF (disk full) answers reads and refuses writes and PING:
    the outage ends when storage is whole (the probe), not at the first read that works."""
    now, whole = [0.0], [False]
    p = outage_mod.Patience(
        "w", patience_s=1.0, logger=logging.getLogger("t"), probe=lambda: whole[0],
        timer=outage_mod.Timer(
            monotonic=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
        ),
    )  # fmt: skip

    def write():
        if not whole[0]:
            raise Down("MISCONF Errors writing to the AOF file: No space left on device")
        return "stored"

    with caplog.at_level(logging.WARNING, logger="t"):
        for _ in range(3):  # a write gives up, a read works, again and again: one outage
            with pytest.raises(Down):
                p.call(write, transient=lambda e: isinstance(e, Down))
            assert p.call(lambda: "read", transient=lambda e: isinstance(e, Down)) == "read"
        whole[0] = True
        assert p.call(lambda: "read", transient=lambda e: isinstance(e, Down)) == "read"
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 2 and "MISCONF" in msgs[0] and "back after" in msgs[1], msgs
    assert p.outages == 1 and p.since is None
