"""Localisation alone, no model: is the function ``fleet.context.localise.locate`` ranks first the one
the bug or change task's fault or feature is in?

For every bug and change task of ``dev_tasks.yaml`` (the development set; no reserved package),
on the fleet's base tree (the judging test module hidden, as the fleet sees it):

- ``report``: the story's title and text only;
- ``report+test``: plus the story's own failing example as a reproduction test's source would
  call it (its ``setup`` and ``expr``), the identifiers QA's test adds.

Prints one line per task and ``RESULT localise_top1_<column>`` / ``localise_top3_<column>``.
Run: .venv/bin/python benchmarks/bench_localise.py [--kind bug,change]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet.context.localise import locate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import dev_tasks

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--kind", default="bug,change")
    args = ap.parse_args(argv)
    kinds = {k.strip() for k in args.kind.split(",")}
    columns = ("report", "report+test")
    top1 = dict.fromkeys(columns, 0)
    top3 = dict.fromkeys(columns, 0)
    n = 0
    for task in dev_tasks.load():
        if task.kind not in kinds:
            continue
        bench = dev_tasks.bench_task(task)
        want = f"{bench.extra['module']}::{task.target}"
        report = f"{task.title}\n{task.story}"
        test = "\n".join([task.example.get("setup", ""), task.example.get("expr", "")])
        n += 1
        shown = []
        for column, extra in zip(columns, ("", test), strict=True):
            ranked = [r.ref for r in locate(bench.files, report, test=extra, top=3)]
            top1[column] += bool(ranked) and ranked[0] == want
            top3[column] += want in ranked
            shown.append(f"{column}: {ranked[0] if ranked else '-'}")
        print(f"  {task.id} ({task.kind}) want {want}; " + "; ".join(shown), flush=True)
    for column in columns:
        print(f"RESULT localise_top1_{column} {top1[column] / max(n, 1):.3f}")
        print(f"RESULT localise_top3_{column} {top3[column] / max(n, 1):.3f}")
    print(f"== {n} tasks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
