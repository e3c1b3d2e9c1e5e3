"""Gateway under load: 20 concurrent stories over real HTTP, PO gates approved through the API.

Starts its own local Ray (``address="local"``), Redis+FalkorDB and Serve on free ports. The
orchestrator runs the real council actor with scripted role agents; the workspace step is a
small double (no sandbox), so the numbers are the gateway's, the orchestrator's and Redis's.
Each story is followed over SSE and its gates approved like ``fleet run --auto-approve``;
a poller meanwhile reads ``GET /stories/{id}`` and ``GET /stories``.

events_lost: for every story, the events its FSM path implies (created, scored, 6 transitions,
3 parks + 3 approvals, one planned task, council result, workspace report and gate result per
criterion, done) minus those found in its Redis stream. Baseline: the same reads on the idle
gateway before the load.

    .venv/bin/python benchmarks/bench_gateway.py [--stories 20]
"""

from __future__ import annotations

import argparse
import collections
import io
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

CRITERIA = [
    "slugify('Hello World') returns 'hello-world'",
    "slugify drops characters other than letters and digits",
]


def services(settings, log):
    """Real coach, planner, council actor (scripted agents) and rigor gate; a passing workspace double."""
    from actors.story_services import RayCouncil
    from fleet.coach import score_story
    from fleet.config import load
    from fleet.contracts import WorkspaceReport
    from fleet.orchestrator.planning import plan_from_criteria
    from fleet.orchestrator.services import Services, summary_docs
    from fleet.rigor import evaluate

    class Passing:
        def execute(self, story, task, winner, *, attempt):
            return WorkspaceReport(build_ok=True, unit_passed=4, coverage=85.0)

    return Services(
        score=score_story,
        plan=plan_from_criteria,
        council=RayCouncil(settings, log),
        executor=Passing(),
        gate=partial(evaluate, config=load("rigor.yaml")),
        document=summary_docs,
    )


def expected(n_tasks: int) -> collections.Counter:
    return collections.Counter(
        {
            "story.created": 1,
            "story.scored": 1,
            "story.transition": 6,
            "story.parked": 3,
            "story.approved": 3,
            "task.planned": n_tasks,
            "council.result": n_tasks,
            "workspace.report": n_tasks,
            "gate.result": n_tasks,
            "story.done": 1,
        }
    )


class Timer:
    def __init__(self) -> None:
        self.ms: list[float] = []
        self.lock = threading.Lock()

    def call(self, client: httpx.Client, method: str, url: str, **kw) -> httpx.Response:
        t0 = time.perf_counter()
        r = client.request(method, url, **kw)
        with self.lock:
            self.ms.append((time.perf_counter() - t0) * 1000)
        return r

    def pct(self, q: float) -> float:
        return (
            statistics.quantiles(self.ms, n=100)[int(q) - 1] if len(self.ms) > 1 else float("nan")
        )


def run(n: int) -> int:
    import ray
    from fleet_stack import start_stack, stop_stack

    from cluster.cli.gateway_client import Client, follow
    from cluster.graphserver import GraphServer, free_port
    from fleet.adapters.redis_events import RedisEventLog

    t_start = time.monotonic()
    server = GraphServer(data_dir=Path(tempfile.mkdtemp(prefix="bench-gw-")), port=free_port())
    server.start()
    ray.init(
        address="local",
        num_cpus=4,
        include_dashboard=False,
        object_store_memory=150_000_000,
        namespace="swe-fleet-test",
        log_to_driver=False,
    )
    try:
        stack = start_stack(
            ray,
            server.url,
            factory=services,
            model="scripted",
            rounds=1,
            members=("developer-1", "qa-1", "architect-1"),
            max_parallel_stories=32,
        )
        print(f"stack up in {time.monotonic() - t_start:.1f} s: {stack.base_url}")
        po, viewer = stack.headers(), stack.headers("viewer")
        idle, load = Timer(), Timer()
        with httpx.Client(timeout=60.0) as c:
            for _ in range(30):  # baseline: the idle gateway
                idle.call(c, "GET", f"{stack.base_url}/stories", headers=viewer)
                idle.call(c, "GET", f"{stack.base_url}/healthz")
        client = Client(stack.base_url, stack.tokens["po"], timeout=60.0)
        ids = [f"bench-{i:02d}" for i in range(n)]
        stop = threading.Event()

        def poll() -> None:
            with httpx.Client(timeout=60.0) as c:
                i = 0
                while not stop.is_set():
                    load.call(c, "GET", f"{stack.base_url}/stories/{ids[i % n]}", headers=viewer)
                    if i % 5 == 0:
                        load.call(c, "GET", f"{stack.base_url}/stories", headers=viewer)
                    i += 1
                    time.sleep(0.05)

        def one(story_id: str) -> dict:
            with httpx.Client(timeout=60.0) as c:
                body = {
                    "id": story_id,
                    "title": f"Add a slugify helper ({story_id})",
                    "acceptance_criteria": CRITERIA,
                    "description": "As a blog author I want titles turned into URL slugs so that links are readable.",
                    "rigor": "L1",
                }
                r = load.call(c, "POST", f"{stack.base_url}/stories", json=body, headers=po)
                assert r.status_code == 201, r.text
            return follow(client, story_id, auto_approve=True, timeout_s=240, out=io.StringIO())

        pollers = [threading.Thread(target=poll, daemon=True) for _ in range(2)]
        for p in pollers:
            p.start()
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=n) as pool:
            finals = list(pool.map(one, ids))
        wall = time.monotonic() - t0
        stop.set()
        for p in pollers:
            p.join()

        log = RedisEventLog(server.url, prefix=stack.prefix)
        lost = dup = 0
        for story_id in ids:
            found = collections.Counter(ev.type for _, ev in log.read(story_id))
            want = expected(len(CRITERIA))
            lost += sum(max(0, want[t] - found[t]) for t in want)
            dup += sum(max(0, found[t] - want[t]) for t in want)
        terminal = sum(
            1
            for f in finals
            if f.get("outcome")
            or (f.get("parked") or {}).get("gate") in ("blocked", "error", "budget")
        )
        done = sum(1 for f in finals if f.get("outcome") == "done")
        print(
            f"{n} stories in {wall:.1f} s: {done} DONE, {terminal} terminal; "
            f"events lost {lost}, duplicated {dup}"
        )
        print(
            f"API latency idle (baseline, {len(idle.ms)} calls): p50 {idle.pct(50):.1f} ms, p95 {idle.pct(95):.1f} ms"
        )
        print(
            f"API latency under load ({len(load.ms)} calls): p50 {load.pct(50):.1f} ms, p95 {load.pct(95):.1f} ms"
        )
        stop_stack(ray, stack)
        print(f"RESULT stories_terminal_share {terminal / n:.3f}")
        print(f"RESULT events_lost {lost}")
        print(f"RESULT api_p50_ms {load.pct(50):.1f}")
        print(f"RESULT api_p95_ms {load.pct(95):.1f}")
        print(f"RESULT api_p95_idle_ms {idle.pct(95):.1f}")
        print(f"total {time.monotonic() - t_start:.0f} s")
        return 0 if terminal == n and lost == 0 else 1
    finally:
        ray.shutdown()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20)
    return run(parser.parse_args().stories)


if __name__ == "__main__":
    sys.exit(main())
