"""A council's events are stored before the checkpoint that depends on them, or the step reruns.

An outage that fails one background write (a step's ballots) and ends before the next one (the
checkpoint that marks the council done) used to leave a finished council whose stored result
lists ballots the timeline never got: the resumed council returned the stored result and the
events were never written.
"""

from __future__ import annotations

import pytest
from test_council_protocol import TEAM, request, team

from fleet.council import Council, checkpoint_key
from fleet.council.consistency import missing_events
from fleet.council.local import local_gather
from fleet.errors import StorageUnavailable
from fleet.testing.council import Voter
from fleet.testing.fakes import FakeClock, InMemoryEventLog


class OutageLog(InMemoryEventLog):
    """Refuses the first append that carries a ``kind`` event, as Redis does mid-outage."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind, self.failed = kind, 0

    def append(self, event):  # type: ignore[no-untyped-def]
        if event.type == self.kind and not self.failed:
            self.failed += 1
            raise StorageUnavailable(what="event log", reason="Connection refused")
        return super().append(event)


@pytest.mark.parametrize("write_behind", [True, False])
@pytest.mark.parametrize("kind", ["council.ballot", "council.proposal", "council.critique"])
def test_a_failed_event_write_is_retried_from_the_checkpoint_never_dropped(kind, write_behind):
    log = OutageLog(kind)
    members = team({m: Voter("qa-1") for m in TEAM})
    council = Council(local_gather(members), log, clock=FakeClock(), write_behind=write_behind)
    with pytest.raises(StorageUnavailable):
        council.deliberate(request(early_stop=False))
    assert log.failed == 1
    _, raw = log.checkpoint_get(checkpoint_key("d1"))
    assert raw is None or raw["status"] == "running"  # not checkpointed past the lost write
    done = council.deliberate(request(early_stop=False))  # the actor's retry: resumes
    assert done.ballots and done.proposals
    events = [ev for _, ev in log.read("s1")]
    assert missing_events(done, events) == []
    assert len({ev.id for ev in events}) == len(events)  # nothing written twice


def test_the_consistency_check_names_what_the_timeline_lacks():
    log = InMemoryEventLog()
    members = team({m: Voter("qa-1") for m in TEAM})
    done = Council(local_gather(members), log, clock=FakeClock()).deliberate(
        request(early_stop=False)
    )
    events = [ev for _, ev in log.read("s1") if ev.type != "council.ballot"]
    lacking = missing_events(done, events)
    assert sorted(lacking) == sorted(f"ballot {b.id}" for b in done.ballots)
    assert missing_events(done, [ev for _, ev in log.read("s1")]) == []
