"""The benchmarks' sandboxed runs (``harness.sandbox_python``: the hidden-test judge, the story's
example, the execution trace) from a worktree whose ``.venv`` links to the checkout's, as
benchmark runs beside a test session are started: the run still finds its interpreter. Before,
it named ``sys.executable`` (the link, under the sandbox's masked /tmp): every run exited 127 and
every task read as failed by its hidden tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"

RUN = """
import sys
sys.path.insert(0, sys.argv[1])
from harness import sandbox_python
got = sandbox_python({"m.py": "print(6 * 7)"}, ["m.py"], timeout_s=60)
print(got.exit_code, got.stdout.strip())
"""


def test_a_sandboxed_benchmark_run_from_a_linked_venv_finds_its_interpreter(tmp_path: Path) -> None:
    venv = Path(os.path.realpath(sys.prefix))
    if venv == Path(os.path.realpath(sys.base_prefix)):
        pytest.fail("the suite runs in the project's venv (make test)")
    linked = tmp_path / "worktree" / ".venv"
    linked.parent.mkdir()
    linked.symlink_to(venv, target_is_directory=True)
    run = subprocess.run(
        [str(linked / "bin" / "python"), "-c", RUN, str(BENCH)],
        capture_output=True, text=True, timeout=300, check=False,
        cwd=BENCH.parent,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["0", "42"], run.stdout
