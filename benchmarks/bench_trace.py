"""The developer's first request, asked in variants side by side on the development bug/change
tasks: with an execution trace of the report's example (``exec_trace.py``: does seeing the lines
the failing example ran, and the values they set, help a small model find and fix the fault?),
and in the whole-function edit format (``function``: does a small model fix more when it writes
each changed function out whole than when it writes SEARCH/REPLACE blocks?).

For each task (``dev_tasks.yaml``; ``--kind``, default ``bug``) the developer's first request
is built by the benchmark's build path (``harness.fleet_build``, the ``single`` arm's: the story,
the task, the located code first, the repository map where it fits), captured before any model
answers. The
story's example runs on the base tree in bubblewrap under the tracer, recording the lines run in
the task's target function (the function localisation should find; in the fleet the located
function would take its place). Each request is asked as built (``plain``) and with the trace
section after the code section (``traced``), once per ``--temperatures`` value, same seed; each
reply is applied to the base tree as the fleet applies edits and judged by the task's hidden
tests (``bench_apply.HiddenTests``). Only the first reply: no correction, no debugging round.
``function`` is the plain request with its edit format (``author.edit_format``) replaced by
``author.function_format`` (what a council's developers 2 and 3 are asked for: ``council_formats`` in
``config/models.yaml``); whole top-level functions in a fenced block after the file path replace
the functions of those names. ``docstring`` is ``function`` as it was asked before the format
told developers to leave each function's docstring out (``fleet/patches/docstrings.py`` keeps the
replaced function's): does leaving it out cost fixes, and how many generated tokens does it save?
``diagnose`` is the plain request whose instruction first asks for one sentence naming the line
that makes the code behave as reported, then the edits; ``line`` (bug stories) asks for that line
only, copied (``WRONG:``), and its correction (``FIXED:``, more lines under it when needed),
turned into an edit block at the line's place (``fleet/patches/lines.py``: the fleet asks it after
an echo, ``repairs.line_after_echo``). Both ask whether a small model
that repeats the function unchanged (an echo: the commonest loss on the bug tasks) fixes more
when it is asked to name the faulty line first.
Each task asks its variants in turn, every other task the other way round (the one asked second
finds the first one's prompt prefix in the engine's cache).

Prints a line per reply and ``RESULT trace_<variant>_passes`` (fraction of replies passing the
hidden tests), ``RESULT trace_<variant>_applies``, ``RESULT trace_<variant>_tasks`` (tasks where
some reply passes), ``RESULT trace_<variant>_seconds`` (median per reply), ``RESULT
trace_<variant>_prompt_share`` (the variant's prompt tokens over the first variant's), ``RESULT
trace_<variant>_completion_tokens`` (generated in all), ``RESULT trace_<variant>_cut`` (replies cut
at their token limit), ``RESULT trace_missing``
(tasks whose example printed no trace: their traced request is the plain one), ``RESULT
trace_requests``.
Run: .venv/bin/python benchmarks/bench_trace.py
       --model ~/.cache/swe-fleet/models/qwen2.5-coder-1.5b-instruct.gguf [--kind bug,change]
       [--ids task,...] [--temperatures 0.0,0.7]
       [--variants plain,traced,function,docstring,diagnose,line]
       [--replies-out F.jsonl]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import DEVELOPER, HiddenTests, print_judged  # noqa: E402

from fleet.patches.lines import line_blocks  # noqa: E402

VARIANTS = ("plain", "traced", "function", "docstring", "diagnose", "line")
REPO_MAP = "\n## repo_map\n"
ASK = "\n\nReply with your change"


class _Captured(Exception):
    """Raised by :class:`Capture` once it holds the developer's first request."""


class Capture:
    """A ``ChatModel`` that records the first developer request and stops the build there."""

    name = "capture"

    def __init__(self) -> None:
        self.request: list[dict[str, str]] | None = None
        self.max_tokens = 1024

    def complete(self, messages: Any, **kw: Any) -> Any:
        msgs = [{"role": m.role, "content": m.content} for m in messages]
        if msgs and msgs[0]["content"].startswith(DEVELOPER):
            self.request, self.max_tokens = msgs, kw.get("max_tokens", 1024)
            raise _Captured
        raise RuntimeError(f"a call before the developer's: {msgs[0]['content'][:80]!r}")


