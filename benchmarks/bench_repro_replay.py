"""How often a story's first test reproduces, on recorded real-model replies: QA's tests with the
helpers the report defines added (``fleet/evidence/report_defs.py``, the fleet's behaviour) against
without them (the behaviour before), side by side on the same replies; and the report's own
examples as a test by code (``fleet/evidence/report_examples.py``), no model involved.

Reads QA's first-test replies recorded by ``bench_agents.py --trace`` (or a file written by
``--save``: one JSON line per reply, ``task``, ``begin``, ``reply``) on the development tasks of
``dev_tasks.yaml``, turns each into its test module as the fleet does (``begun_module``, the
imports it forgot), runs it alone on its task's base commit in bubblewrap and asks whether it
fails for the reported reason (``fleet.pipeline.repro.wrong_reason``). No model calls: the
replies are fixed, so the two columns differ only by the report's helpers. The pipeline around a
reply (a try after a wrong one, the report's own examples first) is not replayed.

Prints one line per task and ``RESULT repro_rate_defs`` / ``RESULT repro_rate_plain`` (the
fraction of replies whose test reproduces), ``RESULT repro_defs_losses`` (replies reproducing
only without the helpers), ``RESULT repro_tasks_defs`` / ``repro_tasks_plain`` (tasks with a
reproducing reply), and ``RESULT repro_by_code_tasks`` (of all bug and change tasks, those whose
report's own examples reproduce as a test written by code, through the fleet's own first step,
``fleet.pipeline.repro.reproduce`` with QA never asked) and ``RESULT repro_by_code_valid`` (of
those, the ones whose kept tests pass on the fixed tree: right tests), ``RESULT qa_tests_written`` /
``qa_tests_repeated`` (test functions in the replies, and those that repeat an earlier one of
their module, which the fleet leaves out: ``fleet/evidence/distinct.py``), ``RESULT
repro_rate_stops`` (the replies reproducing, with the helpers, when cut where the fleet's stop
strings end them, ``patching.BEGUN_STOPS``) and ``RESULT qa_chars_kept_stops`` (the fraction of
QA's generated characters a server asked with those stop strings returns). Each distinct test of a
reply is also run alone on the base and on the fixed tree (the package's own code, which the hidden
tests pass): ``RESULT repro_valid_first`` (replies whose first test reproduces and passes on the
fixed tree: evidence that is right), ``RESULT qa_extra_tests`` (the distinct tests after the first,
which the stop strings now cut off) and ``RESULT qa_extra_valid`` (those that reproduce and pass
on the fixed tree).
Run: .venv/bin/python benchmarks/bench_repro_replay.py --trace calls.jsonl [--save qa.jsonl.gz]
     .venv/bin/python benchmarks/bench_repro_replay.py --replies benchmarks/runs/replies-qa.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

QA = "You are a QA engineer"
FIRST_TEST = ("A test that reproduces this bug report", "A test of the change this story asks for")


def from_trace(path: Path) -> Iterator[dict[str, Any]]:
    """QA's first-test replies in a bench_agents trace (the module begun for QA, its reply)."""
    for line in path.read_text().splitlines():
        row = json.loads(line)
        msgs = row["messages"]
        if len(msgs) < 3 or not msgs[0]["content"].startswith(QA):
            continue
        if msgs[-1]["role"] != "assistant" or not any(t in msgs[-2]["content"] for t in FIRST_TEST):
            continue
        task = row["label"].partition(" ")[2]
        yield {"task": task, "begin": msgs[-1]["content"], "reply": row.get("reply") or ""}


def _open(path: Path) -> Any:
    return gzip.open(path, "rt") if path.suffix == ".gz" else path.open()


def modules(files: dict[str, str], report: str, row: dict[str, Any]) -> tuple[str, str]:
    """The reply's test module with the report's helpers, and without them (imports added)."""
    from fleet.council.patching import begun_module
    from fleet.evidence.distinct import distinct_tests
    from fleet.evidence.report_defs import definitions, with_definitions
    from fleet.evidence.report_examples import import_table, repository_names
    from fleet.patches.imports import add_missing_imports

    table = {"pytest": "import pytest", **import_table(files)}
    module = begun_module(row["begin"], row["reply"])
    helped = with_definitions(
        distinct_tests(module)[0], definitions(report, repository_names(files))
    )[0]
    return (add_missing_imports(helped, extra=table)[0],
            add_missing_imports(module, extra=table)[0])  # fmt: skip


