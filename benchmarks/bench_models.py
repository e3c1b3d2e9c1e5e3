"""Model serving: continuous-batching gain and Serve overhead, side by side in one run.

- batching_gain: completion tokens/s of 8 concurrent requests / 8 sequential ones,
  both through the llama.cpp Serve app over HTTP (goal >= 2.0).
- serve_overhead: (median time via Serve - median time in-process) / in-process for a
  64-token completion; in-process = the same engine class called directly (goal < 0.10).

Starts its own local Ray (no dashboard) + Serve on a free port and stops them.
Run: .venv/bin/python benchmarks/bench_models.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import httpx  # noqa: E402

from cluster.graphserver import free_port  # noqa: E402
from fleet.config import load  # noqa: E402

MODEL = "local-smollm2"
STORY = "Tell me a long story about a robot who learns to write software."
ROUNDS = 7


def body(i: int, max_tokens: int = 64) -> dict:
    # ignore_eos keeps every completion at exactly max_tokens, so runs compare like for like
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"{STORY} Chapter {i}."}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "seed": i,
        "ignore_eos": True,
    }


def batching(url: str, client: httpx.Client) -> tuple[float, float]:
    """Tokens/s of 8 sequential then 8 concurrent requests; prints evidence that the comparison is fair.

    Every request generates exactly 64 tokens (ignore_eos); the engine's prompt cache shares the common
    prefix across slots, so both phases process about the same few prompt tokens (printed); and the
    concurrent phase really overlaps: the printed overlap is the peak number of requests in flight.
    """
    spans: list[tuple[float, float]] = []
    prompt: list[int] = []

    def one(i: int) -> int:
        start = time.perf_counter()
        r = client.post(f"{url}/chat/completions", json=body(i), timeout=300)
        r.raise_for_status()
        spans.append((start, time.perf_counter()))
        prompt.append(r.json().get("timings", {}).get("prompt_n", -1))
        return r.json()["usage"]["completion_tokens"]

    start = time.perf_counter()
    seq_tokens = sum(one(i) for i in range(8))
    seq = seq_tokens / (time.perf_counter() - start)
    seq_prompt, spans[:], prompt[:] = sum(prompt), [], []
    with ThreadPoolExecutor(8) as pool:
        start = time.perf_counter()
        con_tokens = sum(pool.map(one, range(8)))
        con = con_tokens / (time.perf_counter() - start)
    overlap = max(sum(s <= t < e for s, e in spans) for t, _ in spans)
    print(
        f"sequential: {seq_tokens} tokens, {seq:.1f} tok/s, {seq_prompt} prompt tokens evaluated | "
        f"concurrent x8: {con_tokens} tokens, {con:.1f} tok/s, {sum(prompt)} prompt tokens evaluated, "
        f"peak in flight {overlap}/8"
    )
    return seq, con


def timed(call, i: int) -> float:
    start = time.perf_counter()
    out = call(body(100 + i))
    assert out["usage"]["completion_tokens"] == 64, out["usage"]
    return time.perf_counter() - start


def in_process(spec) -> float:
    """Median 64-token completion time calling the engine directly (nothing else loaded)."""
    from serve_apps.llm.engine import LlamaCppEngine

    engine = LlamaCppEngine(spec, served_name=MODEL)
    engine.chat(body(0, 8))
    times = [timed(engine.chat, i) for i in range(ROUNDS)]
    del engine  # frees the engine's threads before the Serve replica loads its own
    return statistics.median(times)


def via_serve(url: str, client: httpx.Client) -> float:
    def call(b: dict) -> dict:
        r = client.post(f"{url}/chat/completions", json=b, timeout=300)
        r.raise_for_status()
        return r.json()

    return statistics.median([timed(call, i) for i in range(ROUNDS)])


def main() -> int:
    import ray
    from ray import serve

    from serve_apps.llm import deploy_llm

    models = load("models.yaml")
    spec = models.models[MODEL]
    print(
        f"model {MODEL}: n_parallel={spec.n_parallel} n_threads={spec.n_threads} num_cpus={spec.num_cpus}"
    )
    # Two engines alive at once compete for the 2 cores, so the in-process baseline runs first, alone.
    local = in_process(spec)
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100_000_000,
        namespace="bench-models",
    )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": free_port()})
        url = deploy_llm(models, MODEL, route_prefix="/llm", app_name="llm-bench")
        with httpx.Client() as client:
            client.post(
                f"{url}/chat/completions", json=body(0, 8), timeout=300
            ).raise_for_status()  # warm up
            served = via_serve(url, client)
            seq, con = batching(url, client)
    finally:
        serve.shutdown()
        ray.shutdown()
    print(
        f"64-token completion, median of {ROUNDS}: via Serve {served * 1000:.1f} ms, in-process {local * 1000:.1f} ms"
    )
    gain, over = con / seq, (served - local) / local
    print(
        f"batching gain {gain:.2f}x (goal >= 2.0: {'met' if gain >= 2 else 'MISSED'}); "
        f"serve overhead {over:.3f} (goal < 0.10: {'met' if over < 0.10 else 'MISSED'})"
    )
    print(f"RESULT batching_gain {gain:.3f}")
    print(f"RESULT serve_overhead {over:.4f}")
    print(f"RESULT concurrent_tokens_per_s {con:.1f}")
    print(f"RESULT sequential_tokens_per_s {seq:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
