"""QA's reproduction test and localisation on real bug tasks, with a real model: the pipeline's
suite step alone (fleet/pipeline/suite.py), no council, no developer.

For each bug task of ``dev_tasks.yaml`` (development set only; ``--kind change``: the change
tasks, whose first test is a test of the change, failing on the base because it is missing) it
builds the task's repository, asks one QA council member (``roles.yaml`` qa, the model under test,
greedy) for a reproduction test, runs it on the base commit in bubblewrap (the evidence runner)
and prints whether it reproduced the bug, in how many attempts, why not, and the located function
against the target.

Prints ``RESULT repro_rate``, ``RESULT repro_located_top1`` (localisation's first function is the
task's target, with the reproduction test's evidence) and the model tokens.
Run: .venv/bin/python benchmarks/bench_repro.py [--kind bug|change] [--ids funcy-cut-suffix-empty,...] [--limit 2] [--trace calls.jsonl]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def one(task: Any, chat: Any, root: Path, kind: str = "bug") -> dict[str, Any]:
    """The suite step on ``task`` (a dev_tasks bench task): the council.suite event's data."""
    from council_arms import MemberQa
    from harness import git_repo

    from fleet.adapters.bwrap_sandbox import BwrapSandbox
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.adapters.git_repo import GitRepo
    from fleet.agents import write_patch
    from fleet.config import load
    from fleet.contracts import Task
    from fleet.council import Member
    from fleet.council.patching import PatchTools
    from fleet.pipeline.ports import Checkout
    from fleet.pipeline.suite import SuitePorts, task_suite
    from fleet.testing.fakes import FakeClock, InMemoryEventLog

    repo = git_repo(task.files, root / "repo")
    git = GitRepo(repo)
    story = task.story.model_copy(update={"work_kind": kind})
    member = Member("qa-1", "qa", load("roles.yaml").get("qa"), chat, temperature=0.0, seed=1,
                    tools=PatchTools(write_patch=write_patch, repo=GitRepo))  # fmt: skip
    log = InMemoryEventLog()
    ports = SuitePorts(log=log, qa=MemberQa([member]), clock=FakeClock(), qa_examples=False,
                       baseline=SandboxEvidence(BwrapSandbox(), root=root / "ev"))  # fmt: skip
    tk = Task(id="T1", story_id=story.id, role="developer", description=story.title)
    task_suite(ports, story, tk, deliberation_id="d1", at=Checkout(git, "main", git.commit("main")))
    return next(e.data for _, e in log.read(story.id) if e.type == "council.suite")


def main(argv: list[str] | None = None) -> int:
    import dev_tasks
    from bench_agents import DEFAULT_MODEL, EngineChat

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--kind", choices=("bug", "change"), default="bug")
    ap.add_argument("--ids", default="", help="task ids, joined by commas (default: --kind's)")
    ap.add_argument("--limit", type=int, default=2)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--trace", type=Path, default=None, help="append every model call to this JSONL"
    )
    args = ap.parse_args(argv)
    wanted = [i for i in args.ids.split(",") if i]
    tasks = [t for t in dev_tasks.load() if t.kind == args.kind and (not wanted or t.id in wanted)]
    chat = EngineChat(args.model, threads=args.threads)
    chat.trace = args.trace
    reproduced = located = n = 0
    for task in tasks[: args.limit]:
        bench = dev_tasks.bench_task(task)
        chat.label = task.id
        t0, before = time.monotonic(), chat.tokens
        with tempfile.TemporaryDirectory(prefix="bench-repro-") as tmp:
            data = one(bench, chat, Path(tmp), args.kind)
        repro: dict[str, Any] = data["repro"] or {}
        top = (data["located"] or [{}])[0]
        want = f"{bench.extra['module']}::{task.target}"
        got = f"{top.get('path')}::{top.get('function')}"
        n += 1
        reproduced += bool(repro.get("reproduced"))
        located += got == want
        print(f"  {task.id}: reproduced={repro.get('reproduced')} attempts={repro.get('attempts')} "
              f"reason={str(repro.get('reason'))[:160]!r} tests={repro.get('tests')} located={got} "
              f"(want {want}) {time.monotonic() - t0:.0f}s {chat.tokens - before} tokens",
              flush=True)  # fmt: skip
        if repro.get("source"):
            print("    " + str(repro["source"]).replace("\n", "\n    ")[:600], flush=True)
    print(f"RESULT repro_rate {reproduced / max(n, 1):.3f}")
    print(f"RESULT repro_located_top1 {located / max(n, 1):.3f}")
    print(f"RESULT repro_tokens {chat.tokens}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
