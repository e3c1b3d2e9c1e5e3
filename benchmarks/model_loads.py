"""Helpers of benchmarks/bench_models.py: the speculative-decoding part (``--part spec``), the
resident part (``--part resident``) and what both parts share (a local Ray, RESULT lines).

- spec_gain: tokens/s of the 1.5B with speculation / without, on an edit-shaped load (a
  SEARCH/REPLACE reply over a ~2,000-token repository context already in the engine's prompt
  cache, as for council members after the first; greedy and T=0.7 mixed; median of 3 rounds).
  Its speculation: models.yaml's, or the best arm measured when models.yaml has none.
- dev_speed_ratio: the 1.5B with that speculation / the 0.5B plain, same load.
  tokens/s = completion tokens / request wall time (the new question's prefill included).
- spec_gain_fresh: the same ratio as spec_gain on replies that copy little from the prompt (QA's
  example lines and tests, a new function; QA's system prompt, same context), where rejected
  drafts cost verification: speculation that pays on edits must not cost here.
- resident_rss_gib: every model the shipped routing names, loaded in one llama.cpp Serve app as
  ``fleet up`` deploys it (models.yaml's own n_ctx, slots, speculation): the replica's RSS after
  each model took the bundled sample story's developer turn (``demo_turn_s_<model>``: its wall
  time through Serve and the fleet's edit path; ``demo_turn_ok_<model>``: 1 when the applied
  change defines divide in calc/ops.py), then one edit request over a 2,000-token file each.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import httpx

from cluster.graphserver import free_port
from fleet.config import SpeculativeDecoding


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


SMALL, LARGE = "local-qwen-coder", "local-qwen-1.5b"
TASKS = (  # one per request: every arm answers the same six questions over the same context
    "In clean_path, also return None for a path that contains a backslash.",
    "In _join, strip trailing spaces from every line before joining them.",
    "Give EditError.__init__ a docstring that explains its three arguments.",
    "Rename the function _section_path to _section_header_path where it is defined.",
    "Add a method is_creation(self) -> bool to SearchReplace: True when search is empty.",
    "In _path_before, add a comment above the loop that says why it walks backwards.",
)


FRESH = (  # replies that copy little from the prompt: QA's example lines, a new function, tests
    "Write 6 examples of calling clean_path with other inputs, one per line, exactly in the form\n"
    "clean_path(ARGS) returns VALUE\nwhere ARGS and VALUE are Python literals. Only the 6 lines.",
    "Write a new function count_blocks(text: str) -> int that counts the SEARCH/REPLACE blocks in "
    "text. Reply with the function only, in one python code block.",
    "Write 5 pytest test functions for _join, each with one assert. Only the code.",
    "Write 6 examples of calling _path_before with other inputs, one per line, exactly in the form\n"
    "_path_before(ARGS) returns VALUE\nwhere ARGS and VALUE are Python literals. Only the 6 lines.",
)


def fresh_body(context: str, task: str, temperature: float, seed: int) -> dict:
    """QA's kind of request: the role's prompt (config/roles.yaml), the context, a question whose
    answer is new text."""
    from fleet.config import load

    return {
        "messages": [
            {"role": "system", "content": load("roles.yaml").roles["qa"].system_prompt},
            {"role": "user", "content": f"{context}\n\n{task}"},
        ],
        "max_tokens": 256,
        "temperature": temperature,
        "seed": seed,
    }


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
    """Every arm answers the same questions, interleaved round by round: two edit replies (the
    goal's load) and two fresh ones (QA's kind); prints RESULT lines."""
    from serve_apps.llm.engine import LlamaCppEngine

    context, engines = edit_context(), {}
    for name, (spec, draft) in spec_arms(models, arms).items():
        start = time.perf_counter()
        engines[name] = LlamaCppEngine(spec, served_name=name, draft=draft)
        # the shared repository context, evaluated once per engine (a council's first member)
        engines[name].chat(edit_body(context, "Reply with OK.", 0.0, 0) | {"max_tokens": 1})
        engines[name].chat(fresh_body(context, "Reply with OK.", 0.0, 0) | {"max_tokens": 1})
        print(
            f"{name}: loaded + context prefilled in {time.perf_counter() - start:.1f} s, "
            f"process RSS {rss_mib():.0f} MiB",
            flush=True,
        )
    loads = {"edit": (edit_body, TASKS), "fresh": (fresh_body, FRESH)}
    keys = [(load, name) for load in loads for name in engines]
    rates: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    decode: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    walls: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    for r in range(rounds):
        for load, (make, tasks) in loads.items():
            for name, engine in engines.items():
                n = {"tokens": 0, "wall": 0.0, "gen_ms": 0.0, "draft_n": 0, "draft_n_accepted": 0}
                for k, temperature in enumerate((0.0, 0.7)):
                    task = tasks[(2 * r + k) % len(tasks)]
                    start = time.perf_counter()
                    out = engine.chat(make(context, task, temperature, seed=r))
                    n["wall"] += time.perf_counter() - start
                    n["tokens"] += out["usage"]["completion_tokens"]
                    timings = out.get("timings", {})
                    n["gen_ms"] += timings.get("predicted_ms", 0.0)
                    for key in ("draft_n", "draft_n_accepted"):
                        n[key] += timings.get(key, 0)
                    if r == 0 and k == 0:
                        reply = out["choices"][0]["message"]["content"]
                        print(f"--- {name}, {load}, greedy reply:\n{reply}")
                rates[load, name].append(n["tokens"] / n["wall"])
                walls[load, name].append(n["wall"])
                decode[load, name].append(n["tokens"] / max(n["gen_ms"] / 1000, 1e-9))
                print(
                    f"round {r + 1} {load} {name}: {n['tokens']} tokens in {n['wall']:.1f} s = "
                    f"{rates[load, name][-1]:.2f} tok/s (decoding alone "
                    f"{decode[load, name][-1]:.2f}), drafted {n['draft_n']}, accepted "
                    f"{n['draft_n_accepted']}, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )

    def of(table: dict, load: str) -> dict:
        return {name: v for (kind, name), v in table.items() if kind == load}

    spec_report(of(rates, "edit"), of(decode, "edit"), of(walls, "edit"))
    fresh_report(of(rates, "fresh"), of(walls, "fresh"))


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
    served = (
        "1.5B configured" if "1.5B configured" in med else max(spec_names, key=lambda n: med[n])
    )
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


def fresh_report(rates: dict, walls: dict) -> None:
    """The same settings on replies that copy little from the prompt: speculation must not cost
    there what it gains on edits (a rejected draft is verified at the price of a batch)."""
    for name in rates:
        if name.startswith("1.5B") and name != "1.5B plain":
            key = "" if name == "1.5B configured" else "_" + name.split()[1].replace(":", "_")
            gain = paired(rates, name, "1.5B plain")
            print(
                f"fresh replies, {name}: {statistics.median(walls[name]):.1f} s per round of two "
                f"(1.5B plain {statistics.median(walls['1.5B plain']):.1f} s)"
            )
            print(f"RESULT spec_gain_fresh{key} {gain:.3f}")


# ----------------------------------------------------------------------------- resident


def replica_rss_mib(app_name: str) -> float:
    """RSS of the Serve replica process of ``app_name`` (Ray titles it ``ray::ServeReplica:<app>:...``)."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            if f"ServeReplica:{app_name}:" not in cmdline:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:  # a process that ended while we looked
            continue
    return -1.0


