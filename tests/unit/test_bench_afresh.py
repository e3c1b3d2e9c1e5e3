"""`bench_afresh.py`: which recorded corrections it replays (a first request's first correction of
an echo or of new code that does not parse) and what each row keeps. The model call and the
hidden-test judge are the benchmark's own (run by it, not here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_afresh  # noqa: E402

DEV = {"role": "system", "content": "You are a careful Python developer. Make the change."}
ASK = {"role": "user", "content": "task"}


def _correction(text: str, *, reply: str = "again", label: str = "council t1") -> dict:
    return {"label": label, "temperature": 0.6, "seed": 5, "max_tokens": 900, "reply": reply,
            "usage": {"completion_tokens": 40},
            "messages": [DEV, ASK, {"role": "assistant", "content": "first"},
                         {"role": "user", "content": f"Your edit could not be applied: {text}"}]}  # fmt: skip


def test_only_echo_new_code_syntax_and_cut_reply_corrections_are_replayed(tmp_path: Path) -> None:
    rows = [
        _correction("m.py: the edits change nothing (your reply repeats the current code)"),
        _correction("m.py: after the edit the file does not parse: invalid syntax at line 3: "
                    "'x = a or lambda: b'; the line is your new code: keep your SEARCH part"),  # fmt: skip
        _correction("m.py: the code block does not parse: expected ':' at line 1", label="vote t2"),
        # still corrected by the fleet: not replayed
        _correction("m.py: the SEARCH text is not in the file"),
        _correction("m.py: after the edit the file does not parse: expected an indented block"),
        # a first reply, a debugging round, a second correction: not corrections of a first request
        {"label": "council t1", "temperature": 0.0, "reply": "a", "messages": [DEV, ASK],
         "max_tokens": 900, "usage": {"completion_tokens": 12}},
        {**_correction("the edits change nothing"),
         "messages": [DEV, {"role": "user", "content": bench_afresh.DEBUGGING + " diff"},
                      {"role": "assistant", "content": "x"},
                      {"role": "user", "content": "the edits change nothing"}]},
        {**_correction("the edits change nothing"),
         "messages": [*_correction("x")["messages"], {"role": "assistant", "content": "y"},
                      {"role": "user", "content": "the edits change nothing"}]},
        # a first reply its token limit cut off, and its correction (whatever the reason given)
        {"label": "vote t3", "temperature": 0.0, "reply": "long", "messages": [DEV, ASK],
         "max_tokens": 900, "usage": {"completion_tokens": 900}},
        {**_correction("m.py: the SEARCH text is not in the file", label="vote t3"),
         "messages": [DEV, ASK, {"role": "assistant", "content": "long"},
                      {"role": "user", "content": "m.py: the SEARCH text is not in the file"}]},
    ]  # fmt: skip
    trace = tmp_path / "calls.jsonl"
    trace.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = list(bench_afresh.from_trace(trace))
    assert [(r["arm"], r["task"], r["kind"]) for r in got] == [
        ("council", "t1", "echo"),
        ("council", "t1", "syntax"),
        ("vote", "t2", "syntax"),
        ("vote", "t3", "cut"),
    ]
    first = got[0]
    assert first["request"] == [DEV, ASK] and first["rejected"] == "first"
    assert (first["corrected"], first["seed"], first["max_tokens"]) == ("again", 5, 900)


def test_a_repeat_is_the_rejected_reply_whitespace_aside() -> None:
    assert bench_afresh.same("a\n  b ", "a b")
    assert not bench_afresh.same("a b", "a c")