def stopped_row(row: dict[str, Any]) -> dict[str, Any]:
    """The reply as the model server returns it when asked with QA's stop strings
    (``patching.BEGUN_STOPS``): ended where a second test or the block's close begins."""
    from fleet.contracts import ChatMessage
    from fleet.council.patching import BEGUN_STOPS
    from fleet.testing.fakes import stopped

    begun = [ChatMessage(role="assistant", content=row["begin"])]
    return {**row, "reply": stopped(row["reply"], BEGUN_STOPS, begun)}


class Base:
    """One task's base commit, and its first tests run on it alone (bubblewrap)."""

    def __init__(self, files: dict[str, str], where: Path, report: str, kind: str) -> None:
        from harness import git_repo

        from fleet.adapters.bwrap_sandbox import BwrapSandbox
        from fleet.adapters.evidence import SandboxEvidence

        self.files, self.report, self.kind = files, report, kind
        self.repo = git_repo(files, where / "repo")
        self.evidence = SandboxEvidence(BwrapSandbox(), root=where / "ev")
        self.seen: dict[str, bool] = {}

    def outcomes(self, path: str, source: str) -> list[Any]:
        """The results of ``source``'s tests, run alone here (bubblewrap)."""
        from fleet.contracts import RunContext
        from fleet.evidence import EvidenceSuite

        suite = EvidenceSuite(files={path: source}, test_paths=(path,), protected=(path,))
        ctx = RunContext(story_id="bench", task_id="repro", role="qa", phase="test")
        got = self.evidence.baseline(suite, source=str(self.repo), base="main", context=ctx)
        return [o for o in got if o.test_id.startswith(f"{path}::")]

    def reproduces(self, path: str, source: str) -> bool:
        from fleet.pipeline.repro import wrong_reason

        if not source.strip():
            return False
        if source not in self.seen:
            mine = self.outcomes(path, source)
            self.seen[source] = any(not wrong_reason(o, self.report, self.kind) for o in mine)
        return self.seen[source]

    def passes(self, path: str, source: str) -> bool:
        """Whether every test of ``source`` passes here (on the fixed tree: the test is right)."""
        mine = self.outcomes(path, source)
        return bool(mine) and all(o.passed for o in mine)


def each_test(module: str) -> list[str]:
    """``module`` once per test function in it, with only that test (its helpers kept)."""
    from fleet.evidence.acceptance import names_of_tests, prune

    names = names_of_tests(module) or []
    return [prune(module, {x for x in names if x != name}) for name in names]


