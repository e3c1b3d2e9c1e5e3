"""Sandbox overhead: sandboxed vs unsandboxed spawn, side by side, with a per-layer breakdown,
and supervisor throughput.

All variants are measured interleaved (round-robin, one run of each per round) so machine load
drifts hit them equally; medians are reported. Layers for `true`:

- plain: `subprocess.run(["true"])`;
- bare bwrap: `bwrap --unshare-{net,pid,ipc,uts} --ro-bind / / true` (FACTS.md's reference point);
- + our flags: our full bwrap argv (tmpfs masks, /dev, /proc, workspace bind, cgroupns, ...) but no uid drop;
- + setpriv: the same plus the `setpriv` uid/capability drop (the exact argv a run execs);
- sb.run, no cgroup: through BwrapSandbox (pre-armed launcher, rlimits, capture, result) without cgroups;
- sb.run (ours): the real thing: pre-armed launcher already inside its memory+pids cgroup;
- sb.run, not pre-armed: launcher spawn + cgroup creation and join on the critical path (the previous design's
  critical path, minus its per-run cgroup removal wait).

RESULT keys (BENCHMARKS.md): added_ms_true, added_ms_python (median ms the sandbox adds over plain),
runs_per_s (sandboxed `true` runs per second at concurrency 2 through the supervisor actor on a local Ray);
extra keys: bare_bwrap_ms_true (machine-state reference), added_ms_true_not_prearmed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from fleet.adapters.bwrap_sandbox import BwrapSandbox  # noqa: E402
from fleet.contracts import RunContext, TaskSpec  # noqa: E402

N = 40
BARE = [
    "bwrap",
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--ro-bind",
    "/",
    "/",
    "--",
]


def interleaved(cases: dict[str, Callable[[], None]], n: int = N) -> dict[str, float]:
    """Median ms of each case, measured round-robin after one warm-up call each."""
    for fn in cases.values():
        fn()
    xs: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(n):
        for key, fn in cases.items():
            t = time.perf_counter()
            fn()
            xs[key].append((time.perf_counter() - t) * 1000)
    return {k: statistics.median(v) for k, v in xs.items()}


def sandboxed(sb: BwrapSandbox, ws: str, cmd: tuple[str, ...]) -> Callable[[], None]:
    def go() -> None:
        r = sb.run(TaskSpec(id=uuid.uuid4().hex, cmd=cmd, workspace=ws))
        assert r.status == "passed", r

    return go


def plain(argv: list[str] | tuple[str, ...]) -> Callable[[], None]:
    return lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def overhead(ws: str) -> dict[str, float]:
    full, no_cg, cold = BwrapSandbox(), BwrapSandbox(use_cgroups=False), BwrapSandbox(prewarm=0)
    print(f"cgroups: {full.cgroup_status()}; load average before: {os.getloadavg()[0]:.1f}")
    argv = full.argv(TaskSpec(id="x", cmd=("true",), workspace=ws), ws)
    no_setpriv = argv[: argv.index("--") + 1] + ["true"]
    layers = interleaved(
        {
            "plain": plain(["true"]),
            "bare bwrap": plain(BARE + ["true"]),
            "+ our flags": plain(no_setpriv),
            "+ setpriv": plain(argv),
            "sb.run, no cgroup": sandboxed(no_cg, ws, ("true",)),
            "sb.run (ours)": sandboxed(full, ws, ("true",)),
            "sb.run, not pre-armed": sandboxed(cold, ws, ("true",)),
        }
    )
    print(f"`true`, median ms (interleaved, n={N}):")
    for key, ms in layers.items():
        print(f"  {key:24s} {ms:7.2f}   (+{ms - layers['plain']:6.2f} over plain)")
    py = (sys.executable, "-c", "pass")
    pys = interleaved(
        {
            "plain": plain(py),
            "bare bwrap": plain(BARE + list(py)),
            "sb.run (ours)": sandboxed(full, ws, py),
            "sb.run, not pre-armed": sandboxed(cold, ws, py),
        },
        n=N // 2,
    )
    print(f"`python -c pass`, median ms (interleaved, n={N // 2}):")
    for key, ms in pys.items():
        print(
            f"  {key:24s} {ms:7.2f}   (+{ms - pys['plain']:6.2f} over plain, ratio {ms / pys['plain']:.2f})"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for sb in (full, no_cg, cold):
        sb.close()
    return {
        "true": layers["sb.run (ours)"] - layers["plain"],
        "python": pys["sb.run (ours)"] - pys["plain"],
        "bare": layers["bare bwrap"],
        "cold": layers["sb.run, not pre-armed"] - layers["plain"],
    }


def throughput(n: int = 60) -> float:
    import ray

    from actors.sandbox import build_supervisor

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        namespace="bench-sandbox",
        log_to_driver=False,
        object_store_memory=100_000_000,
    )
    try:
        sup = build_supervisor(
            f"bench-{uuid.uuid4().hex[:6]}", namespace="bench-sandbox", concurrency=2
        )
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
    print(
        f"goal: < 10 ms added per run -> true {'met' if added['true'] < 10 else 'MISSED'}, "
        f"python {'met' if added['python'] < 10 else 'MISSED'}"
    )
    print(f"RESULT added_ms_true {added['true']:.2f}")
    print(f"RESULT added_ms_python {added['python']:.2f}")
    print(f"RESULT runs_per_s {rate:.1f}")
    print(f"RESULT bare_bwrap_ms_true {added['bare']:.2f}")
    print(f"RESULT added_ms_true_not_prearmed {added['cold']:.2f}")


if __name__ == "__main__":
    main()
