"""Recovery: approving the error gate after a lost quorum asks for a fresh council."""

from __future__ import annotations

from actors.council_prep import retries
from fleet.contracts import FleetEvent
from fleet.fakes import InMemoryEventLog


def _ev(n: int, type_: str, **data) -> FleetEvent:
    return FleetEvent(id=f"e{n}", story_id="s", type=type_, at_ms=n, data=data)


def test_each_error_approval_after_a_lost_quorum_is_one_more_fresh_attempt():
    log = InMemoryEventLog()
    assert retries(log, "s", "s:T1:a0") == 0
    log.append(_ev(1, "story.approved", gate="error", approved=True))  # before any loss: ignored
    log.append(_ev(2, "council.quorum_lost", deliberation_id="s:T1:a0", round=0))
    assert retries(log, "s", "s:T1:a0") == 0  # lost, but the PO has not answered yet
    log.append(_ev(3, "story.approved", gate="error", approved=True))
    assert retries(log, "s", "s:T1:a0") == 1
    log.append(_ev(4, "council.quorum_lost", deliberation_id="s:T1:a0:retry1", round=0))
    log.append(_ev(5, "story.approved", gate="scope", approved=True))  # another gate: ignored
    assert retries(log, "s", "s:T1:a0") == 1
    log.append(_ev(6, "story.approved", gate="error", approved=True))
    assert retries(log, "s", "s:T1:a0") == 2
    assert retries(log, "s", "s:T2:a0") == 0  # another task's council is unaffected
