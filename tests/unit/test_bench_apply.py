"""`bench_apply.py`: which recorded replies it replays, and that its two columns are the two ways a
misquote applies (carried over vs as written). The hidden-test judge is the tasks' own (run by
the benchmark itself, not here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_apply  # noqa: E402

CURRENT = "def f(x):\n    return x + 1\n"
QUOTE = "def f(x):\n    return x - 1\n"  # misremembered
REPLY = f"m.py\n<<<<<<< SEARCH\n{QUOTE}=======\ndef f(x):\n    x = abs(x)\n    return x - 1\n>>>>>>> REPLACE\n"


def test_the_two_columns_are_the_carried_change_and_the_reply_as_written():
    files = {"m.py": CURRENT}
    assert bench_apply.applied(files, REPLY, carry=True) == {
        "m.py": "def f(x):\n    x = abs(x)\n    return x + 1\n"
    }
    assert bench_apply.applied(files, REPLY, carry=False) == {
        "m.py": "def f(x):\n    x = abs(x)\n    return x - 1\n"
    }
    assert bench_apply.applied(files, "no edits here", carry=True) is None


def test_only_developers_first_proposals_and_corrections_are_replayed(tmp_path: Path) -> None:
    dev = {"role": "system", "content": "You are a careful Python developer. Make the change."}
    rows = [
        {"label": "council t1", "temperature": 0.0, "reply": "a",
         "messages": [dev, {"role": "user", "content": "task"}]},
        {"label": "single t1", "temperature": 0.6, "reply": "b",
         "messages": [dev, {"role": "user", "content": "task"}, {"role": "assistant", "content": "a"},
                      {"role": "user", "content": "Your edit could not be applied"}]},
        {"label": "council t1", "temperature": 0.7, "reply": "c",
         "messages": [dev, {"role": "user", "content": bench_apply.DEBUGGING + " diff"}]},
        {"label": "council t1", "temperature": 0.2, "reply": "d",
         "messages": [{"role": "system", "content": "You are a QA engineer."}]},
    ]  # fmt: skip
    trace = tmp_path / "calls.jsonl"
    trace.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = list(bench_apply.from_trace(trace))
    assert [(r["arm"], r["task"], r["turn"], r["reply"]) for r in got] == [
        ("council", "t1", 1, "a"),
        ("single", "t1", 2, "b"),
    ]
