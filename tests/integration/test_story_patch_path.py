"""The single-developer story path with real parts: a context pack from the context engine (the
code the context actor runs), the developer's edits as a Patch checked by git, applied by the
workspace runner with ``git apply``, tested in bubblewrap, gated and committed (scripted model)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from actors.story_services import WorkspaceExecutor
from actors.wiring import OrchestratorSettings
from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.gguf_tokenizer import GGUFTokenizer
from fleet.adapters.workspace import WorkspaceRunner
from fleet.config import load
from fleet.context import ContextBuilder, ContextEngine
from fleet.contracts import ChatMessage, ContextPack, FleetEvent, Story, Task
from fleet.policy import PolicyEngine
from fleet.testing.fakes import InMemoryEventLog, ScriptedChatModel

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_repo"
SECRET = "ghp_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA"
STATS = '"""Statistics."""\n\n\ndef mean(xs: list[float]) -> float:\n    return sum(xs) / len(xs)\n'
NEW_FILE_REPLY = (
    "A new module for statistics.\ncalc/stats.py\n<<<<<<< SEARCH\n=======\n" + STATS
    + ">>>>>>> REPLACE\n"
)  # fmt: skip
UNNAMED_REPLY = (
    "```python\ndef multiply(a: float, b: float) -> float:\n"
    '    """Return a * b (exact for integers)."""\n    return a * b\n\n\n'
    "def square(a: float) -> float:\n    return multiply(a, a)\n```\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(SAMPLE), str(dest)], check=True)
    (dest / "calc" / "ops.py").write_text(
        (dest / "calc" / "ops.py").read_text() + f'\n\nSERVICE_TOKEN = "{SECRET}"\n'
    )
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@t", *cmd],
                       check=True)  # fmt: skip
    return dest


class Recorder:
    def __init__(self, reply: str) -> None:
        self.reply, self.prompts = reply, []

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        self.prompts.append([m.content for m in messages])
        return self.reply


def _run(tmp_path: Path, repo: Path, story: Story, reply: str) -> tuple[Any, Recorder, list]:
    log = InMemoryEventLog()
    task = Task(id="T1", story_id=story.id, role="developer", description=story.title)
    for n, (kind, payload) in enumerate([("story.created", story), ("task.planned", task)]):
        log.append(FleetEvent(id=f"{story.id}:{n}", story_id=story.id, type=kind, at_ms=n,
                              payload=payload))  # fmt: skip
    tok = GGUFTokenizer()
    engine = ContextEngine(log, ContextBuilder(load("scopes.yaml"), tok))
    packs: list[ContextPack] = []

    def context(
        sid: str, role: str, phase: str, tid: str | None, path: str, ref: str
    ) -> ContextPack:
        from fleet.adapters.git_repo import GitRepo

        packs.append(
            engine.pack(sid, role, phase, tid, repo=GitRepo(path).files(ref), repo_key=ref)
        )
        return packs[-1]

    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    runner = WorkspaceRunner(sandbox, root=tmp_path / "runs")
    script = Recorder(reply)
    settings = OrchestratorSettings(redis_url="redis://unused", model="scripted")
    executor = WorkspaceExecutor(settings, log, ScriptedChatModel(script=script),
                                 context=context, runner=runner)  # fmt: skip
    execution = executor.execute(
        story.model_copy(update={"repo": str(repo)}), task, None, attempt=0
    )
    return execution, script, packs


def _show(repo: Path, branch: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"{branch}:{path}"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def test_prompt_holds_map_and_code_redacted_within_budget_and_a_new_file_is_committed(
    tmp_path, repo
):
    story = Story(id="S-new", title="Mean of a list of numbers",
                  acceptance_criteria=("mean([1, 2, 3]) returns 2.0",))  # fmt: skip
    execution, script, packs = _run(tmp_path, repo, story, NEW_FILE_REPLY)
    [prompt] = script.prompts
    user = prompt[-1]
    assert "## repo_map" in user and "def subtract(a: float, b: float) -> float" in user
    assert "## code\n### calc/" in user and "<<<<<<< SEARCH" in prompt[0] + user
    assert SECRET not in "\n".join(prompt) and "[REDACTED:" in user
    [pack] = packs
    assert GGUFTokenizer().count(pack.render()) == pack.token_count <= pack.budget
    data = execution.data
    assert data["status"] == "committed", (data["reason"], execution.report)
    assert data["files"] == ["calc/stats.py", "tests/test_mean_acceptance.py"]
    assert "--- /dev/null\n+++ b/calc/stats.py" in data["patch"]
    ws = Path(data["workspace"])
    assert _show(ws, data["branch"], "calc/stats.py") == STATS
    assert "from calc.stats import mean" in _show(
        ws, data["branch"], "tests/test_mean_acceptance.py"
    )
    assert execution.report.unit_passed >= 4 and execution.report.unit_failed == 0


def test_a_change_the_story_does_not_place_goes_where_the_model_puts_it(tmp_path, repo):
    story = Story(id="S-sq", title="Squares", description="Users want to square numbers.",
                  acceptance_criteria=("square(3) returns 9",))  # fmt: skip
    execution, _, _ = _run(tmp_path, repo, story, UNNAMED_REPLY)
    data = execution.data
    assert data["status"] == "committed", (data["reason"], execution.report)
    ops = _show(Path(data["workspace"]), data["branch"], "calc/ops.py")
    assert "def square(a: float) -> float:" in ops and ops.count("def multiply") == 1
    assert data["files"] == ["calc/ops.py", "tests/test_square_acceptance.py"]
