"""Council members on one shared prefix, on the served engine's settings: all at once, or one
after another (``bench_models.py --part members``).

A council's members of one role send prompts that are the same up to their last few hundred
tokens (the context pack, the listing; ``council.identity`` and the job come last). llama.cpp's
server evaluates a prefix once only for a request that lands on a slot already holding it: three
requests sent together each take an idle slot and each evaluate the whole prefix, while requests
sent one after another reuse the first one's slot (its cache). On a CPU, where prompt evaluation
dominates, the second may finish sooner despite decoding without batching; this measures it.

Each round and way begins with its own line before the shared ~2,000-token context (a real
repository file, ``model_loads.edit_context``), so none profits from another's cache. Prints ``RESULT members_sequential_gain`` (seconds all at once /
seconds one after another, median of the rounds) and the prompt tokens each way evaluated.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from model_loads import LARGE, edit_context

MEMBERS = 3
TOKENS = 96  # a critique's or a ballot's reply


def member_body(context: str, salt: str, member: int) -> dict[str, Any]:
    """Member ``member``'s request: ``salt`` first (no two rounds share a prefix), the shared
    context, then its own name and job last."""
    return {
        "messages": [
            {"role": "system", "content": "You are a careful Python developer. Answer in JSON."},
            {
                "role": "user",
                "content": f"Review {salt}.\n{context}\n\nYou are developer-{member}.\n\n"
                f"Critique proposal {member} of the change above in one short JSON object.",
            },
        ],
        "max_tokens": TOKENS,
        "temperature": 0.0,
        "seed": member,
        "ignore_eos": True,
    }


def _turns(engine: Any, context: str, salt: str, *, together: bool) -> tuple[float, int]:
    """(seconds, prompt tokens evaluated) for the members' turns."""
    bodies = [member_body(context, salt, m) for m in range(1, MEMBERS + 1)]
    start = time.perf_counter()
    if together:
        with ThreadPoolExecutor(MEMBERS) as pool:
            outs = list(pool.map(engine.chat, bodies))
    else:
        outs = [engine.chat(b) for b in bodies]
    evaluated = sum(o.get("timings", {}).get("prompt_n", 0) for o in outs)
    return time.perf_counter() - start, evaluated


def run_members(models: Any, *, rounds: int) -> None:
    """The default developer model as served (its slots, one KV cache), ``rounds`` rounds, each
    way in turn; prints the per-round figures and RESULT lines."""
    from serve_apps.llm.engine import LlamaCppEngine

    spec = models.models[LARGE]
    print(f"members: {LARGE} n_parallel={spec.n_parallel} n_threads={spec.n_threads}", flush=True)
    engine = LlamaCppEngine(spec, served_name=LARGE)
    context, together, apart = edit_context(), [], []
    for r in range(rounds):
        for way, out in (("together", together), ("one after another", apart)):
            seconds, evaluated = _turns(engine, context, f"{r}-{way}", together=way == "together")
            out.append(seconds)
            print(f"round {r}: {MEMBERS} members {way}: {seconds:.1f} s, "
                  f"{evaluated} prompt tokens evaluated", flush=True)  # fmt: skip
    gain = statistics.median(together) / statistics.median(apart)
    print(f"RESULT members_together_s {statistics.median(together):.1f}")
    print(f"RESULT members_apart_s {statistics.median(apart):.1f}")
    print(f"RESULT members_sequential_gain {gain:.3f}")
