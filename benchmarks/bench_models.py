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

Speculative decoding (``--part spec``), in-process engines side by side, requests interleaved:
- spec_gain: tokens/s of the 1.5B with speculation / without, on an edit-shaped load (a
  SEARCH/REPLACE reply over a ~2,000-token repository context already in the engine's prompt
  cache, as for council members after the first; greedy and T=0.7 mixed; median of 3 rounds).
  Its speculation: models.yaml's, or the best arm measured when models.yaml has none.
- dev_speed_ratio: the 1.5B with that speculation / the 0.5B plain, same load.
tokens/s = completion tokens / request wall time (the new question's prefill included).

Starts its own local Ray (no dashboard) + Serve on a free port and stops them (``--part serve``).
Run: .venv/bin/python benchmarks/bench_models.py [--model local-qwen-coder] [--part all|serve|spec]
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

from cluster.graphserver import free_port  # noqa: E402
from fleet.config import SpeculativeDecoding, load  # noqa: E402

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


def start_ray(ray, attempts: int = 4) -> None:
    """A local Ray; its node start-up times out after a fixed 30 s under heavy load: retry."""
    for attempt in range(attempts):
        try:
            ray.init(
                address="local",
                num_cpus=2,
                include_dashboard=False,
                log_to_driver=False,
                object_store_memory=100_000_000,
                namespace="bench-models",
            )
            return
        except Exception as exc:  # Ray raises a bare Exception for the start-up timeout
            print(f"ray start attempt {attempt + 1} failed: {exc}", flush=True)
            ray.shutdown()
            time.sleep(10)
    raise SystemExit("could not start a local Ray cluster")


def report(name: str, value: float, goal: str, met: bool) -> None:
    print(f"{name} {value:.3f} (goal {goal}: {'met' if met else 'MISSED'})")


def main() -> int:
    global MODEL
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=MODEL, help="llamacpp model from models.yaml")
    parser.add_argument("--part", choices=("all", "serve", "spec"), default="all")
    parser.add_argument("--rounds", type=int, default=3, help="spec part: rounds (>= 3)")
    parser.add_argument(
        "--arms",
        default="ngram_simple,draft",
        help="spec part: speculation arms of the 1.5B (ngram_simple, ngram_map_k, ngram_mod, draft)",
    )
    args = parser.parse_args()
    MODEL = args.model
    print(f"load average at start: {os.getloadavg()} (2 cores, shared machine)", flush=True)
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


# ----------------------------------------------------------------------------- speculation

SMALL, LARGE = "local-qwen-coder", "local-qwen-1.5b"
TASKS = (  # one per request: every arm answers the same six questions over the same context
    "In clean_path, also return None for a path that contains a backslash.",
    "In _join, strip trailing spaces from every line before joining them.",
    "Give EditError.__init__ a docstring that explains its three arguments.",
    "Rename the function _section_path to _section_header_path where it is defined.",
    "Add a method is_creation(self) -> bool to SearchReplace: True when search is empty.",
    "In _path_before, add a comment above the loop that says why it walks backwards.",
)


def edit_context(tokens: int = 2000) -> str:
    """A real repository file cut to ``tokens`` Qwen tokens, as a context pack shows a file."""
    from fleet.adapters.gguf_tokenizer import GGUFTokenizer

    root = Path(__file__).resolve().parents[1]
    code = GGUFTokenizer(model=SMALL).truncate(
        (root / "fleet/patches/edits.py").read_text(), tokens
    )
    return f"Repository file fleet/patches/edits.py:\n```python\n{code}\n```"


def edit_body(context: str, task: str, temperature: float, seed: int) -> dict:
    """The developer's own request (``author_messages``: context, edit format, task last)."""
    from fleet.agents.author import author_messages

    messages = author_messages(context, instruction=f"Task (fleet/patches/edits.py): {task}")
    return {
        "messages": [m.model_dump(include={"role", "content"}) for m in messages],
        "max_tokens": 256,
        "temperature": temperature,
        "seed": seed,
    }


def spec_arms(models, arms: list[str]) -> dict:
    """name -> (spec, draft spec): the 0.5B plain, the 1.5B plain, as configured, and each arm."""
    small, large = models.models[SMALL], models.models[LARGE]
    # 8k of context is plenty for this load and keeps five engines' KV caches small
    small, large = (m.model_copy(update={"n_ctx": 8192, "n_parallel": 2}) for m in (small, large))
    plain = {"speculative": None}
    out = {"0.5B plain": (small.model_copy(update=plain), None)}
    out["1.5B plain"] = (large.model_copy(update=plain), None)
    if large.speculative is not None:
        out["1.5B configured"] = (large, small if large.speculative.draft_model else None)
    for arm in filter(
        None, arms
    ):  # method[:ngram_size[:n_max]], e.g. ngram_simple:3:24 or draft::8
        method, *nums = arm.split(":")
        sd = SpeculativeDecoding(method=method, draft_model=SMALL if method == "draft" else None)
        keys = ("ngram_size", "n_max")
        sd = sd.model_copy(update={k: int(v) for k, v in zip(keys, nums, strict=False) if v})
        out[f"1.5B {arm}"] = (
            large.model_copy(update={"speculative": sd}),
            small.model_copy(update=plain) if method == "draft" else None,
        )
    return out


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return -1.0


