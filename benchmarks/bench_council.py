"""Council benchmark: orchestration overhead over the ideal critical path, and concurrency gain.

5 members x 3 rounds (no early stop) with a scripted model that takes a fixed 50 ms per call.
The plan has 8 sequential model-call phases (propose, 3 x (critique, revise), vote), every
member of a phase in parallel, so the ideal wall time is 8 x 50 ms = 400 ms. Measured side by
side: the pure engine in process (threads, in-memory log), the Ray actors with an in-memory log
(Ray's share), and the Ray actors with the real Redis log (the product path).

Then 20 councils (3 members x 1 round, same model) one at a time vs all at once through the
same council actor.

Run: .venv/bin/python benchmarks/bench_council.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleet.clock import SystemClock  # noqa: E402
from fleet.config import load  # noqa: E402
from fleet.council import Council, DeliberationRequest, Member, mix, plan  # noqa: E402
from fleet.council.local import local_gather  # noqa: E402
from fleet.testing.fakes import InMemoryEventLog, ScriptedChatModel  # noqa: E402

LATENCY_MS = 50.0
MEMBERS = ("developer-1", "developer-2", "qa-1", "devops-1", "architect-1")
REPEATS = 9


def request(members: tuple[str, ...], rounds: int) -> DeliberationRequest:
    return DeliberationRequest(
        id=f"bench-{uuid.uuid4().hex[:8]}",
        story_id="bench",
        task="add a cache to the API",
        members=members,
        rounds=rounds,
        early_stop=False,
    )


def ideal_s(req: DeliberationRequest) -> float:
    return len(plan(req)) * LATENCY_MS / 1000


def in_process() -> list[float]:
    roles = load("roles.yaml")
    team = {
        m: Member(
            m,
            m.rsplit("-", 1)[0],
            roles.get(m.rsplit("-", 1)[0]),
            ScriptedChatModel("SLOW", latency_ms=LATENCY_MS),
            seed=mix(m),
        )
        for m in MEMBERS
    }
    council = Council(local_gather(team), InMemoryEventLog(), clock=SystemClock())
    times = []
    for _ in range(REPEATS + 1):
        start = time.perf_counter()
        council.deliberate(request(MEMBERS, 3))
        times.append(time.perf_counter() - start)
    return times[1:]  # the first run warms up imports and thread pools


def through_ray(ray, council, members: tuple[str, ...]) -> list[float]:
    ray.get(council.deliberate.remote(request(members, 3)))  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        ray.get(council.deliberate.remote(request(members, 3)))
        times.append(time.perf_counter() - start)
    return times


def concurrency(ray, council) -> tuple[float, float]:
    small = MEMBERS[:3]
    start = time.perf_counter()
    for _ in range(20):
        ray.get(council.deliberate.remote(request(small, 1)))
    one_at_a_time = time.perf_counter() - start
    start = time.perf_counter()
    ray.get([council.deliberate.remote(request(small, 1)) for _ in range(20)])
    return one_at_a_time, time.perf_counter() - start


def main() -> None:
    import ray

    from actors.agent import spawn_agent
    from actors.council import spawn_council
    from cluster.graphserver import GraphServer, free_port
    from fleet.adapters.redis_events import RedisEventLog

    ideal = ideal_s(request(MEMBERS, 3))
    print(
        f"plan: {len(plan(request(MEMBERS, 3)))} sequential phases x {LATENCY_MS:g} ms -> ideal {ideal * 1000:.0f} ms"
    )
    local = in_process()
    tmp = Path(tempfile.mkdtemp(prefix="bench-council-"))
    server = GraphServer(data_dir=tmp / "graph", port=free_port())
    server.start()
    ray.init(
        address="local", num_cpus=4, include_dashboard=False, log_to_driver=False, namespace="bench"
    )
    try:
        ns = "bench-council"
        chat = partial(ScriptedChatModel, "SLOW", latency_ms=LATENCY_MS)
        agents = [
            spawn_agent(m, namespace=ns, chat_model_factory=chat, max_concurrency=256)
            for m in MEMBERS
        ]
        ray.get([a.ping.remote() for a in agents])
        mem = spawn_council(InMemoryEventLog, namespace=ns, name="council-mem")
        red = spawn_council(
            partial(RedisEventLog, server.url, prefix="bench", archive_dir=str(tmp / "archive")),
            namespace=ns,
            name="council-redis",
        )
        ray_mem = through_ray(ray, mem, MEMBERS)
        ray_redis = through_ray(ray, red, MEMBERS)
        seq, conc = concurrency(ray, red)
    finally:
        ray.shutdown()
        server.stop()

    rows = [
        ("in process, in-memory log", local),
        ("Ray actors, in-memory log", ray_mem),
        ("Ray actors, Redis log (product)", ray_redis),
    ]
    print(
        f"\n{'5 members x 3 rounds':34} {'median ms':>10} {'min ms':>8} {'ratio':>7}  (ideal {ideal * 1000:.0f} ms)"
    )
    for name, times in rows:
        med = statistics.median(times)
        print(f"{name:34} {med * 1000:10.1f} {min(times) * 1000:8.1f} {med / ideal:7.3f}")
    overhead = (statistics.median(ray_redis) - ideal) * 1000
    ray_share = (statistics.median(ray_mem) - statistics.median(local)) * 1000
    redis_share = (statistics.median(ray_redis) - statistics.median(ray_mem)) * 1000
    print(
        f"overhead over ideal {overhead:.1f} ms: engine+threads {(statistics.median(local) - ideal) * 1000:.1f} ms, "
        f"Ray round trips {ray_share:.1f} ms, Redis events+checkpoints {redis_share:.1f} ms"
    )
    print(
        f"\n20 councils (3 members x 1 round): one at a time {seq:.2f} s, concurrently {conc:.2f} s"
    )
    ratio = statistics.median(ray_redis) / ideal
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"goal critical_path_ratio <= 1.10: {'met' if ratio <= 1.10 else 'MISSED'}")
    print(f"RESULT critical_path_ratio {ratio:.3f}")
    print(f"RESULT concurrency_gain {seq / conc:.2f}")


if __name__ == "__main__":
    main()
