"""Model serving with the default model (local-qwen-coder), side by side in one run.

- default_tok_per_s: one stream, a 256-token completion through the llama.cpp Serve app
  (completion tokens / wall time of the request, prompt included).
- batching_gain: completion tokens/s of 8 concurrent requests / 8 sequential ones,
  both through the Serve app over HTTP (goal >= 2.0).
- prefix_reuse_gain: a council-shaped workload, 3 requests sharing a ~2,000-token prefix
  (story + code context) with different questions, one after another as a council's turns
  are: time with the engine's prompt cache off (``cache_prompt: false``) / time with it on
  (goal >= 2.0). Each phase has its own prefix, so neither profits from the other.
- serve_overhead: (median time via Serve - median time in-process) / in-process for a
  64-token completion; in-process = the same engine class called directly (goal < 0.10).

Speculative decoding (``--part spec``: spec_gain, dev_speed_ratio on edit replies, spec_gain_fresh
on QA-shaped replies that copy little; in-process engines side by side, requests interleaved) and
both routed models resident in one Serve app (``--part resident``: resident_rss_gib, the demo
story's developer turn per model): benchmarks/model_loads.py. Council
members on one shared prefix, sent together or one after another (``--part members``:
members_sequential_gain, on the 1.5B's served settings): benchmarks/member_turns.py. A developer's
ballot after its own patch, its prompt beginning as the patch's or as it did before (``--part
ballot``: ballot_prefix_gain): benchmarks/ballot_prefix.py.

Starts its own local Ray (no dashboard) + Serve on a free port and stops them (serve, resident).
Run: .venv/bin/python benchmarks/bench_models.py [--model local-qwen-coder]
     [--part all|serve|spec|resident|members|ballot]   (all: spec then serve)
"""

from __future__ import annotations

import argparse
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
from member_turns import run_members  # noqa: E402
from model_loads import report, run_resident, run_spec, start_ray  # noqa: E402

from cluster.graphserver import free_port  # noqa: E402
from fleet.config import load  # noqa: E402

STORY = "Tell me a long story about a robot who learns to write software."
ROUNDS = 5
MODEL = "local-qwen-coder"


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


def post(client: httpx.Client, url: str, b: dict) -> dict:
    r = client.post(f"{url}/chat/completions", json=b, timeout=900)
    r.raise_for_status()
    return r.json()


def single_stream(url: str, client: httpx.Client) -> float:
    start = time.perf_counter()
    out = post(client, url, body(7, 256))
    elapsed = time.perf_counter() - start
    n = out["usage"]["completion_tokens"]
    gen = out.get("timings", {}).get("predicted_per_second", 0.0)
    print(
        f"single stream: {n} tokens in {elapsed:.1f} s (engine's own generation rate {gen:.1f} tok/s)"
    )
    return n / elapsed


def batching(url: str, client: httpx.Client) -> tuple[float, float]:
    """Tokens/s of 8 sequential then 8 concurrent requests; prints evidence that the comparison is fair.

    Every request generates exactly 64 tokens (ignore_eos); the printed prompt tokens show how
    much prompt each phase evaluated; the printed overlap is the peak number of requests in flight.
    """
    spans: list[tuple[float, float]] = []
    prompt: list[int] = []

    def one(i: int) -> int:
        start = time.perf_counter()
        out = post(client, url, body(i))
        spans.append((start, time.perf_counter()))
        prompt.append(out.get("timings", {}).get("prompt_n", -1))
        return out["usage"]["completion_tokens"]

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


def council_prefix(tag: str, tokens: int = 2000) -> str:
    """A story + code context of about ``tokens`` Qwen tokens (counted with the model's tokenizer)."""
    from fleet.adapters.gguf_tokenizer import GGUFTokenizer

    tok = GGUFTokenizer(model=MODEL)
    parts = [f"Story {tag}: add rate limiting to the {tag} export API. Code context follows.\n"]
    i = 0
    while tok.count("".join(parts)) < tokens:
        parts.append(
            f"def handler_{tag}_{i}(request, limit={i % 7 + 1}):\n"
            f"    '''Serve export page {i} for {tag}; at most limit calls per second.'''\n"
            f"    window = request.user.window_{i % 5}\n"
            f"    if window.count >= limit:\n        raise TooMany('{tag}-{i}')\n"
            f"    return export(request, page={i})\n\n"
        )
        i += 1
    return "".join(parts)


