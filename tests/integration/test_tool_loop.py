"""The tool loop in a sandboxed copy (real bubblewrap, real policy): a scripted action sequence
reads, edits, tests and submits; the copy's difference is the Patch."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.sandbox_workspace import SandboxWorkspace
from fleet.agents.loop import LOOP_FORMAT, run_loop
from fleet.config import load
from fleet.contracts import ChatMessage, RunContext
from fleet.policy import PolicyEngine
from fleet.testing.fakes import InMemoryEventLog, ScriptedChatModel

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_repo"
FILES = {str(p.relative_to(SAMPLE)): p.read_text() for p in SAMPLE.rglob("*.py")}
PY = Path(sys.executable).name  # the venv's python (pytest is installed there)
ACTIONS = [
    "Let me look.\n```bash\ncat calc/ops.py\n```",
    "```bash\nrm -rf /\n```",
    "tests/test_neg.py\n<<<<<<< SEARCH\n=======\nfrom calc.ops import negate\n\n\n"
    "def test_negate():\n    assert negate(2) == -2\n>>>>>>> REPLACE",
    "calc/ops.py\n<<<<<<< SEARCH\ndef add(a: float, b: float) -> float:\n=======\n"
    "def negate(a: float) -> float:\n    return -a\n\n\ndef add(a: float, b: float) -> float:\n"
    ">>>>>>> REPLACE",
    f"```bash\n{sys.executable} -m pytest -q -p no:cacheprovider\n```",
    "All green.\nSUBMIT",
]


class Steps:
    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        self.seen.append([m.content for m in messages])
        return ACTIONS[len(self.seen) - 1]


def test_scripted_loop_reads_edits_tests_and_submits_its_diff(tmp_path: Path) -> None:
    log = InMemoryEventLog()
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    ctx = RunContext(story_id="s", task_id="t", role="developer", phase="build")
    ws = SandboxWorkspace(sandbox, FILES, context=ctx, root=tmp_path)
    steps = Steps()
    msgs = [ChatMessage(role="system", content="You are a developer."),
            ChatMessage(role="user", content="Add negate(a) to calc.")]  # fmt: skip
    result = run_loop(ScriptedChatModel(script=steps), ws, msgs, base_files=FILES,
                      base_commit="c0ffee", step_limit=10)  # fmt: skip
    assert result.exit == "submitted" and result.steps == 6
    observations = [s[-1] for s in steps.seen[1:]]
    assert LOOP_FORMAT in steps.seen[0][0]
    assert "def multiply" in observations[0]  # cat ran in the sandbox
    assert "denied by policy" in observations[1]
    assert observations[2].startswith("Edited tests/test_neg.py")
    assert observations[3].startswith("Edited calc/ops.py"), observations[3]
    assert "exit code 0" in observations[4] and "4 passed" in observations[4]
    assert result.patch.files == ("calc/ops.py", "tests/test_neg.py")
    assert "+def negate(a: float) -> float:" in result.patch.diff
    ws.close()


def test_the_step_limit_ends_the_loop_with_the_diff_so_far(tmp_path: Path) -> None:
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
    ctx = RunContext(story_id="s", task_id="t", role="developer", phase="build")
    ws = SandboxWorkspace(sandbox, FILES, context=ctx, root=tmp_path)
    msgs = [ChatMessage(role="system", content="dev"), ChatMessage(role="user", content="go")]
    result = run_loop(ScriptedChatModel(script=Steps()), ws, msgs, base_files=FILES,
                      base_commit="c", step_limit=3)  # fmt: skip
    assert result.exit == "step_limit" and result.steps == 3
    assert result.patch.files == ("tests/test_neg.py",)
