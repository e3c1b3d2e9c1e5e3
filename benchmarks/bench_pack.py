"""The developer's code section as built, or only the functions localisation points at: side by
side on first-proposal requests recorded in real-model traces (``fleet/context/located.py``).

Reads developers' first requests recorded by ``bench_agents.py --trace`` (or a file written by
``--save``) on the development bug and change tasks, keeps those whose code section shows a
located function (``... where the report points``), and asks the model each request twice with
the same temperature and seed (the recorded ones, or ``--temperature`` and the seed plus
``--seed-offset``): as recorded (``full``: the located functions first, then the
other most relevant files and functions), and with the code section cut to the located functions
(``focused``; the repository map, the story and the test results stay). Each reply is applied to
its task's base tree as the fleet applies edits (``bench_apply.applied``) and the tree judged by
the task's hidden tests (the package's own, in bubblewrap). A reply is one draw of the model; the
pipeline around it (corrections, debugging, the council's choice) is not replayed.

Prints one line per request and ``RESULT pack_<variant>_applies`` (the fraction of replies whose
edits apply and change the code), ``RESULT pack_<variant>_passes`` (the fraction passing the
hidden tests), ``RESULT pack_<variant>_seconds`` (median seconds per reply), ``RESULT
pack_focused_prompt_share`` (the focused prompts' prompt tokens over the full ones'), and
``RESULT pack_requests``.
Run: .venv/bin/python benchmarks/bench_pack.py --trace calls.jsonl [--save rows.jsonl.gz]
       --model ~/.cache/swe-fleet/models/qwen2.5-coder-1.5b-instruct.gguf [--per-task 2]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import DEBUGGING, DEVELOPER, HiddenTests, _open, print_judged  # noqa: E402

CODE = "\n## code\n"
ASK = "\n\nReply with your change"  # the request after the context pack (author.yaml)
LOCATED = "where the report points)"
VARIANTS = ("full", "focused")


def focused(prompt: str) -> str | None:
    """``prompt`` with its code section cut to the located functions' items, or None when the
    section shows none (or shows nothing else)."""
    head, sep, rest = prompt.partition(CODE)
    if not sep:
        return None
    at = rest.find("\n## ")  # the next section, else the request after the pack
    at = at if at >= 0 else rest.find(ASK)
    section, tail = (rest[:at], rest[at:]) if at >= 0 else (rest, "")
    items: list[list[str]] = []
    for line in section.split("\n"):
        if line.startswith("### ") or not items:
            items.append([])
        items[-1].append(line)
    kept = [it for it in items if it[0].startswith("### ") and it[0].endswith(LOCATED)]
    if not kept or len(kept) == len(items):
        return None
    return head + sep + "\n".join("\n".join(it) for it in kept) + tail


def from_trace(path: Path) -> Iterator[dict[str, Any]]:
    """The developers' first requests (no correction, no debugging round) in a trace."""
    for line in path.read_text().splitlines():
        row = json.loads(line)
        msgs = row["messages"]
        if len(msgs) != 2 or not msgs[0]["content"].startswith(DEVELOPER):
            continue
        if DEBUGGING in msgs[1]["content"] or focused(msgs[1]["content"]) is None:
            continue
        arm, _, task = row.get("label", "").partition(" ")
        yield {"task": task, "arm": arm, "temperature": row["temperature"],
               "seed": row.get("seed") or 0, "max_tokens": row.get("max_tokens", 1024),
               "request": msgs}  # fmt: skip


def picked(rows: list[dict[str, Any]], per_task: int) -> list[dict[str, Any]]:
    """At most ``per_task`` requests of each task, distinct prompts first, in task order."""
    out: list[dict[str, Any]] = []
    seen: dict[str, set[str]] = {}
    for r in rows:
        key = hashlib.sha256(json.dumps(r["request"]).encode()).hexdigest()
        mine = seen.setdefault(r["task"], set())
        if key in mine or len(mine) >= per_task:
            continue
        mine.add(key)
        out.append(r)
    return sorted(out, key=lambda r: r["task"])


def main(argv: list[str] | None = None) -> int:
    import dev_tasks
    from engine_chat import EngineChat

    from fleet.contracts import ChatMessage

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trace", type=Path, action="append", default=[], help="bench_agents trace")
    ap.add_argument("--rows", type=Path, help="a file written by --save (.gz or plain)")
    ap.add_argument("--save", type=Path, help="write the requests read to this file (.gz)")
    ap.add_argument("--model", help="the developers' GGUF file (without it: --save only)")
    ap.add_argument("--per-task", type=int, default=2, help="requests per task (distinct ones)")
    ap.add_argument("--threads", type=int, default=2, help="the engine's threads")
    ap.add_argument("--temperature", type=float, help="ask at this temperature (default: recorded)")
    ap.add_argument("--seed-offset", type=int, default=0, help="add this to the recorded seeds")
    ap.add_argument("--replies-out", type=Path, help="append each request with its replies here")
    args = ap.parse_args(argv)
    rows = [r for t in args.trace for r in from_trace(t)]
    if args.rows:
        with _open(args.rows) as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    known = {t.id: t for t in dev_tasks.load()}
    rows = picked([r for r in rows if r["task"] in known], args.per_task)
    if not rows:
        ap.error("no first requests with a located function read: give --trace or --rows")
    if args.save:
        with gzip.open(args.save, "wt") as fh:
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        print(f"saved {len(rows)} requests to {args.save}")
    if not args.model:
        return 0 if args.save else ap.error("give --model (or --save to only collect)")
    chat = EngineChat(args.model, threads=args.threads)
    hidden = HiddenTests(known)
    judge = hidden.judge

    out: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    print(f"== {len(rows)} requests on {len({r['task'] for r in rows})} tasks", flush=True)
    for i, r in enumerate(rows, 1):
        tid = r["task"]
        system, user = r["request"]
        prompts = {"full": user["content"], "focused": focused(user["content"])}
        temperature = r["temperature"] if args.temperature is None else args.temperature
        line = [f"  [{i}/{len(rows)}] {tid} {r['arm']} T={temperature}:"]
        replies: dict[str, str] = {}
        for variant in VARIANTS:
            start = time.monotonic()
            got = chat.complete(
                [ChatMessage(**system), ChatMessage(role="user", content=prompts[variant])],
                temperature=temperature, seed=r["seed"] + args.seed_offset,
                max_tokens=r["max_tokens"],
            )  # fmt: skip
            applies, passes = judge(tid, got.text)
            replies[variant] = got.text
            out[variant].append({"applies": applies, "passes": passes,
                                 "seconds": time.monotonic() - start,
                                 "prompt_tokens": got.prompt_tokens})  # fmt: skip
            o = out[variant][-1]
            line.append(f"{variant} applies {applies} passes {passes} "
                        f"({o['seconds']:.0f} s, {got.prompt_tokens} prompt tokens);")  # fmt: skip
        if args.replies_out:
            with args.replies_out.open("a") as fh:
                fh.write(json.dumps({**r, "replies": replies,
                                     "judged": {v: out[v][-1] for v in VARIANTS}}) + "\n")  # fmt: skip
        print(" ".join(line), flush=True)
    report(out)
    return 0


def report(out: dict[str, list[dict[str, Any]]]) -> None:
    """The RESULT lines of the replies judged per variant."""
    print_judged("pack", out)  # pack_focused_prompt_share: the focused prompts' tokens over full
    print(f"RESULT pack_requests {len(out['full'])}")


if __name__ == "__main__":
    raise SystemExit(main())
