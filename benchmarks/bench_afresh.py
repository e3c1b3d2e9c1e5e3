"""A rejected reply corrected in the conversation, or the request asked afresh: side by side on
the corrections recorded in real-model traces (``fleet/agents/author.py``'s ``_afresh``).

Reads developer corrections recorded by ``bench_agents.py --trace`` (or a file written by
``--save``): conversations whose last message tells the model its reply repeated the current code
(``echo``) or that its new code does not parse (``syntax``), and those correcting a reply its
token limit cut off (``cut``: the trace's call that wrote it stopped at its ``max_tokens``). The
``corrected`` column is the reply the model gave to that correction, as recorded (what the fleet
did before ``resample_echoes``, ``resample_syntax_errors`` and ``resample_cut_replies``); the
``afresh`` column asks the same model the first request again, at the recorded correction's
temperature and the next seed (what the fleet does now). Each reply
is applied to its task's base tree as the fleet applies edits (``bench_apply.applied``) and the
tree judged by the task's hidden tests (the package's own, in bubblewrap).

Prints one line per reply and ``RESULT afresh_applies`` / ``corrected_applies`` (the fraction of
replies whose edits apply and change the code), ``RESULT afresh_passes`` / ``corrected_passes``
(the fraction passing the hidden tests), ``RESULT corrected_repeats`` / ``afresh_repeats`` (the
fraction repeating the rejected reply, whitespace aside), and the count ``RESULT afresh_replies``.
Run: .venv/bin/python benchmarks/bench_afresh.py --trace calls.jsonl [--save rows.jsonl.gz]
       --model ~/.cache/swe-fleet/models/qwen2.5-coder-1.5b-instruct.gguf
     .venv/bin/python benchmarks/bench_afresh.py --rows benchmarks/runs/corrections-dev.jsonl.gz --model ...
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import DEBUGGING, DEVELOPER, HiddenTests, _open  # noqa: E402

KINDS = {
    "echo": ("the edits change nothing",),
    "syntax": ("the line is your new code", "the code block does not parse"),
}


def kind_of(correction: str) -> str | None:
    """``echo`` / ``syntax`` for the corrections the fleet now asks afresh, else None."""
    for kind, marks in KINDS.items():
        if any(m in correction for m in marks):
            return kind
    return None


def from_trace(path: Path) -> Iterator[dict[str, Any]]:
    """The developers' corrections of an echo, a syntax error or a cut reply in a trace."""
    calls = [json.loads(line) for line in path.read_text().splitlines()]
    cut = {c.get("reply") for c in calls if c["usage"]["completion_tokens"] >= c["max_tokens"]}
    for row in calls:
        msgs = row["messages"]
        # the first correction of a first request only (not of a debugging round's request)
        if len(msgs) != 4 or not msgs[0]["content"].startswith(DEVELOPER):
            continue
        if any(DEBUGGING in m["content"] for m in msgs) or msgs[2]["role"] != "assistant":
            continue
        kind = "cut" if msgs[2]["content"] in cut else kind_of(msgs[-1]["content"])
        if kind is None:
            continue
        arm, _, task = row["label"].partition(" ")
        yield {"task": task, "arm": arm, "kind": kind, "temperature": row["temperature"],
               "seed": row.get("seed"), "max_tokens": row.get("max_tokens", 1024),
               "request": msgs[:2], "rejected": msgs[2]["content"],
               "corrected": row.get("reply") or ""}  # fmt: skip


def same(a: str, b: str) -> bool:
    return a.split() == b.split()


def main(argv: list[str] | None = None) -> int:
    import dev_tasks
    from engine_chat import EngineChat

    from fleet.contracts import ChatMessage

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trace", type=Path, action="append", default=[], help="bench_agents trace")
    ap.add_argument("--rows", type=Path, help="a file written by --save (.gz or plain)")
    ap.add_argument("--save", type=Path, help="write the corrections read to this file (.gz)")
    ap.add_argument("--model", help="the developers' GGUF file (without it: --save only)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many corrections (0: all)")
    ap.add_argument("--threads", type=int, default=2, help="the engine's threads")
    ap.add_argument("--replies-out", type=Path, help="append each row with its afresh reply here")
    args = ap.parse_args(argv)
    rows = [r for t in args.trace for r in from_trace(t)]
    if args.rows:
        with _open(args.rows) as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    if not rows:
        ap.error("no echo or syntax corrections read: give --trace or --rows")
    known = {t.id: t for t in dev_tasks.load()}
    rows = [r for r in rows if r["task"] in known]
    if args.save:
        with gzip.open(args.save, "wt") as fh:
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
        print(f"saved {len(rows)} corrections to {args.save}")
    if not args.model:
        return 0 if args.save else ap.error("give --model (or --save to only collect)")
    rows = rows[: args.limit] if args.limit else rows
    chat = EngineChat(args.model, threads=args.threads)
    hidden = HiddenTests(known)
    judge = hidden.judge

    out: list[dict[str, Any]] = []
    print(f"== {len(rows)} corrections ({', '.join(sorted({r['kind'] for r in rows}))})",
          flush=True)  # fmt: skip
    for i, r in enumerate(rows, 1):
        tid = r["task"]
        start = time.monotonic()
        fresh = chat.complete(
            [ChatMessage(**m) for m in r["request"]],
            temperature=r["temperature"],
            seed=(r["seed"] or 0) + 1,
            max_tokens=r.get("max_tokens", 1024),
        ).text
        row = {"kind": r["kind"], "corrected": judge(tid, r["corrected"]),
               "afresh": judge(tid, fresh), "corrected_repeats": same(r["corrected"], r["rejected"]),
               "afresh_repeats": same(fresh, r["rejected"])}  # fmt: skip
        out.append(row)
        if args.replies_out:
            with args.replies_out.open("a") as fh:
                fh.write(json.dumps({**r, "afresh_reply": fresh, "judged": row}) + "\n")
        print(f"  [{i}/{len(rows)}] {tid} {r['arm']} {r['kind']} T={r['temperature']}: "
              f"corrected applies/passes {row['corrected']}, repeats {row['corrected_repeats']}; "
              f"afresh {row['afresh']}, repeats {row['afresh_repeats']} "
              f"({time.monotonic() - start:.0f} s)", flush=True)  # fmt: skip
    n = max(len(out), 1)
    for arm in ("afresh", "corrected"):
        print(f"RESULT {arm}_applies {sum(o[arm][0] for o in out) / n:.3f}")
        print(f"RESULT {arm}_passes {sum(o[arm][1] for o in out) / n:.3f}")
        print(f"RESULT {arm}_repeats {sum(o[arm + '_repeats'] for o in out) / n:.3f}")
    print(f"RESULT afresh_replies {len(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