def run_spec(models, *, arms: list[str], rounds: int) -> None:
    """Every arm answers the same edit questions, interleaved round by round; prints RESULT lines."""
    from serve_apps.llm.engine import LlamaCppEngine

    context, engines = edit_context(), {}
    for name, (spec, draft) in spec_arms(models, arms).items():
        start = time.perf_counter()
        engines[name] = LlamaCppEngine(spec, served_name=name, draft=draft)
        # the shared repository context, evaluated once per engine (a council's first member)
        engines[name].chat(edit_body(context, "Reply with OK.", 0.0, 0) | {"max_tokens": 1})
        print(
            f"{name}: loaded + context prefilled in {time.perf_counter() - start:.1f} s, "
            f"process RSS {rss_mib():.0f} MiB",
            flush=True,
        )
    rates: dict[str, list[float]] = {name: [] for name in engines}
    decode: dict[str, list[float]] = {name: [] for name in engines}
    walls: dict[str, list[float]] = {name: [] for name in engines}
    for r in range(rounds):
        for name, engine in engines.items():
            n = {"tokens": 0, "wall": 0.0, "gen_ms": 0.0, "draft_n": 0, "draft_n_accepted": 0}
            for k, temperature in enumerate((0.0, 0.7)):
                task = TASKS[(2 * r + k) % len(TASKS)]
                start = time.perf_counter()
                out = engine.chat(edit_body(context, task, temperature, seed=r))
                n["wall"] += time.perf_counter() - start
                n["tokens"] += out["usage"]["completion_tokens"]
                timings = out.get("timings", {})
                n["gen_ms"] += timings.get("predicted_ms", 0.0)
                for key in ("draft_n", "draft_n_accepted"):
                    n[key] += timings.get(key, 0)
                if r == 0 and k == 0:
                    print(f"--- {name}, greedy reply:\n{out['choices'][0]['message']['content']}")
            rates[name].append(n["tokens"] / n["wall"])
            walls[name].append(n["wall"])
            decode[name].append(n["tokens"] / max(n["gen_ms"] / 1000, 1e-9))
            print(
                f"round {r + 1} {name}: {n['tokens']} tokens in {n['wall']:.1f} s = "
                f"{rates[name][-1]:.2f} tok/s (decoding alone {decode[name][-1]:.2f}), drafted "
                f"{n['draft_n']}, accepted {n['draft_n_accepted']}, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    spec_report(rates, decode, walls)


def paired(rates: dict[str, list[float]], a: str, b: str) -> float:
    """Median over rounds of a's rate / b's in the same round: the load drifts between rounds
    (and it moved from 3 to 15 within one run here), the arms of one round ran minutes apart."""
    return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))


def spec_report(rates: dict, decode: dict, walls: dict) -> None:
    med = {name: statistics.median(v) for name, v in rates.items()}
    for name, value in med.items():
        print(
            f"median {name}: {value:.2f} tok/s, {statistics.median(walls[name]):.1f} s per round "
            f"of two replies; paired ratio to the 1.5B plain {paired(rates, name, '1.5B plain'):.2f}"
        )
    spec_names = [n for n in med if n.startswith("1.5B") and n != "1.5B plain"]
    served = "1.5B configured" if "1.5B configured" in med else max(spec_names, key=med.get)
    gain, ratio = paired(rates, served, "1.5B plain"), paired(rates, served, "0.5B plain")
    print(
        f"spec_gain and dev_speed_ratio use '{served}' (ratio of the medians instead: "
        f"{med[served] / med['1.5B plain']:.3f} and {med[served] / med['0.5B plain']:.3f})"
    )
    report("spec_gain", gain, ">= 2.0", gain >= 2)
    report("dev_speed_ratio", ratio, ">= 0.7", ratio >= 0.7)
    print(f"RESULT spec_gain {gain:.3f}")
    print(f"RESULT dev_speed_ratio {ratio:.3f}")
    for name in spec_names:
        key = name.split()[1].replace(":", "_")
        print(f"RESULT spec_gain_{key} {paired(rates, name, '1.5B plain'):.3f}")
        print(f"RESULT spec_gain_decode_{key} {paired(decode, name, '1.5B plain'):.3f}")
    print(f"RESULT dev_speed_ratio_decode {paired(decode, served, '0.5B plain'):.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