def council_turns(url: str, client: httpx.Client, *, reuse: bool, tag: str) -> tuple[float, list]:
    """Three members' turns on one shared prefix; (seconds, prompt tokens evaluated per turn)."""
    prefix = council_prefix(tag)
    questions = ["Propose a change.", "Critique the proposal.", "Vote: which plan is best?"]
    evaluated, start = [], time.perf_counter()
    for q in questions:
        b = {
            "model": MODEL,
            "messages": [{"role": "system", "content": prefix}, {"role": "user", "content": q}],
            "max_tokens": 16,
            "temperature": 0.0,
            "ignore_eos": True,
            "cache_prompt": reuse,
        }
        evaluated.append(post(client, url, b).get("timings", {}).get("prompt_n", -1))
    return time.perf_counter() - start, evaluated


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


def main() -> int:
    global MODEL
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=MODEL, help="llamacpp model from models.yaml")
    parser.add_argument(
        "--part", choices=("all", "serve", "spec", "resident", "members", "ballot"), default="all"
    )
    parser.add_argument("--rounds", type=int, default=3, help="spec, members: rounds (>= 3)")
    parser.add_argument(
        "--arms",
        default="ngram_simple,draft",
        help="spec part: speculation arms of the 1.5B (ngram_simple, ngram_map_k, ngram_mod, draft)",
    )
    args = parser.parse_args()
    MODEL = args.model
    print(f"load average at start: {os.getloadavg()} (2 cores, shared machine)", flush=True)
    if args.part == "resident":
        run_resident(load("models.yaml"))
        return 0
    if args.part == "members":
        run_members(load("models.yaml"), rounds=args.rounds)
        return 0
    if args.part == "ballot":
        from ballot_prefix import run_ballots

        run_ballots(load("models.yaml"), rounds=args.rounds)
        return 0
    if args.part in ("all", "spec"):
        run_spec(load("models.yaml"), arms=args.arms.split(","), rounds=args.rounds)
    return serve_part() if args.part in ("all", "serve") else 0


def serve_part() -> int:
    import ray
    from ray import serve

    from serve_apps.llm import deploy_llm

    models = load("models.yaml")
    spec = models.models[MODEL]
    print(
        f"model {MODEL} ({spec.gguf}): n_parallel={spec.n_parallel} n_threads={spec.n_threads} "
        f"num_cpus={spec.num_cpus} cache_prompt={spec.cache_prompt} "
        f"slot_prompt_similarity={spec.slot_prompt_similarity}",
        flush=True,
    )
    print(
        "load average at start: {:.1f} {:.1f} {:.1f} (2 cores, shared machine)".format(
            *os.getloadavg()
        )
    )
    start_ray(ray)
    # The in-process baseline runs before the Serve replica loads its engine: two engines alive at
    # once would compete for the 2 cores. (Ray starts first: on a loaded machine its start-up can
    # time out and is retried, which must not cost a second baseline run.)
    local = in_process(spec)
    print(f"in-process 64-token completion, median of {ROUNDS}: {local * 1000:.0f} ms", flush=True)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": free_port()})
        url = deploy_llm(models, MODEL, route_prefix="/llm", app_name="llm-bench")
        with httpx.Client() as client:
            post(client, url, body(0, 8))  # warm up
            served = statistics.median(
                [timed(lambda b: post(client, url, b), i) for i in range(ROUNDS)]
            )
            tok_s = single_stream(url, client)
            seq, con = batching(url, client)
            cold, cold_n = council_turns(url, client, reuse=False, tag="billing")
            warm, warm_n = council_turns(url, client, reuse=True, tag="orders")
    finally:
        serve.shutdown()
        ray.shutdown()
    print(
        f"64-token completion, median of {ROUNDS}: via Serve {served * 1000:.1f} ms, in-process {local * 1000:.1f} ms"
    )
    print(
        f"council turns on a shared prefix: without reuse {cold:.1f} s (prompt tokens evaluated "
        f"{cold_n}), with reuse {warm:.1f} s ({warm_n})"
    )
    print("load average at end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    gain, over, reuse = con / seq, (served - local) / local, cold / warm
    report("batching_gain", gain, ">= 2.0", gain >= 2)
    report("prefix_reuse_gain", reuse, ">= 2.0", reuse >= 2)
    report("serve_overhead", over, "< 0.10", over < 0.10)
    print(f"RESULT default_tok_per_s {tok_s:.2f}")
    print(f"RESULT batching_gain {gain:.3f}")
    print(f"RESULT prefix_reuse_gain {reuse:.3f}")
    print(f"RESULT serve_overhead {over:.4f}")
    print(f"RESULT concurrent_tokens_per_s {con:.1f}")
    print(f"RESULT sequential_tokens_per_s {seq:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
