"""Recovery: approving the error gate after a lost quorum asks for a fresh council."""

from __future__ import annotations

from fleet.contracts import FleetEvent
from fleet.orchestrator.view import fold
from fleet.testing.fakes import InMemoryEventLog


def _ev(n: int, type_: str, **data) -> FleetEvent:
    return FleetEvent(id=f"e{n}", story_id="s", type=type_, at_ms=n, data=data)


def _lost(n: int, deliberation_id: str) -> FleetEvent:
    return _ev(n, "council.quorum_lost", deliberation_id=deliberation_id, round=0, present=1,
               quorum=2)  # fmt: skip


def retries(log: InMemoryEventLog, story_id: str, deliberation_id: str) -> int:
    return fold(log.read(story_id)).council_retries(deliberation_id)


def test_each_error_approval_after_a_lost_quorum_is_one_more_fresh_attempt():
    log = InMemoryEventLog()
    assert retries(log, "s", "s:T1:a0") == 0
    log.append(_ev(1, "story.approved", gate="error", approved=True))  # before any loss: ignored
    log.append(_lost(2, "s:T1:a0"))
    assert retries(log, "s", "s:T1:a0") == 0  # lost, but the PO has not answered yet
    log.append(_ev(3, "story.approved", gate="error", approved=True))
    assert retries(log, "s", "s:T1:a0") == 1
    log.append(_lost(4, "s:T1:a0:retry1"))
    log.append(_ev(5, "story.approved", gate="scope", approved=True))  # another gate: ignored
    assert retries(log, "s", "s:T1:a0") == 1
    log.append(_ev(6, "story.approved", gate="error", approved=False))  # a rejection: no retry
    assert retries(log, "s", "s:T1:a0") == 1
    log.append(_ev(7, "story.approved", gate="error", approved=True))
    assert retries(log, "s", "s:T1:a0") == 2
    assert retries(log, "s", "s:T2:a0") == 0  # another task's council is unaffected
