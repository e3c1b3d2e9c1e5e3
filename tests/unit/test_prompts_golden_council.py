"""The council's debugging and distinguishing prompts, built through the members with fixed
inputs and compared byte for byte with the text recorded here (``GOLDEN``).

The templates are ``config/prompts/debug.yaml`` and ``config/prompts/distinguish.yaml``. To change
a prompt on purpose: edit its template, run this file, and update ``GOLDEN`` with the new text
(the failure prints it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from fleet import contracts
from fleet.agents import write_patch
from fleet.config import RoleSpec
from fleet.contracts import ChatMessage, Evidence, Patch, Proposal
from fleet.council import Brief, Member
from fleet.council.patching import PatchTools
from fleet.testing.fakes import ScriptedChatModel

STUB = 'def twice(x):\n    """Return x doubled."""\n'
TEST = "import calc\n\n\ndef test_twice_1():\n    assert calc.twice(3) == 6\n"
FILES = {"calc.py": STUB, "tests/test_acc.py": TEST}
GOOD = 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n    return 2 * x\n```\n'
SPEC = RoleSpec(purpose="writes code", system_prompt="You are a developer.\n",
                critique_focus=("correctness",))  # fmt: skip


class Recorder:
    """A chat model that records every request and answers ``reply`` (a JSON instance of the
    schema when it is asked for one)."""

    def __init__(self, reply: str) -> None:
        self.reply, self.asked = reply, []
        self.fallback = ScriptedChatModel()

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> contracts.ChatResponse:
        self.asked.append([[m.role, m.content] for m in messages])
        if kw.get("schema"):
            return self.fallback.complete(messages, **kw)
        return contracts.ChatResponse(
            text=self.reply, model="rec", prompt_tokens=1, completion_tokens=1, latency_ms=0.0
        )


class FakeRepo:
    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return dict(FILES)

    def read(self, ref: str, path: str) -> str | None:
        return FILES.get(path)

    def check(self, patch: Patch) -> str | None:
        return None


def _member(agent_id: str, chat: Recorder) -> Member:
    return Member(agent_id, agent_id.rsplit("-", 1)[0], SPEC, chat, temperature=0.0, seed=7,
                  tools=PatchTools(write_patch=write_patch, repo=lambda s: FakeRepo()))  # fmt: skip


def _proposal(author: str, body: str) -> Proposal:
    diff = (
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n"
        f'@@ -1,2 +1,3 @@\n def twice(x):\n     """Return x doubled."""\n+    {body}\n'
    )
    patch = Patch(base_commit="abc", diff=diff, files=("calc.py",), rationale=body)
    return Proposal(id=f"d:p0:{author}", deliberation_id="d", author=author, role="developer",
                    round=0, content=body, patch=patch)  # fmt: skip


MINE = _proposal("developer-1", "return x + 1")
OTHER = _proposal("developer-2", "return x + x")
THIRD = _proposal("developer-3", "return 2 * x")
FAIL = contracts.TestOutcome(test_id="tests/test_acc.py::test_twice_1", passed=False,
                             excerpt="AssertionError: assert 4 == 6 +  where 4 = twice(3)")  # fmt: skip
OK = contracts.TestOutcome(test_id="tests/test_acc.py::test_twice_1", passed=True)
OBSERVED = {"twice(0)": "returns 0", "twice(-2)": "returns -4", "twice('a')": "returns 'aa'"}


def _brief(step: str, proposals: Sequence[Proposal], evidence: Sequence[Evidence]) -> Brief:
    return Brief(deliberation_id="d", story_id="s", task_id="T1", task="Implement twice",
                 round=0, step=step, source="/repo", base="main", base_commit="abc",
                 acceptance=("twice(3) returns 6",), proposals=tuple(proposals),
                 evidence=tuple(evidence))  # fmt: skip


def prompts() -> dict[str, Any]:
    out: dict[str, Any] = {}
    chat = Recorder(GOOD)
    failing = Evidence(proposal_id=MINE.id, passed=False, tests_failed=1, tests=(FAIL,))
    _member("developer-1", chat).revise(_brief("debug", [], [failing]), MINE)
    out["debug_request"] = chat.asked[0]
    chat = Recorder("twice(0)\ntwice(-2)\nprint('x')\ntwice('a')\n")
    calls = _member("qa-1", chat).distinguish(_brief("vote", [OTHER, THIRD], []), (OTHER, THIRD))
    out["distinguish_request"] = chat.asked[0]
    out["distinguish_calls"] = calls
    other = {**OBSERVED, "twice('a')": "raises TypeError"}
    shown = [
        Evidence(proposal_id=MINE.id, passed=False, tests_failed=1, tests=(FAIL,),
                 observed={"twice(0)": "returns 1"}),
        Evidence(proposal_id=OTHER.id, passed=True, tests_passed=1, tests=(OK,), observed=OBSERVED),
        Evidence(proposal_id=THIRD.id, passed=True, tests_passed=1, tests=(OK,), observed=other),
    ]  # fmt: skip
    chat = Recorder("")
    _member("architect-1", chat).vote(_brief("vote", [MINE, OTHER, THIRD], shown))
    out["vote_with_outputs"] = chat.asked[0]
    return out


GOLDEN: dict[str, Any] = {
    "debug_request": [
        [
            "system",
            (
                "You are a careful Python developer. Make the smallest change that "
                "satisfies the task and its acceptance criteria, in whichever files it "
                "belongs (create new files when needed), and keep existing code working."
            ),
        ],
        [
            "user",
            (
                "## Code\n"
                "### calc.py\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "\n"
                "\n"
                "### tests/test_acc.py\n"
                "import calc\n"
                "\n"
                "\n"
                "def test_twice_1():\n"
                "    assert calc.twice(3) == 6\n"
                "\n"
                "\n"
                "Reply with your change as edit blocks. For each change write the file "
                "path on its own line, then:\n"
                "<<<<<<< SEARCH\n"
                "lines copied exactly from the current file\n"
                "=======\n"
                "the new lines\n"
                ">>>>>>> REPLACE\n"
                "To create a new file, leave the SEARCH part empty. To rewrite a whole "
                "function you may instead write the file path on its own line, then a "
                "```python block with the complete new function.\n"
                "Example (for a file path/to/example.py that is not in this repository; "
                "use the real paths):\n"
                "path/to/example.py\n"
                "<<<<<<< SEARCH\n"
                "def greet(name):\n"
                '    return "Hello"\n'
                "=======\n"
                "def greet(name):\n"
                '    return f"Hello, {name}"\n'
                ">>>>>>> REPLACE\n"
                "\n"
                "You are developer-1.\n"
                "\n"
                "Task: Implement twice\n"
                "Acceptance criteria:\n"
                "- twice(3) returns 6\n"
                "Functions that have no body yet: calc.py: twice\n"
                "Your last patch, run against the tests in the sandbox:\n"
                "calc.py\n"
                "```python\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "    return x + 1\n"
                "```\n"
                "It fails these tests (test: what the run said):\n"
                "- tests/test_acc.py::test_twice_1: AssertionError: assert 4 == 6 + where "
                "4 = twice(3)\n"
                "The failing test:\n"
                "```python\n"
                "# tests/test_acc.py::test_twice_1\n"
                "def test_twice_1():\n"
                "    assert calc.twice(3) == 6\n"
                "```\n"
                "Fix your patch so these tests pass. Read each failure: where it compares "
                "two values, one is what your code returned and the other what the test "
                "expected. Change only what the failures point at; keep what already "
                "works.\n"
                "Now write the edits that implement the task in the repository above: "
                "every function you change with its complete new body (not the current "
                "code repeated)."
            ),
        ],
    ],
    "distinguish_calls": ["twice(0)", "twice(-2)", "twice('a')"],
    "distinguish_request": [
        [
            "system",
            ("You are a developer.\nYou write inputs that tell implementations apart."),
        ],
        [
            "user",
            (
                "You are qa-1.\n"
                "\n"
                "Task: Implement twice\n"
                "\n"
                "Implementation 1 (developer-2):\n"
                "```diff\n"
                "diff --git a/calc.py b/calc.py\n"
                "--- a/calc.py\n"
                "+++ b/calc.py\n"
                "@@ -1,2 +1,3 @@\n"
                " def twice(x):\n"
                '     """Return x doubled."""\n'
                "+    return x + x\n"
                "\n"
                "```\n"
                "\n"
                "Implementation 2 (developer-3):\n"
                "```diff\n"
                "diff --git a/calc.py b/calc.py\n"
                "--- a/calc.py\n"
                "+++ b/calc.py\n"
                "@@ -1,2 +1,3 @@\n"
                " def twice(x):\n"
                '     """Return x doubled."""\n'
                "+    return 2 * x\n"
                "\n"
                "```\n"
                "\n"
                "These implementations pass every test we have, but their code differs. "
                "Write 6 calls of twice, one per line, with literal arguments only (for "
                "example twice(...)), on which they would return different values: edge "
                "cases the task cares about, where one of them is wrong. Only the calls, "
                "nothing else."
            ),
        ],
    ],
    "vote_with_outputs": [
        [
            "system",
            "You are a developer.",
        ],
        [
            "user",
            (
                "## Code\n"
                "### calc.py\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "\n"
                "\n"
                "### tests/test_acc.py\n"
                "import calc\n"
                "\n"
                "\n"
                "def test_twice_1():\n"
                "    assert calc.twice(3) == 6\n"
                "\n"
                "\n"
                "Task: Implement twice\n"
                "Acceptance criteria:\n"
                "- twice(3) returns 6\n"
                "\n"
                "## Proposals\n"
                "1. [developer-1] return x + 1 (passes 0/1 tests; fails test_twice_1)\n"
                "2. [developer-2] return x + x (passes 1/1 tests)\n"
                "3. [developer-3] return 2 * x (passes 1/1 tests)\n"
                "\n"
                "You are architect-1.\n"
                "\n"
                "## Your job\n"
                "The candidates that pass every test do different things on these inputs (run in the sandbox):\n"
                "- twice('a'): #2 returns 'aa' | #3 raises TypeError\n"
                "Rank first the candidate whose results the task asks for.\n"
                "\n"
                "Rank proposals 1 to 3, best first, and score each from 0 to 10. Answer in JSON."
            ),
        ],
    ],
}


def _plain(value: Any) -> Any:
    """Messages and tuples as lists, so the recorded literal compares equal."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return prompts()


def test_every_scenario_is_recorded(built: dict[str, Any]) -> None:
    assert set(built) == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_prompt_is_byte_identical(built: dict[str, Any], name: str) -> None:
    assert _plain(built[name]) == GOLDEN[name]