def demo_request() -> tuple[list, dict[str, str], list]:
    """The developer's first request on the bundled sample story (what `make demo` asks first):
    (messages, the repository's files, what a reply without edits is asked to continue)."""
    from fleet.agents.author import author_messages
    from fleet.agents.request import asked_for, change_request
    from fleet.orchestrator.sample import SAMPLE_STORY

    root = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sample_repo"
    files = {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".py", ".md")
    }
    criteria = SAMPLE_STORY["acceptance_criteria"]
    task = SAMPLE_STORY["title"] + ": " + "; ".join(criteria)
    context = "## code\n" + "\n".join(f"### {p}\n{t}" for p, t in files.items())
    messages = author_messages(context, instruction=change_request(task, criteria, files))
    return messages, files, asked_for([task, *criteria], files)


def demo_turn(models, name: str, url: str) -> tuple[float, int]:
    """The developer's turn on the sample story through the fleet's own edit path (parse, apply,
    continuation): (seconds, 1 when calc/ops.py then defines divide)."""
    from fleet.adapters.model_registry import build_chat_model
    from fleet.agents import write_change

    messages, files, focus = demo_request()
    chat = build_chat_model(models, name, llm_base_url=url)
    start = time.perf_counter()
    try:
        patch, new = write_change(chat, messages, files, base_commit="base", focus=focus)
        ok, shown = int("def divide(" in new.get("calc/ops.py", "")), patch.diff
    except Exception as exc:  # no usable edit: the story would retry; here it counts as a miss
        ok, shown = 0, f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - start
    print(f"--- {name}: {wall:.1f} s, load {os.getloadavg()[0]:.1f}\n{shown}", flush=True)
    return wall, ok


def run_resident(models) -> None:
    """Every routed llama.cpp model in one Serve app, as `fleet up` deploys them; prints RESULTs."""
    import ray
    from ray import serve

    from serve_apps.llm import deploy_llm, served_models

    served = served_models(models, fallback=SMALL)
    print(f"serving {served} in one app (models.yaml routing)", flush=True)
    start_ray(ray)
    app, turns = "llm-resident", {}
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": free_port()})
        start = time.perf_counter()
        url = deploy_llm(models, served, route_prefix="/llm-resident", app_name=app)
        print(
            f"deployed in {time.perf_counter() - start:.0f} s, RSS {replica_rss_mib(app):.0f} MiB"
        )
        context = edit_context()
        for name in served:
            turns[name] = demo_turn(models, name, url)
            # and a council-sized prompt (a 2,000-token file), which fills more of the KV cache
            body = edit_body(context, TASKS[0], 0.0, 0) | {"model": name, "max_tokens": 64}
            start = time.perf_counter()
            httpx.post(f"{url}/chat/completions", json=body, timeout=1800).raise_for_status()
            print(
                f"{name}: edit request over a 2,000-token file {time.perf_counter() - start:.1f} s, "
                f"RSS {replica_rss_mib(app):.0f} MiB",
                flush=True,
            )
        rss = replica_rss_mib(app)
    finally:
        serve.shutdown()
        ray.shutdown()
    report("resident_rss_gib", rss / 1024, "< 4.0", 0 < rss < 4096)
    print(f"RESULT resident_rss_gib {rss / 1024:.2f}")
    for name, (wall, ok) in turns.items():
        print(f"RESULT demo_turn_s_{name} {wall:.1f}")
        print(f"RESULT demo_turn_ok_{name} {ok}")
