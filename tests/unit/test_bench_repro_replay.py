"""`bench_repro_replay.py`: which recorded QA replies it replays, and that its two columns are
QA's test with and without the report's helpers. The runs on the base commit are the benchmark's
own (bubblewrap), not done here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_repro_replay  # noqa: E402

BEGIN = "```python\nimport pytest\n\nfrom m import retry\n\n\ndef test_"
REPLY = "1():\n    with pytest.raises(ValueError):\n        retry(3)(always_fails)()\n```\n"
REPORT = (
    "Define `def always_fails(): raise ValueError('down')`; `retry(3)(always_fails)()` is None."
)


def test_only_qas_first_test_replies_are_replayed(tmp_path: Path) -> None:
    qa = {"role": "system", "content": "You are a QA engineer. Name the tests."}
    first = {"role": "user", "content": "A test that reproduces this bug report: ..."}
    rows = [
        {"label": "council t1", "reply": REPLY,
         "messages": [qa, first, {"role": "assistant", "content": BEGIN}]},
        {"label": "vote t1", "reply": "x", "messages": [qa, {"role": "user", "content": "vote"},
                                                         {"role": "assistant", "content": BEGIN}]},
        {"label": "council t1", "reply": "y", "messages": [qa, first]},  # not begun: no module
    ]  # fmt: skip
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert list(bench_repro_replay.from_trace(trace)) == [
        {"task": "t1", "begin": BEGIN, "reply": REPLY}
    ]


def test_the_two_columns_differ_only_by_the_reports_helpers():
    files = {"m.py": "def retry(n):\n    return lambda f: lambda: None\n"}
    row = {"begin": BEGIN, "reply": REPLY}
    helped, plain = bench_repro_replay.modules(files, REPORT, row)
    assert "def always_fails():\n    raise ValueError('down')" in helped
    assert "always_fails" in plain and "def always_fails" not in plain
    assert helped.replace("def always_fails():\n    raise ValueError('down')\n\n\n", "") == plain


def test_each_test_is_run_alone_with_the_modules_helpers():
    module = (
        "import pytest\n\n\ndef helper():\n    return 1\n\n\n"
        "def test_a():\n    assert helper() == 1\n\n\ndef test_b():\n    assert helper() == 2\n"
    )
    a, b = bench_repro_replay.each_test(module)
    assert "def test_a" in a and "def test_b" not in a and "def helper" in a
    assert "def test_b" in b and "def test_a" not in b and "def helper" in b
    assert bench_repro_replay.each_test("import pytest\n") == []