def first_request(bench: Any) -> tuple[list[dict[str, str]], int]:
    """The developer's first request on ``bench`` as the build path makes it."""
    from harness import fleet_build

    chat = Capture()
    with tempfile.TemporaryDirectory(prefix="bench-trace-") as tmp, contextlib.suppress(_Captured):
        fleet_build(bench, chat, Path(tmp), attempts=1)
    if chat.request is None:
        raise RuntimeError(f"{bench.id}: the build path asked no developer")
    return chat.request, chat.max_tokens


def trace_section(task: Any, bench: Any) -> str:
    """The rendered trace of the story's example on the base tree (run in bubblewrap)."""
    import exec_trace
    from harness import sandbox_python

    ex = task.example
    src = exec_trace.script(task.target, bench.extra["module"], ex["setup"], ex["expr"])
    run = sandbox_python(bench.files, ["-c", src], timeout_s=60)
    got = exec_trace.parse(run.stdout)
    if got is None:  # said aloud: a traced request without its section is the plain one
        print(f"  {task.id}: no trace ({run.status}, exit {run.exit_code}): {run.stderr[-300:]}")
        return ""
    return exec_trace.render(got, target=task.target, expr=ex["expr"])


def traced(prompt: str, section: str) -> str:
    """``prompt`` with ``section`` after its code section: before the repository map, or before
    the edit format where the pack left the map out."""
    at = prompt.find(REPO_MAP)
    at = at if at >= 0 else prompt.find(ASK)
    if at < 0 or not section:
        return prompt
    return prompt[:at] + "\n\n" + section + prompt[at:]


def function_format(prompt: str) -> str:
    """``prompt`` asking for whole functions instead of SEARCH/REPLACE blocks."""
    from fleet.prompts import render

    form = render("author.edit_format")
    if form not in prompt:
        raise RuntimeError("the request does not hold the edit format it was built with")
    return prompt.replace(form, render("author.function_format"))


# the whole-function format before developers were told to leave docstrings out (``docstring``)
WITHOUT = "without its docstring (the docstring stays as it is): its decorators, its def line and"
WITH = "its decorators, its def line, its docstring and"


def docstring_format(prompt: str) -> str:
    """``prompt`` asking for whole functions, each with its docstring written out too."""
    asked = function_format(prompt)
    if WITHOUT not in asked:
        raise RuntimeError("author.function_format no longer asks to leave docstrings out")
    return asked.replace(WITHOUT, WITH)


# ``diagnose``: the plain request whose instruction first asks for the faulty line, then the edits
DIAGNOSE = (
    "First write one sentence: which line of the code above makes it behave as the report says, "
    "and why. Then write the edits that fix it: every function you change with its complete new "
    "body (not the current code repeated)."
)


def _instruction(prompt: str, text: str) -> str:
    from fleet.prompts import render

    write = render("request.write")
    if write not in prompt:
        raise RuntimeError("the request does not hold the instruction it was built with")
    return prompt.replace(write, text)


def diagnose_format(prompt: str) -> str:
    """``prompt`` asking for a one-sentence diagnosis (the faulty line) before the edits."""
    return _instruction(prompt, DIAGNOSE)


def line_format(prompt: str) -> str:
    """``prompt`` asked as the fleet's line request (``author.line_format`` in place of the edit
    format, ``author.line_ask`` in place of the instruction)."""
    from fleet.prompts import render

    form = render("author.edit_format")
    if form not in prompt:
        raise RuntimeError("the request does not hold the edit format it was built with")
    return _instruction(
        prompt.replace(form, render("author.line_format")), render("author.line_ask")
    )


