"""Context-pack assembly latency (10 / 1,000 / 10,000 events), compression ratio and fact retention.

Starts its own Redis+FalkorDB server. For each story size it measures, on the
real Redis and the real SmolLM2 tokenizer:

- baseline: re-read the whole timeline and rebuild the pack from scratch (no digest, no cache);
- uncached ("cold"): a fresh engine (empty memory: a restarted actor) and a new event
  appended before every pack, so the cached pack is stale: load the stored digest, fold
  the new event, build and store the pack;
- cached: the same engine, no new events.

Run: .venv/bin/python benchmarks/bench_context.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluster.graphserver import GraphServer, free_port  # noqa: E402
from fleet.adapters.gguf_tokenizer import GGUFTokenizer  # noqa: E402
from fleet.adapters.redis_events import RedisEventLog  # noqa: E402
from fleet.config import load  # noqa: E402
from fleet.context import ContextBuilder, ContextEngine, StoryDigest  # noqa: E402
from fleet.context.compress import measure  # noqa: E402
from fleet.context.synthetic import synthetic_story  # noqa: E402
from fleet.contracts import FleetEvent, UsageRecord  # noqa: E402

ROLE, PHASE, TASK = "developer", "build", "T1"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def timed(fn, cpu: list[float] | None = None) -> float:
    c, t = time.process_time(), time.perf_counter()
    fn()
    if cpu is not None:
        cpu.append((time.process_time() - c) * 1000)
    return (time.perf_counter() - t) * 1000


def bench_size(log: RedisEventLog, builder: ContextBuilder, n: int, reps: int) -> dict[str, float]:
    s = synthetic_story(n, story_id=f"bench-{n}-{uuid.uuid4().hex[:6]}")
    for i in range(0, len(s.events), 2000):
        log.append_many(s.events[i : i + 2000])

    def naive() -> None:
        d = StoryDigest(s.story_id)
        d.apply_all(log.read(s.story_id))
        builder.build(d, ROLE, PHASE, task_id=TASK)

    base = [timed(naive) for _ in range(max(3, reps // 10))]
    first = timed(
        lambda: ContextEngine(log, builder).pack(s.story_id, ROLE, PHASE, TASK)
    )  # digest from scratch
    cold: list[float] = []
    cpu: list[float] = []
    for i in range(reps):
        rec = UsageRecord(
            story_id=s.story_id,
            role="qa",
            model="smollm2",
            prompt_tokens=i,
            completion_tokens=1,
            latency_ms=1,
        )
        log.append(
            FleetEvent(
                id=f"{s.story_id}:u{i}",
                story_id=s.story_id,
                type="model.usage",
                at_ms=i,
                payload=rec,
            )
        )
        engine = ContextEngine(log, builder)  # a restarted service: nothing in memory
        cold.append(timed(lambda e=engine: e.pack(s.story_id, ROLE, PHASE, TASK), cpu))
    engine = ContextEngine(log, builder)
    engine.pack(s.story_id, ROLE, PHASE, TASK)
    warm = [timed(lambda: engine.pack(s.story_id, ROLE, PHASE, TASK)) for _ in range(reps)]
    assert engine.stats["hits"] >= reps, engine.stats  # every warm call was a cache hit
    out = {"base_p50": statistics.median(base), "base_p95": pct(base, 0.95), "first_ms": first,
           "cold_p50": statistics.median(cold), "cold_p95": pct(cold, 0.95),
           "warm_p50": statistics.median(warm), "warm_p95": pct(warm, 0.95), "cpu_p95": pct(cpu, 0.95)}  # fmt: skip
    print(f"{n:>6} events: baseline (re-read all) p50 {out['base_p50']:8.1f} p95 {out['base_p95']:8.1f} ms | "
          f"first build {first:7.1f} ms | uncached p50 {out['cold_p50']:6.2f} p95 {out['cold_p95']:6.2f} ms | "
          f"cached p50 {out['warm_p50']:5.2f} p95 {out['warm_p95']:5.2f} ms | uncached CPU p95 {out['cpu_p95']:5.1f} ms")  # fmt: skip
    return out


def compression(builder: ContextBuilder, tok: GGUFTokenizer, n: int) -> tuple[float, float]:
    s = synthetic_story(n)
    d = StoryDigest(s.story_id)
    d.apply_all([(f"{i}-0", e) for i, e in enumerate(s.events, 1)])
    pack = builder.build(d, ROLE, PHASE, task_id=TASK)
    rep = measure(s.events, pack, s.facts.all(), tok)
    unb = builder.build(d, ROLE, PHASE, task_id=TASK, budget=10**6)
    print(f"compression, {n}-event story ({len(s.facts.all())} key facts): raw {rep.raw_tokens} tokens -> pack "
          f"{rep.pack_tokens} (budget {pack.budget}); ratio {rep.ratio:.3f}; retention {rep.retention:.3f}; "
          f"without a budget the pack is {unb.token_count} tokens (ratio {1 - unb.token_count / rep.raw_tokens:.3f})")  # fmt: skip
    return rep.ratio, rep.retention


def main() -> int:
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    tok = GGUFTokenizer()
    builder = ContextBuilder(load("scopes.yaml"), tok)
    with tempfile.TemporaryDirectory() as tmp:
        server = GraphServer(data_dir=Path(tmp), port=free_port())
        server.start()
        try:
            log = RedisEventLog(server.url, prefix="bench", archive_dir=Path(tmp) / "archive")
            results = {
                n: bench_size(log, builder, n, reps)
                for n, reps in ((10, 60), (1000, 60), (10_000, 40))
            }
            log.close()
        finally:
            server.stop()
    ratio, retention = compression(builder, tok, 2000)
    compression(builder, tok, 10_000)
    r10k = results[10_000]
    print(
        f"goal p95 < 50 ms at 10k uncached: {'met' if r10k['cold_p95'] < 50 else 'MISSED'}; "
        f"speedup vs baseline at 10k: {r10k['base_p95'] / r10k['cold_p95']:.0f}x (p95)"
    )
    for n, key in ((10, "10"), (1000, "1k"), (10_000, "10k")):
        r = results[n]
        print(f"RESULT p50_ms_{key}_uncached {r['cold_p50']:.2f}")
        print(f"RESULT p95_ms_{key}_uncached {r['cold_p95']:.2f}")
        print(f"RESULT p50_ms_{key}_cached {r['warm_p50']:.2f}")
        print(f"RESULT p95_ms_{key}_cached {r['warm_p95']:.2f}")
    print(f"RESULT p95_cpu_ms_10k_uncached {r10k['cpu_p95']:.2f}")
    print(f"RESULT p95_ms_10k_baseline_full_rebuild {r10k['base_p95']:.1f}")
    print(f"RESULT first_build_ms_10k {r10k['first_ms']:.1f}")
    print(f"RESULT compression_ratio {ratio:.3f}")
    print(f"RESULT fact_retention {retention:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
