"""The benchmarks' sandboxed runs (``harness.sandbox_python``: the hidden-test judge, the story's
example, the execution trace) from a worktree whose ``.venv`` links to the checkout's, as
benchmark runs beside a test session are started: the run still finds its interpreter. Before,
it named ``sys.executable`` (the link, under the sandbox's masked /tmp): every run exited 127 and
every task read as failed by its hidden tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"

RUN = """
import sys
sys.path.insert(0, sys.argv[1])
from harness import sandbox_python
got = sandbox_python({"m.py": "print(6 * 7)"}, ["m.py"], timeout_s=60)
print(got.exit_code, got.stdout.strip())
"""


def test_a_sandboxed_benchmark_run_from_a_linked_venv_finds_its_interpreter(
    linked_python: Path,
) -> None:
    run = subprocess.run(
        [str(linked_python), "-c", RUN, str(BENCH)],
        capture_output=True, text=True, timeout=300, check=False,
        cwd=BENCH.parent,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["0", "42"], run.stdout
