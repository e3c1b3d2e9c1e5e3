"""How developers' edits apply, on recorded real-model replies: a misquoted SEARCH part's change
carried over to the code it meant (``fleet/patches/merge.py``, the fleet's behaviour) against its
REPLACE part as written (the behaviour before: a misquote's whole functions replace the current
ones), side by side on the same replies.

Reads developer replies recorded by ``bench_agents.py --trace`` (or a replies file written by
``--save``: one JSON line per reply, ``task``, ``temperature``, ``turn``, ``reply``), keeps the
first proposals and their corrections on the development tasks of ``dev_tasks.yaml`` (debugging
replies edit a candidate, not the base, and are left out), applies each on its task's base tree
both ways and judges each tree with the task's hidden tests (the package's own, in bubblewrap).
No model calls: the replies are fixed, so the two columns differ only by how edits apply. A reply
is one draw of the model; the pipeline around it (a correction asked first, the council's choice)
is not replayed.

Prints one line per task and ``RESULT apply_pass_carry``, ``RESULT apply_pass_whole`` (the
fraction of replies whose tree passes the hidden tests), ``RESULT apply_carry_gain`` (their
difference), ``RESULT apply_carry_losses`` (replies passing only as written), and
``RESULT apply_tasks_any_carry`` / ``apply_tasks_any_whole`` (tasks where at least one reply passes:
what a selection could pick from).
Run: .venv/bin/python benchmarks/bench_apply.py --trace calls.jsonl [--save replies.jsonl.gz]
     .venv/bin/python benchmarks/bench_apply.py --replies benchmarks/runs/replies-e22646f.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEVELOPER = "You are a careful Python developer"
DEBUGGING = "Your last patch, run against the tests in the sandbox:"


def from_trace(path: Path) -> Iterator[dict[str, Any]]:
    """The developers' first proposals and corrections in a bench_agents trace."""
    for line in path.read_text().splitlines():
        row = json.loads(line)
        msgs = row["messages"]
        if not msgs or not msgs[0]["content"].startswith(DEVELOPER):
            continue
        if any(DEBUGGING in m["content"] for m in msgs):
            continue
        arm, _, task = row["label"].partition(" ")
        yield {"task": task, "arm": arm, "temperature": row["temperature"],
               "turn": len(msgs) // 2, "reply": row.get("reply") or ""}  # fmt: skip


def _open(path: Path) -> Any:
    return gzip.open(path, "rt") if path.suffix == ".gz" else path.open()


def applied(files: dict[str, str], reply: str, *, carry: bool) -> dict[str, str] | None:
    """``files`` with ``reply``'s edits applied as the fleet does (``carry`` False: with the
    carry-over step off), or None when they do not apply."""
    from fleet.patches import EditError, apply_edits, parse_edits
    from fleet.patches.edits import without_strays
    from fleet.prompts import render

    off = mock.patch("fleet.patches.apply._carried", return_value=None)
    formats = render("author.edit_format") + render("author.function_format")  # their examples
    try:
        edits = without_strays(parse_edits(reply), example=formats)
        if carry:
            return apply_edits(files, edits)
        with off:
            return apply_edits(files, edits)
    except EditError:
        return None


class HiddenTests:
    """Trees of development tasks judged by their hidden tests (each distinct tree once)."""

    def __init__(self, known: dict[str, Any]) -> None:
        self.known = known  # task id -> dev_tasks.DevTask
        self.bench: dict[str, Any] = {}
        self.judged: dict[str, bool] = {}

    def files(self, task_id: str) -> dict[str, str]:
        """The task's base tree."""
        import dev_tasks

        if task_id not in self.bench:
            self.bench[task_id] = dev_tasks.bench_task(self.known[task_id])
        return self.bench[task_id].files

    def passes(self, task_id: str, files: dict[str, str] | None) -> bool:
        """Whether ``files`` (None: edits that did not apply) changes the base and passes."""
        from harness import git_repo

        if files is None or files == self.files(task_id):
            return False
        key = hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()
        if key not in self.judged:
            with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
                got = self.bench[task_id].judge(git_repo(files, Path(tmp) / "r"))
                self.judged[key] = got[0]
        return self.judged[key]

    def judge(self, task_id: str, reply: str) -> tuple[bool, bool]:
        """(``reply``'s edits apply and change the code, the tree passes the hidden tests)."""
        files = applied(self.files(task_id), reply, carry=True)
        changed = files is not None and files != self.files(task_id)
        return changed, changed and self.passes(task_id, files)


def print_judged(prefix: str, out: dict[str, list[dict[str, Any]]]) -> None:
    """``RESULT <prefix>_<variant>_applies/_passes/_seconds`` of replies judged side by side
    (each reply a dict with ``applies``, ``passes`` and ``seconds``), and the prompt-token share
    of each later variant over the first (``<prefix>_<variant>_prompt_share``)."""
    first, *rest = out
    n = len(out[first])
    for v, judged in out.items():
        print(f"RESULT {prefix}_{v}_applies {sum(o['applies'] for o in judged) / n:.3f}")
        print(f"RESULT {prefix}_{v}_passes {sum(o['passes'] for o in judged) / n:.3f}")
        print(f"RESULT {prefix}_{v}_seconds {statistics.median(o['seconds'] for o in judged):.1f}")
    for v in rest:
        share = sum(o["prompt_tokens"] for o in out[v]) / max(
            sum(o["prompt_tokens"] for o in out[first]), 1
        )
        print(f"RESULT {prefix}_{v}_prompt_share {share:.3f}")


def main(argv: list[str] | None = None) -> int:
    import dev_tasks

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trace", type=Path, help="a bench_agents.py --trace file")
    ap.add_argument("--replies", type=Path, help="a replies file (--save), .gz or plain")
    ap.add_argument("--save", type=Path, help="write the replies read to this file (.gz)")
    args = ap.parse_args(argv)
    if not (args.trace or args.replies):
        ap.error("give --trace or --replies")
    rows = list(from_trace(args.trace)) if args.trace else []
    if args.replies:
        with _open(args.replies) as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    known = {t.id: t for t in dev_tasks.load()}
    rows = [r for r in rows if r["task"] in known]
    if args.save:
        with gzip.open(args.save, "wt") as fh:
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    hidden = HiddenTests(known)
    per: dict[str, list[tuple[bool, bool]]] = {}
    for r in rows:
        tid = r["task"]
        files = hidden.files(tid)
        carried = hidden.passes(tid, applied(files, r["reply"], carry=True))
        whole = hidden.passes(tid, applied(files, r["reply"], carry=False))
        per.setdefault(tid, []).append((carried, whole))
    total = [x for v in per.values() for x in v]
    for tid, v in per.items():
        print(f"  {tid}: {len(v)} replies, carried {sum(c for c, _ in v)}, "
              f"as written {sum(w for _, w in v)}", flush=True)  # fmt: skip
    n = max(len(total), 1)
    carry_rate, whole_rate = sum(c for c, _ in total) / n, sum(w for _, w in total) / n
    print(f"== {len(total)} replies on {len(per)} tasks")
    print(f"RESULT apply_pass_carry {carry_rate:.3f}")
    print(f"RESULT apply_pass_whole {whole_rate:.3f}")
    print(f"RESULT apply_carry_gain {carry_rate - whole_rate:.3f}")
    print(f"RESULT apply_carry_losses {sum(w and not c for c, w in total)}")
    # tasks where some reply is right: what selection could pick from, either way
    print(f"RESULT apply_tasks_any_carry {sum(any(c for c, _ in v) for v in per.values())}")
    print(f"RESULT apply_tasks_any_whole {sum(any(w for _, w in v) for v in per.values())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