def main(argv: list[str] | None = None) -> int:
    import dev_tasks

    from fleet.council.patching import begun_module
    from fleet.evidence.acceptance import names_of_tests
    from fleet.evidence.distinct import distinct_tests
    from fleet.pipeline.repro import reproduce

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trace", type=Path, action="append", default=[], help="bench_agents trace")
    ap.add_argument("--replies", type=Path, help="a replies file (--save), .gz or plain")
    ap.add_argument("--save", type=Path, help="write the replies read to this file (.gz)")
    args = ap.parse_args(argv)
    rows = [r for t in args.trace for r in from_trace(t)]
    if args.replies:
        with _open(args.replies) as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    known = {t.id: t for t in dev_tasks.load() if t.kind in ("bug", "change")}
    rows = [r for r in rows if r["task"] in known]
    if not (args.trace or args.replies):
        print("== no replies given (--trace/--replies): the report's own examples only")
    if args.save:
        with gzip.open(args.save, "wt") as fh:
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    with tempfile.TemporaryDirectory(prefix="bench-repro-") as tmp:
        bases: dict[str, Base] = {}
        fixed: dict[str, Base] = {}
        for n, (tid, task) in enumerate(known.items()):
            bench = dev_tasks.bench_task(task)
            report = f"{task.title}\n{task.story}"
            bases[tid] = Base(bench.files, Path(tmp) / str(n), report, task.kind)
            if any(r["task"] == tid for r in rows):
                fixed[tid] = Base(dev_tasks.fixed_files(bench), Path(tmp) / f"{n}-fixed", report,
                                  task.kind)  # fmt: skip
        by_code = by_code_valid = 0
        for n, (tid, base) in enumerate(bases.items()):
            # the fleet's own first step (QA never asked): the report's examples as a test, its
            # tests that fail on the base for the reported reason kept
            got = reproduce(lambda *_: {}, base.outcomes, files=base.files, report=base.report,
                            attempts=0, kind=base.kind)  # fmt: skip
            ok = got.reproduced and got.origin == "report"
            right = False
            if ok:  # and the package's own code (the fix) passes what was kept: the test is right
                task = known[tid]
                on = fixed.get(tid) or Base(dev_tasks.fixed_files(dev_tasks.bench_task(task)),
                                            Path(tmp) / f"{n}-fixed", base.report, task.kind)  # fmt: skip
                fixed[tid] = on
                right = on.passes(got.path, got.source)
            by_code += ok
            by_code_valid += right
            said = "reproduce" + (", pass on the fix" if right else ", FAIL on the fix")
            print(f"  {tid}: report's examples {said if ok else 'no'}", flush=True)
        per: dict[str, list[tuple[bool, bool]]] = {}
        written = repeated = stops = valid_first = extra = valid_extra = 0
        chars = [0, 0]  # characters QA generated, and those a server asked with stops returns
        for r in rows:
            base = bases[r["task"]]
            module = begun_module(r["begin"], r["reply"])
            written += len(names_of_tests(module) or [])
            repeated += len(distinct_tests(module)[1])
            helped, plain = modules(base.files, base.report, r)
            path = "tests/test_first_qa_1.py"
            pair = (base.reproduces(path, helped), base.reproduces(path, plain))
            per.setdefault(r["task"], []).append(pair)
            for i, one in enumerate(each_test(helped)):
                right = base.reproduces(path, one) and fixed[r["task"]].passes(path, one)
                valid_first += i == 0 and right
                extra += i > 0
                valid_extra += i > 0 and right
            cut = stopped_row(r)
            stops += base.reproduces(path, modules(base.files, base.report, cut)[0])
            lead = len(r["begin"]) if r["reply"].startswith(r["begin"]) else 0
            chars[0] += len(r["reply"]) - lead
            chars[1] += len(cut["reply"]) - lead
    for tid, v in per.items():
        print(f"  {tid}: {len(v)} replies, with the report's helpers {sum(d for d, _ in v)}, "
              f"without {sum(p for _, p in v)}", flush=True)  # fmt: skip
    total = [x for v in per.values() for x in v]
    n = max(len(total), 1)
    print(f"== {len(total)} QA replies on {len(per)} tasks; {len(known)} bug and change tasks")
    print(f"RESULT repro_rate_defs {sum(d for d, _ in total) / n:.3f}")
    print(f"RESULT repro_rate_plain {sum(p for _, p in total) / n:.3f}")
    print(f"RESULT repro_defs_losses {sum(p and not d for d, p in total)}")
    print(f"RESULT repro_tasks_defs {sum(any(d for d, _ in v) for v in per.values())}")
    print(f"RESULT repro_tasks_plain {sum(any(p for _, p in v) for v in per.values())}")
    print(f"RESULT repro_by_code_tasks {by_code}")
    print(f"RESULT repro_by_code_valid {by_code_valid}")
    print(f"RESULT qa_tests_written {written}")
    print(f"RESULT qa_tests_repeated {repeated}")
    print(f"RESULT repro_rate_stops {stops / n:.3f}")
    print(f"RESULT qa_chars_kept_stops {chars[1] / max(chars[0], 1):.3f}")
    print(f"RESULT repro_valid_first {valid_first / n:.3f}")
    print(f"RESULT qa_extra_tests {extra}")
    print(f"RESULT qa_extra_valid {valid_extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
