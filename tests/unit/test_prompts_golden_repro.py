"""Golden texts of the reproduction-test prompts (config/prompts/repro.yaml, localise.yaml): what
QA is asked for a bug report, first and after a test that failed for the wrong reason, and the
located function's heading in the developer's code section. A change to these texts shows here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleet.agents import write_patch
from fleet.config import RoleSpec
from fleet.context.localise import locate
from fleet.context.located import first
from fleet.contracts import ChatMessage, ChatResponse, Patch
from fleet.contracts import TestOutcome as Outcome
from fleet.council import Brief, Member
from fleet.council.patching import PatchTools
from fleet.pipeline.repro import reproduce

FILES = {
    "strs/__init__.py": "",
    "strs/text.py": "def cut_suffix(s, suffix):\n    return s[: -len(suffix)] if s.endswith(suffix) else s\n",
}
REPORT = "Cutting an empty suffix wipes the string\nI called cut_suffix('name.py', '') and got ''."
REPLY = "empty():\n    from strs.texts import cut_suffix\n\n    assert cut_suffix('a', '') == 'a'\n```\n"
SPEC = RoleSpec(purpose="tests", system_prompt="You are QA.\n", critique_focus=("coverage",))


class Recorder:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.begun: list[str] = []

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
        self.begun.append(messages[-1].content)  # the test module begun for QA
        self.asked.append(messages[-2].content.rsplit("\n\nTask: ", 1)[-1])  # the job, not the code
        return ChatResponse(text=REPLY, model="r", prompt_tokens=1, completion_tokens=1,
                            latency_ms=0.0)  # fmt: skip


class Repo:
    def files(self, ref: str = "HEAD") -> Mapping[str, str]:
        return dict(FILES)

    def read(self, ref: str, path: str) -> str | None:
        return FILES.get(path)

    def check(self, patch: Patch) -> str | None:
        return None


def asked() -> list[str]:
    """QA's two requests for a reproduction test (its first import was wrong)."""
    chat = Recorder()
    member = Member("qa-1", "qa", SPEC, chat, temperature=0.0, seed=1,
                    tools=PatchTools(write_patch=write_patch, repo=lambda s: Repo()))  # fmt: skip
    brief = Brief(deliberation_id="d", story_id="s", task_id="T1", task=REPORT.split("\n")[0],
                  round=0, step="propose", source="/repo", base="main", base_commit="abc")  # fmt: skip
    broken = Outcome(test_id="?::tests.test_t1_qa_1", passed=False,
                         excerpt="collection failure ModuleNotFoundError: No module named 'strs.texts'")  # fmt: skip

    def write(asks: Any, again: Any) -> Any:
        return member.write_tests(brief.model_copy(update={"begin": again.begin}), asks)

    repro = reproduce(write, lambda p, s: [broken], files=FILES, report=REPORT, attempts=2)
    assert not repro.reproduced
    assert (
        chat.begun
        == ["```python\nimport pytest\n\nfrom strs.text import cut_suffix\n\n\ndef test_"] * 2
    )
    return chat.asked


GOLDEN = [
    (
        "Cutting an empty suffix wipes the string\n"
        "Write pytest tests in a new file tests/test_t1_qa_1.py that prove these acceptance criteria:\n"
        "- A test that reproduces this bug report: call the function the way the report does, with the report's own example input, and assert that it returns what the user expected, as one line: `assert f(example) == expected`; where the user expected an error to be raised, `with pytest.raises(TheError): f(example)`. On the current code this test fails, because of the bug.\n"
        "The report: Cutting an empty suffix wipes the string\n"
        "I called cut_suffix('name.py', '') and got ''.\n"
        "- The report is about `cut_suffix`: import it with `from strs.text import cut_suffix`.\n"
        "Import the code under test from the module where it is (or belongs) in the repository. Each test asserts one concrete input and its expected result. Do not change other files."
    ),
    (
        "Cutting an empty suffix wipes the string\n"
        "Write pytest tests in a new file tests/test_t1_qa_1.py that prove these acceptance criteria:\n"
        "- A test that reproduces this bug report: call the function the way the report does, with the report's own example input, and assert that it returns what the user expected, as one line: `assert f(example) == expected`; where the user expected an error to be raised, `with pytest.raises(TheError): f(example)`. On the current code this test fails, because of the bug.\n"
        "The report: Cutting an empty suffix wipes the string\n"
        "I called cut_suffix('name.py', '') and got ''.\n"
        "- The report is about `cut_suffix`: import it with `from strs.text import cut_suffix`.\n"
        "- Your last test did not show the bug: the test itself is broken (collection failure ModuleNotFoundError: No module named 'strs.texts'). Its output on the current code:\n"
        "collection failure ModuleNotFoundError: No module named 'strs.texts'\n"
        "Write the test again so that it imports what exists, calls the code with the report's input and fails only on the wrong result.\n"
        "Import the code under test from the module where it is (or belongs) in the repository. Each test asserts one concrete input and its expected result. Do not change other files."
    ),
]


def test_qa_is_asked_for_a_reproduction_test_then_told_why_its_test_did_not_count() -> None:
    assert asked() == GOLDEN


def test_the_located_function_heads_the_code_section() -> None:
    items = ["### other.py\nx = 1"]
    ranked = locate(FILES, REPORT)
    head = (
        "### strs/text.py (lines 1-2: `cut_suffix`, where the report points)\n"
        "def cut_suffix(s, suffix):\n"
        "    return s[: -len(suffix)] if s.endswith(suffix) else s"
    )
    assert first(FILES, ranked, items) == ([head, "### other.py\nx = 1"], 1)  # one located
