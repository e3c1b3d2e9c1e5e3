"""Sandbox overhead: sandboxed vs unsandboxed spawn, side by side, and supervisor throughput.

RESULT keys (BENCHMARKS.md): added_ms_true, added_ms_python (median ms the sandbox adds), runs_per_s
(sandboxed `true` runs per second at concurrency 2 through the supervisor actor on a local Ray).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from fleet.adapters.bwrap_sandbox import BwrapSandbox  # noqa: E402
from fleet.contracts import RunContext, TaskSpec  # noqa: E402

N = 40


def median_ms(fn, n: int = N) -> float:
    fn()  # warm up
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000)
    return statistics.median(xs)


def sandboxed(sb: BwrapSandbox, ws: str, cmd: tuple[str, ...]):
    def go() -> None:
        r = sb.run(TaskSpec(id=uuid.uuid4().hex, cmd=cmd, workspace=ws))
        assert r.status == "passed", r
    return go


def overhead(ws: str) -> dict[str, float]:
    out: dict[str, float] = {}
    full, no_cg = BwrapSandbox(), BwrapSandbox(use_cgroups=False)
    print(f"cgroups: {full.cgroup_status()}")
    for key, cmd in (("true", ("true",)), ("python", (sys.executable, "-c", "pass"))):
        plain = median_ms(lambda c=cmd: subprocess.run(c, check=True))
        box = median_ms(sandboxed(full, ws, cmd))
        box_nocg = median_ms(sandboxed(no_cg, ws, cmd))
        print(f"{' '.join(cmd)[:40]:40s} plain {plain:7.2f} ms | sandboxed {box:7.2f} ms "
              f"(ratio {box / plain:5.2f}, +{box - plain:.2f} ms) | without cgroup {box_nocg:7.2f} ms")
        out[key] = box - plain
    return out


def throughput(n: int = 60) -> float:
    import ray

    from actors.sandbox import build_supervisor

    ray.init(address="local", num_cpus=2, include_dashboard=False, namespace="bench-sandbox",
             log_to_driver=False, object_store_memory=100_000_000)
    try:
        sup = build_supervisor(f"bench-{uuid.uuid4().hex[:6]}", namespace="bench-sandbox", concurrency=2)
        ctx = RunContext(role="developer", phase="build")
        specs = [TaskSpec(id=f"b{i}", cmd=("true",), context=ctx) for i in range(n)]
        ray.get(sup.run.remote(specs[0]))  # warm
        t = time.perf_counter()
        results = ray.get([sup.run.remote(s) for s in specs])
        rate = n / (time.perf_counter() - t)
        assert all(r.status == "passed" for r in results)
        print(f"supervisor: {n} sandboxed runs at concurrency 2 -> {rate:.1f} runs/s")
        ray.kill(sup)
        return rate
    finally:
        ray.shutdown()


def main() -> None:
    with tempfile.TemporaryDirectory() as ws:
        os.chown(ws, 65534, 65534)
        added = overhead(ws)
    rate = throughput()
    print(f"goal: < 10 ms added per run -> true {'met' if added['true'] < 10 else 'MISSED'}, "
          f"python {'met' if added['python'] < 10 else 'MISSED'}")
    print(f"RESULT added_ms_true {added['true']:.2f}")
    print(f"RESULT added_ms_python {added['python']:.2f}")
    print(f"RESULT runs_per_s {rate:.1f}")


if __name__ == "__main__":
    main()
