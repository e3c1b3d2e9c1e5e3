"""The council consistency check: every part of a stored result has its event in the timeline.

A council's stored result (its checkpoint) and the story's timeline are written separately; an
outage between the two could leave a result that lists ballots, proposals or evidence the
timeline never got. Tests and ``benchmarks/bench_chaos.py`` run this check on every council:
an event that was never stored is lost as surely as one that was deleted.
"""

from __future__ import annotations

from collections.abc import Iterable

from fleet.contracts import Ballot, Critique, Deliberation, Evidence, FleetEvent, Proposal


def missing_events(deliberation: Deliberation, events: Iterable[FleetEvent]) -> list[str]:
    """What ``deliberation`` records that ``events`` (the story's timeline) lacks, e.g.
    ``["ballot d1:b2:qa-1"]``; empty when the two agree."""
    seen: dict[str, set[str]] = {"proposal": set(), "critique": set(), "ballot": set()}
    proven: set[str] = set()
    for event in events:
        payload = event.payload
        if isinstance(payload, Proposal | Critique | Ballot):
            seen[payload.kind].add(payload.id)
        elif isinstance(payload, Evidence):
            proven.add(payload.proposal_id)
    parts: list[Proposal | Critique | Ballot] = [
        *deliberation.proposals,
        *deliberation.critiques,
        *deliberation.ballots,
    ]
    lacking = [f"{part.kind} {part.id}" for part in parts if part.id not in seen[part.kind]]
    lacking += [
        f"evidence {e.proposal_id}" for e in deliberation.evidence if e.proposal_id not in proven
    ]
    return lacking
