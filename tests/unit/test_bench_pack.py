"""`bench_pack.py`: the focused variant of a recorded developer request (its code section cut to
the functions localisation points at) and which recorded requests it replays. The model call and
the hidden-test judge are the benchmark's own (run by it, not here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_pack  # noqa: E402

DEV = {"role": "system", "content": "You are a careful Python developer. Make the change."}
LOCATED = "### pkg/m.py (lines 3-4: `f`, where the report points)\ndef f(x):\n    return x - 1"
PROMPT = (
    "## story\nf is off by one\n\n## code\n"
    f"{LOCATED}\n### pkg/__init__.py\nfrom .m import *\n### pkg/n.py (lines 1-2)\ndef g():\n"
    "    ### not a header: code\n    return 2\n"
    "## repo_map\npkg/m.py:\n    def f(x)\n\nReply with your change as edit blocks."
)


def test_the_focused_request_keeps_only_the_located_functions_of_the_code_section() -> None:
    got = bench_pack.focused(PROMPT)
    assert got == (
        f"## story\nf is off by one\n\n## code\n{LOCATED}\n## repo_map\npkg/m.py:\n    def f(x)"
        "\n\nReply with your change as edit blocks."
    )
    # no located function, or nothing but located functions: no focused variant
    assert bench_pack.focused(PROMPT.replace(", where the report points", "")) is None
    assert bench_pack.focused(f"## code\n{LOCATED}\n## repo_map\nx") is None
    assert bench_pack.focused("## story\nno code section") is None
    # the code section last: the request after the pack stays
    last = PROMPT.replace("\n## repo_map\npkg/m.py:\n    def f(x)", "")
    assert bench_pack.focused(last) == (
        f"## story\nf is off by one\n\n## code\n{LOCATED}\n\nReply with your change as edit blocks."
    )


def _call(prompt: str, *, label: str = "council t1", seed: int = 5) -> dict:
    return {"label": label, "temperature": 0.2, "seed": seed, "max_tokens": 900, "reply": "r",
            "messages": [DEV, {"role": "user", "content": prompt}]}  # fmt: skip


def test_first_requests_with_a_located_function_are_read_at_most_per_task(tmp_path: Path) -> None:
    calls = [
        _call(PROMPT),
        _call(PROMPT, seed=6),  # the same request again (another seed): not a new one
        _call(PROMPT + " You are developer-2."),
        _call(PROMPT + " You are developer-3."),  # past --per-task 2
        _call(PROMPT, label="vote t2"),
        _call(PROMPT.replace(", where the report points", ""), label="vote t3"),  # none located
        _call(bench_pack.DEBUGGING + PROMPT, label="vote t4"),  # a debugging round's request
        {**_call(PROMPT, label="vote t5"),  # a correction: not a first request
         "messages": [DEV, {"role": "user", "content": PROMPT},
                      {"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]},
    ]  # fmt: skip
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps(c) + "\n" for c in calls))
    rows = list(bench_pack.from_trace(trace))
    assert [(r["arm"], r["task"]) for r in rows] == [("council", "t1")] * 4 + [("vote", "t2")]
    assert rows[0]["seed"] == 5 and rows[0]["max_tokens"] == 900 and rows[0]["temperature"] == 0.2
    got = bench_pack.picked(rows, 2)
    assert [(r["task"], r["seed"]) for r in got] == [("t1", 5), ("t1", 5), ("t2", 5)]
    assert got[0]["request"] != got[1]["request"]