def main(argv: list[str] | None = None) -> int:
    import dev_tasks
    from engine_chat import EngineChat

    from fleet.contracts import ChatMessage

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the developers' GGUF file")
    ap.add_argument("--kind", default="bug", help="task kinds: bug, change or both")
    ap.add_argument("--ids", default="", help="only these task ids (comma-separated)")
    ap.add_argument("--temperatures", default="0.0,0.7", help="one reply per variant at each")
    ap.add_argument("--variants", default="plain,traced", help=f"of {', '.join(VARIANTS)}")
    ap.add_argument("--threads", type=int, default=2, help="the engine's threads")
    ap.add_argument("--replies-out", type=Path, help="append each request's replies here")
    ap.add_argument("--show", action="store_true", help="print each trace section")
    args = ap.parse_args(argv)
    kinds = set(args.kind.split(","))
    ids = set(filter(None, args.ids.split(",")))
    tasks = [t for t in dev_tasks.load() if t.kind in kinds and (not ids or t.id in ids)]
    if not tasks:
        ap.error("no task of those kinds and ids")
    temps = [float(x) for x in args.temperatures.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    if not variants or not set(variants) <= set(VARIANTS):
        ap.error(f"--variants: any of {', '.join(VARIANTS)}")
    known = {t.id: t for t in tasks}
    hidden = HiddenTests(known)
    chat = EngineChat(args.model, threads=args.threads)
    out: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    solved: dict[str, set[str]] = {v: set() for v in variants}
    missing = 0  # tasks whose example printed no trace (their traced request is the plain one)
    print(f"== {len(tasks)} tasks x {len(temps)} temperatures x {variants}", flush=True)
    for i, task in enumerate(tasks, 1):
        bench = dev_tasks.bench_task(task)
        hidden.bench[task.id] = bench
        (system, user), max_tokens = first_request(bench)
        section = trace_section(task, bench) if "traced" in variants else ""
        missing += "traced" in variants and not section
        if args.show:
            print(section)
        plain = user["content"]
        prompts = {
            "plain": plain,
            "traced": traced(plain, section),
            "function": function_format(plain),
            "docstring": docstring_format(plain),
            "diagnose": diagnose_format(plain),
            "line": line_format(plain),
        }
        # every other task the other way round: the variant asked second finds the first one's
        # prefix in the engine's cache, so neither is always the one that does
        order = variants if i % 2 else variants[::-1]
        for temperature in temps:
            line = [f"  [{i}/{len(tasks)}] {task.id} ({task.kind}) T={temperature}:"]
            replies = {}
            for variant in order:
                start = time.monotonic()
                got = chat.complete(
                    [ChatMessage(**system), ChatMessage(role="user", content=prompts[variant])],
                    temperature=temperature, seed=0, max_tokens=max_tokens,
                )  # fmt: skip
                text = line_blocks(got.text, bench.files) if variant == "line" else got.text
                applies, passes = hidden.judge(task.id, text)
                replies[variant] = got.text
                if passes:
                    solved[variant].add(task.id)
                out[variant].append({"applies": applies, "passes": passes,
                                     "seconds": time.monotonic() - start,
                                     "prompt_tokens": got.prompt_tokens,
                                     "completion_tokens": got.completion_tokens,
                                     "cut": got.truncated})  # fmt: skip
                line.append(f"{variant} applies {applies} passes {passes} "
                            f"({out[variant][-1]['seconds']:.0f} s, {got.prompt_tokens} "
                            f"prompt tokens, {got.completion_tokens} generated"
                            f"{', cut' if got.truncated else ''});")  # fmt: skip
            if args.replies_out:
                with args.replies_out.open("a") as fh:
                    fh.write(json.dumps({"task": task.id, "temperature": temperature,
                                         "section": section, "replies": replies}) + "\n")  # fmt: skip
            print(" ".join(line), flush=True)
    report(out, solved, missing)
    return 0


def report(out: dict[str, list[dict[str, Any]]], solved: dict[str, set[str]], missing: int) -> None:
    """The RESULT lines of the replies judged per variant."""
    print_judged("trace", out)  # trace_<variant>_prompt_share: its prompt tokens over plain
    for v in out:
        print(f"RESULT trace_{v}_tasks {len(solved[v])}")
        generated = sum(o["completion_tokens"] for o in out[v])
        print(f"RESULT trace_{v}_completion_tokens {generated}")
        print(f"RESULT trace_{v}_cut {sum(o['cut'] for o in out[v])}")
    print(f"RESULT trace_missing {missing}")
    print(f"RESULT trace_requests {len(next(iter(out.values())))}")


if __name__ == "__main__":
    raise SystemExit(main())
