"""A sandbox that cannot run pauses the story; it is not a failure that parks it.

The driver over an in-memory timeline; the council meets ``SandboxUnavailable`` (its evidence
runs could not run) more times than the driver's infrastructure retries allow. The story must
wait and reach DONE without a park, with one log line when the outage starts and one when it
ends; only a sandbox away longer than the outage's patience parks it at the error gate.
"""

from __future__ import annotations

import logging
import threading

import pytest

from fleet.errors import SandboxUnavailable
from fleet.orchestrator import commands
from fleet.orchestrator import driver as driver_mod
from fleet.orchestrator.driver import StoryDriver
from fleet.orchestrator.sandbox_outage import SandboxOutage, sandbox_cause
from tests.unit.test_orchestrator import GOOD, Council, setup

DOWN = SandboxUnavailable(backend="bwrap", reason="run s1 lost 2 times: killed from outside")


class FlakyCouncil(Council):
    """Meets the sandbox outage ``times`` times (optionally as Ray wraps it), then works."""

    def __init__(self, times: int, *, wrapped: bool = False) -> None:
        super().__init__()
        self.left, self.wrapped, self.tries = times, wrapped, 0

    def deliberate(self, *args, **kwargs):
        self.tries += 1
        if self.left:
            self.left -= 1
            raise RemoteError(DOWN) if self.wrapped else DOWN
        return super().deliberate(*args, **kwargs)


class RemoteError(Exception):
    """Like Ray's RayTaskError: the original error as ``cause``, no Python chaining."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"remote: {cause}")
        self.cause = cause


def _drive_to_done(council, outage: SandboxOutage):
    log, clock, lifecycle, services = setup(council=council)
    commands.create_story(log, GOOD, clock=clock)
    parks = []
    for _ in range(6):
        driver = StoryDriver("s1", log=log, services=services, lifecycle=lifecycle, clock=clock)
        driver.sandbox = outage
        view = driver.run()
        if not view.parked or view.parked.gate == "error":
            break
        parks.append(view.parked.gate)
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )
    return log, view, parks


@pytest.mark.parametrize("wrapped", [False, True])
def test_an_outage_longer_than_the_retries_pauses_and_the_story_finishes(caplog, wrapped):
    council = FlakyCouncil(driver_mod.INFRA_RETRIES + 3, wrapped=wrapped)
    outage = SandboxOutage(backoff_s=(0.0,), patience_s=60)
    with caplog.at_level(logging.WARNING):
        log, view, parks = _drive_to_done(council, outage)
    assert view.outcome == "done", view.parked  # the old driver parked it at "error"
    assert parks == ["scope", "design", "acceptance"]  # the PO's gates only
    # every outage met, then each of the story's two tasks deliberated once
    assert council.tries == driver_mod.INFRA_RETRIES + 3 + 2 and len(council.calls) == 2
    ids = [e.id for _, e in log.read("s1")]
    assert len(ids) == len(set(ids))
    assert not [e for _, e in log.read("s1") if e.type == "story.parked" and
                e.data.get("gate") == "error"]  # fmt: skip
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and outage.outages == 1, lines
    assert "sandbox unavailable" in lines[0] and "killed from outside" in lines[0]
    assert "sandbox is back after" in lines[1]


def test_a_sandbox_away_longer_than_the_patience_parks_at_error_with_the_reason(monkeypatch):
    monkeypatch.setattr(driver_mod, "RETRY_WAIT_S", 0.0)
    ticks = iter(range(0, 10_000, 50))  # each look at the clock: 50 s later
    outage = SandboxOutage(backoff_s=(0.0,), patience_s=120, monotonic=lambda: next(ticks))
    council = FlakyCouncil(10**6)
    log, view, _ = _drive_to_done(council, outage)
    assert view.parked is not None and view.parked.gate == "error"
    assert "lost 2 times" in view.parked.reason
    # two pauses within the patience (at 50 and 100 s), then the usual retries before parking;
    # each step asks both of the story's tasks' councils
    assert council.tries == 2 * (2 + driver_mod.INFRA_RETRIES + 1)


def test_a_stopped_pool_does_not_wait_for_the_sandbox():
    stop = threading.Event()
    stop.set()
    outage = SandboxOutage(backoff_s=(3600.0,), patience_s=7200)
    assert outage.pause(DOWN, since=outage.monotonic(), tries=0, stop=stop) is False


def test_the_cause_is_found_behind_wrappers_and_chains():
    def execute() -> None:
        try:
            raise DOWN
        except SandboxUnavailable as exc:
            raise RuntimeError("executor failed") from exc

    with pytest.raises(RuntimeError) as chained:
        execute()
    assert sandbox_cause(chained.value) is DOWN
    assert sandbox_cause(RemoteError(DOWN)) is DOWN
    assert sandbox_cause(RuntimeError("a bug")) is None
