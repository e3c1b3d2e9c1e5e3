"""What ``bench_chaos.py`` checks after its faults: lost, duplicated and missing events, and
recovery times (per fault, per kind, and the slowest pairs with what each story waited on)."""

from __future__ import annotations

import collections
import statistics
from collections.abc import Iterable
from typing import Any

FSM = [("BACKLOG", "DRAFT"), ("DRAFT", "DESIGN"), ("DESIGN", "BUILD"), ("BUILD", "TEST")]
FSM += [("TEST", "DOCS"), ("DOCS", "DONE")]


def p95_of(values: list[float]) -> float:
    if not values:
        return -1.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2)


def council_gaps(events: list[Any]) -> list[str]:
    """Every part of a stored council result with no event of its own in ``events`` (the
    story's timeline): ``fleet.council.consistency.missing_events`` over each council.result."""
    from fleet.contracts import Deliberation
    from fleet.council.consistency import missing_events

    out: list[str] = []
    for event in events:
        if event.type == "council.result" and isinstance(event.payload, Deliberation):
            out += [f"{event.payload.id}: {m}" for m in missing_events(event.payload, events)]
    return out


def timeline_faults(events: list[Any], seen: Iterable[str]) -> tuple[int, int, list[str]]:
    """(lost, duplicated, council gaps) of one story: event ids seen before and gone now, plus
    council parts never stored; ids stored twice, plus FSM transitions beyond the exact path
    of a done story."""
    ids = [e.id for e in events]
    gaps = council_gaps(events)
    lost = len(set(seen) - set(ids)) + len(gaps)
    duplicated = len(ids) - len(set(ids))
    path = [(e.data.get("from"), e.data.get("to")) for e in events if e.type == "story.transition"]
    if any(e.type == "story.done" for e in events):
        duplicated += max(0, len(path) - len(FSM)) + (path[: len(FSM)] != FSM)
    return lost, duplicated, gaps


def recoveries(
    faults: list[dict[str, Any]], last_event: dict[str, list[float]]
) -> tuple[list[float], list[float]]:
    """Per (fault, affected story): the time from the fault's end to the story's next event
    (as the observer saw it); all of them, and those of the stories moving when it hit."""
    recovery, moving = [], []
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    for f in faults:
        for sid in f["affected"]:
            nxt = [t for t in last_event[sid] if t >= f["end"]]
            if nxt:
                recovery.append(min(nxt) - f["end"])
                by_kind[f["kind"]].append(min(nxt) - f["end"])
                if sid in f["moving"]:
                    moving.append(min(nxt) - f["end"])
    for kind, got in sorted(by_kind.items()):
        print(f"  recovery after {kind}: median {statistics.median(got):.1f}s, p95 {p95_of(got)}s")
    return recovery, moving


Sample = tuple[float, str, str, str, str]  # recovery s, fault, story, waiting on, next event


def diagnose(
    faults: list[dict[str, Any]], events: dict[str, list[tuple[float, str, str]]]
) -> list[float]:
    """Per (fault, story): the time from the fault's end to the story's next *stored* event
    (Redis's entry id, not when the observer polled it), what the story's last event before
    the fault was (what it waited on) and what came next; per fault kind, and the worst."""
    samples: list[Sample] = []
    t0 = min((e[0] for timeline in events.values() for e in timeline), default=0.0)
    for f in faults:
        mine: list[float] = []
        for sid in f["affected"]:
            timeline = events.get(sid, [])
            before = [e for e in timeline if e[0] < f["wall_start"]]
            after = [e for e in timeline if e[0] >= f["wall_end"]]
            if not after:
                continue
            last = before[-1] if before else (f["wall_start"], "-", "-")
            waited = f"{last[1]}/{last[2]} {f['wall_start'] - last[0]:.0f}s before"
            mine.append(after[0][0] - f["wall_end"])
            samples.append((mine[-1], f["kind"], sid, waited, after[0][1]))
        if mine:  # each fault on its own: a later fault may land before a story's next event
            print(
                f"  fault {f['kind']} at {f['wall_start'] - t0:.0f}-{f['wall_end'] - t0:.0f}s: "
                f"median {statistics.median(mine):.1f}s, p95 {p95_of(mine)}s"
            )
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    for rec, kind, *_ in samples:
        by_kind[kind].append(rec)
    for kind, got in sorted(by_kind.items()):
        print(
            f"  stored: after {kind}: n {len(got)}, median {statistics.median(got):.1f}s, "
            f"p95 {p95_of(got)}s, max {max(got):.1f}s"
        )
    for rec, kind, sid, waited, nxt in sorted(samples, reverse=True)[:20]:
        print(f"  slow: {rec:6.1f}s after {kind:<12} {sid}: last {waited}; next {nxt}")
    return [s[0] for s in samples]
