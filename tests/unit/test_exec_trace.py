"""`exec_trace.py` / `bench_trace.py`: the tracer records the lines one function ran with the
values they set, what it yielded, returned or raised; the section is cut to its head and tail;
the traced request puts it after the code section. The tracer runs here on a module of the test's
own (the benchmark runs it in bubblewrap over a task's tree); the model is the benchmark's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_trace  # noqa: E402
import exec_trace  # noqa: E402

MODULE = """\
def pairs(items, limit=-1):
    out = None
    for i, item in enumerate(items):
        if i == limit:
            break
        yield (i, item)

def boom(x):
    y = x * 2
    return 1 / (y - y)
"""


def _trace(tmp_path: Path, target: str, expr: str) -> dict:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(MODULE)
    src = exec_trace.script(target, "pkg/mod.py", "from pkg.mod import pairs, boom", expr)
    run = subprocess.run([sys.executable, "-c", src], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    got = exec_trace.parse(run.stdout)
    assert got is not None, run.stderr
    return got


def test_a_generator_s_lines_values_and_yields_are_recorded(tmp_path: Path) -> None:
    got = _trace(tmp_path, "pairs", "list(pairs('ab', limit=1))")
    assert got["shown"] == "[(0, 'a')]"
    text = exec_trace.render(got, target="pairs", expr="list(pairs('ab', limit=1))")
    lines = text.splitlines()
    assert lines[1].startswith("`list(pairs('ab', limit=1))` gives `[(0, 'a')]`")
    assert lines[2] == "called with items='ab', limit=1"
    assert "    2      out = None    # out=None" in lines
    assert "       -> yields (0, 'a')" in lines
    # the second turn of the loop reaches the limit: its values, then the break
    assert "    3      for i, item in enumerate(items):    # i=1, item='b'" in lines
    assert lines[-2].endswith("break")


def test_an_exception_is_shown_where_it_was_raised(tmp_path: Path) -> None:
    got = _trace(tmp_path, "boom", "boom(3)")
    assert got["shown"].startswith("ZeroDivisionError")
    text = exec_trace.render(got, target="boom", expr="boom(3)")
    assert "    9      y = x * 2    # y=6" in text
    assert text.endswith("       -> raises ZeroDivisionError: division by zero")  # no "returns"


def test_a_long_trace_keeps_its_head_and_tail() -> None:
    rows = [{"kind": "line", "at": n, "text": f"step {n}"} for n in range(100)]
    text = exec_trace.render({"rows": rows, "shown": "1", "cut": True}, target="f", expr="f()")
    lines = text.splitlines()
    body = lines[2:]
    assert len(body) == exec_trace.HEAD + exec_trace.TAIL + 1
    assert (
        body[exec_trace.HEAD]
        == f"       ... {100 - exec_trace.HEAD - exec_trace.TAIL} more lines run ..."
    )
    assert body[-1].endswith("step 99") and body[0].endswith("step 0")
    assert "(and more, not recorded)" in lines[1]


def test_output_that_is_not_a_trace_is_none() -> None:
    assert exec_trace.parse("") is None
    assert exec_trace.parse("TRACE {not json") is None
    assert exec_trace.parse('TRACE {"rows": 3}') is None
    assert exec_trace.parse('TRACE {"rows": [], "shown": "1"}') == {"rows": [], "shown": "1"}


def test_the_traced_request_has_the_section_after_the_code() -> None:
    prompt = "## story\ns\n\n## code\ndef f(): pass\n\n## repo_map\nm.py\n\nReply with your change."
    got = bench_trace.traced(prompt, "## how the report's example runs now\nT")
    assert got == (
        "## story\ns\n\n## code\ndef f(): pass\n\n\n## how the report's example runs now\nT"
        "\n## repo_map\nm.py\n\nReply with your change."
    )
    assert bench_trace.traced(prompt, "") == prompt


def test_the_line_and_diagnose_requests_replace_the_format_and_the_instruction() -> None:
    from fleet.prompts import render

    plain = f"## code\nx\n\n{render('author.edit_format')}\n\nTask: t\n{render('request.write')}"
    line = bench_trace.line_format(plain)
    assert "WRONG:" in line and "<<<<<<< SEARCH" not in line
    assert line.endswith(render("author.line_ask"))
    diagnose = bench_trace.diagnose_format(plain)
    assert diagnose.endswith(bench_trace.DIAGNOSE) and render("author.edit_format") in diagnose
