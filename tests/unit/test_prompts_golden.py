"""Every prompt the fleet sends a model, built through the public functions with fixed inputs,
compared byte for byte with the text recorded here (``GOLDEN``).

The prompts live in ``config/prompts/*.yaml``; this test pins what they render to, so a change to
a template or to the code that fills it in shows up as a difference here. To change a prompt on
purpose: edit its template, run this file, and update ``GOLDEN`` with the new text (the failure
prints it).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from fleet import contracts
from fleet.agents import author_messages, write_patch
from fleet.agents.loop import run_loop
from fleet.agents.request import change_request
from fleet.agents.testsource import failing_tests
from fleet.config import RoleSpec
from fleet.context import StoryDigest
from fleet.context.compress import llm_summary
from fleet.context.synthetic import synthetic_story
from fleet.contracts import ChatMessage, Critique, Evidence, Patch, Proposal
from fleet.council import Brief, Member, examples, patching
from fleet.council.patching import PatchTools
from fleet.errors import FleetError
from fleet.testing.fakes import ScriptedChatModel

STUB = 'def twice(x):\n    """Return x doubled."""\n'
TEST = "import calc\n\n\ndef test_twice_1():\n    assert calc.twice(3) == 6\n"
FILES = {"calc.py": STUB, "tests/test_acc.py": TEST}
CRITERIA = ("twice(3) returns 6", "twice(0) returns 0")
FINDING = "tests/test_acc.py::test_twice_1: assert 3 == 6"
ECHO = f"calc.py\n```python\n{STUB}```\n"
GOOD = 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n    return 2 * x\n```\n'
BAD = "calc.py\n<<<<<<< SEARCH\n    return x * 3\n=======\n    return 2 * x\n>>>>>>> REPLACE\n"
SPEC = RoleSpec(
    purpose="writes code",
    system_prompt="You are a developer.\n",
    critique_focus=("correctness", "edge cases"),
)
Convo = list[tuple[str, str]]


class Recorder:
    """A chat model that records every request and answers from ``replies`` in turn (the last
    one again once they run out; a JSON instance of the schema when there are none)."""

    def __init__(self, *replies: str) -> None:
        self.replies, self.asked = list(replies), []
        self.fallback = ScriptedChatModel()

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> contracts.ChatResponse:
        self.asked.append([(m.role, m.content) for m in messages])
        if not self.replies:
            return self.fallback.complete(messages, **kw)
        text = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return contracts.ChatResponse(
            text=text, model="rec", prompt_tokens=1, completion_tokens=1, latency_ms=0.0
        )


class FakeRepo:
    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return dict(FILES)

    def read(self, ref: str, path: str) -> str | None:
        return FILES.get(path)

    def check(self, patch: Patch) -> str | None:
        return None


def _member(agent_id: str, chat: Recorder, *, tools: bool = True) -> Member:
    return Member(
        agent_id, "developer", SPEC, chat, temperature=0.0, seed=7,
        tools=PatchTools(write_patch=write_patch, repo=lambda s: FakeRepo()) if tools else None,
    )  # fmt: skip


def _brief(patch: bool = True, **kw: Any) -> Brief:
    where = {"source": "/repo", "base": "main", "base_commit": "abc"} if patch else {}
    return Brief(
        deliberation_id="d", story_id="s", task_id="T1", task="Implement twice", round=0,
        step="propose", acceptance=CRITERIA, **where, **kw,
    )  # fmt: skip


def _proposal(author: str, content: str, diff: str | None) -> Proposal:
    patch = Patch(base_commit="abc", diff=diff, files=("calc.py",), rationale="r") if diff else None
    return Proposal(
        id=f"d:p0:{author}", deliberation_id="d", author=author, role="developer", round=0,
        content=content, patch=patch,
    )  # fmt: skip


MINE = _proposal("developer-1", "return x", "--- a/calc.py\n+++ b/calc.py\n+    return x\n")
OTHER = _proposal("developer-2", "x + x", "--- a/calc.py\n+++ b/calc.py\n+    return x + x\n")
FAIL = contracts.TestOutcome(
    test_id="tests/test_acc.py::test_twice_1", passed=False, excerpt="3 != 6"
)
OK = contracts.TestOutcome(test_id="tests/test_acc.py::test_twice_1", passed=True, excerpt="")
EVIDENCE = (
    Evidence(proposal_id=MINE.id, passed=False, tests_failed=1, tests=(FAIL,)),
    Evidence(proposal_id=OTHER.id, passed=True, tests_passed=1, tests=(OK,)),
)
CRITIQUE = Critique(
    id="c1", deliberation_id="d", author="reviewer-1", role="reviewer", target=MINE.id, round=0,
    severity="major", content="twice(3) returns 3",
)  # fmt: skip


def _patch_prompts(chat: Recorder, notes: Sequence[str] = (), **kw: Any) -> list[Convo]:
    with contextlib.suppress(FleetError):  # the prompts are what counts here
        write_patch(chat, author_messages("ctx"), FILES, base_commit="abc", notes=notes, **kw)
    return chat.asked


def _agents() -> dict[str, Any]:
    new = {"calc/__init__.py": "from calc.ops import add\n", "calc/ops.py": "def add(a, b):\n    return a + b\n"}  # fmt: skip
    return {
        "author_messages": author_messages("the context", instruction="do it"),
        "author_messages_bare": author_messages(
            "ctx", instruction="do it", system="sys", edit_format=False
        ),
        "change_request": change_request(
            "Implement twice", CRITERIA, FILES, notes=["a note"], findings=[FINDING]
        ),
        "change_request_plain": change_request("Do a thing", ()),
        "echo_then_continue": _patch_prompts(Recorder(ECHO, "    return 2 * x\n```\n")),
        "bad_then_correction": _patch_prompts(Recorder(BAD, BAD)),
        "unchanged_line_request": _unchanged(),
        "retry_continues_first": _patch_prompts(
            Recorder("    return 2 * x\n```\n"), [FINDING], focus=["twice"]
        ),  # fmt: skip
        "new_function_continuation": _new_function(new),
        "failing_test_clipped": failing_tests(FILES, [FINDING], chars=40),
        "still_empty": _still_empty(),
        "rationale_with_imports": _with_imports(),
        "story_instruction": _story_instruction(),
    }


def _new_function(files: Mapping[str, str]) -> list[Convo]:
    from fleet.agents.request import asked_for

    chat = Recorder("    return a / b\n```\n")
    focus = asked_for(["Add divide(a, b) beside add", "divide(6, 3) returns 2.0"], files)
    assert focus, "the task names a new function"
    with contextlib.suppress(FleetError):  # the prompts are what counts here
        write_patch(chat, author_messages("ctx"), files, base_commit="abc", focus=focus, continue_first=True)  # fmt: skip
    return chat.asked


def _unchanged() -> list[Convo]:
    """A reply that changes nothing, with no body-less function to continue: the line request
    (the faulty line and its correction) follows."""
    files = {"calc/ops.py": "def add(a, b):\n    return a - b\n"}
    same = "calc/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a - b\n>>>>>>> REPLACE\n"
    chat = Recorder(same, same)
    with contextlib.suppress(FleetError):  # the prompts are what counts here
        write_patch(chat, author_messages("ctx"), files, base_commit="abc")
    return chat.asked


def _still_empty() -> list[Any]:
    """A reply that rewrites a stub's docstring and leaves it without a body: the reason (the
    model reads it in a correction) and the prompts."""
    reply = 'calc.py\n```python\ndef twice(x):\n    """Return x times two."""\n```\n'
    chat = Recorder(reply)
    try:
        write_patch(chat, author_messages("ctx"), FILES, base_commit="abc")
    except FleetError as exc:
        return [exc.fields["reason"], chat.asked]
    raise AssertionError("a body-less reply became a patch")


def _with_imports() -> str:
    """A patch's rationale when code added the imports its change forgot."""
    files = {"m.py": "def f(xs):\n    return xs\n"}
    reply = (
        "Use islice.\nm.py\n```python\ndef f(xs):\n    return list(itertools.islice(xs, 2))\n```\n"
    )
    return write_patch(Recorder(reply), author_messages("ctx"), files, base_commit="abc").rationale


def _story_instruction() -> str:
    """The single developer's request on the story path, with the council's decision."""
    from fleet.orchestrator.implement import instruction

    story = contracts.Story(id="s", title="Implement twice", acceptance_criteria=CRITERIA)
    task = contracts.Task(id="T1", story_id="s", role="developer", description="Implement twice")
    return instruction(story, task, MINE, [FINDING], FILES)


class Workspace:
    def __init__(self) -> None:
        self.text = {"a.py": "x = 1\n"}

    def run(self, argv: list[str]) -> tuple[int, str]:
        return 0, f"ran {' '.join(argv)}"

    def files(self) -> dict[str, str]:
        return dict(self.text)

    def write(self, files: Mapping[str, str]) -> None:
        self.text.update(files)


def _loop() -> list[Convo]:
    chat = Recorder(
        "Look first.\n```bash\ncat a.py\n```\n",
        "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n",
        "a.py\n<<<<<<< SEARCH\nnope\n=======\nx = 3\n>>>>>>> REPLACE\n",
        "```bash\ncat 'a.py\n```\n",
        "```bash\n\n```\n",
        "I think it is done.",
        "SUBMIT",
    )
    start = [ChatMessage(role="system", content="sys"), ChatMessage(role="user", content="task")]
    run_loop(chat, Workspace(), start, base_files={"a.py": "x = 1\n"}, base_commit="abc")
    return chat.asked[-1:]


def _council() -> dict[str, Any]:
    out: dict[str, Any] = {}
    plain = _brief(patch=False)
    acts = {
        "propose": lambda m: m.propose(plain),
        "critique": lambda m: m.critique(
            plain.model_copy(update={"step": "critique", "proposals": (MINE, OTHER)}),
            _proposal("developer-2", "x + x " * 40, None),
        ),  # fmt: skip
        "revise": lambda m: m.revise(
            plain.model_copy(update={"step": "revise", "critiques": (CRITIQUE,)}),
            _proposal("developer-1", "return x", None),
        ),  # fmt: skip
        "revise_no_critiques": lambda m: m.revise(
            plain.model_copy(update={"step": "revise"}), _proposal("developer-1", "return x", None)
        ),  # fmt: skip
        "vote": lambda m: m.vote(
            plain.model_copy(
                update={"step": "vote", "proposals": (MINE, OTHER), "evidence": EVIDENCE}
            )
        ),  # fmt: skip
    }
    for name, act in acts.items():
        chat = Recorder()
        act(_member("developer-1", chat, tools=False))
        out[f"member_{name}"] = chat.asked
    story = Brief(deliberation_id="d", story_id="s", task="Do it", round=0, step="propose")
    chat = Recorder()
    _member("architect-1", chat, tools=False).propose(story)
    out["member_propose_no_criteria"] = chat.asked
    patched = _brief(proposals=(MINE, OTHER), evidence=EVIDENCE, critiques=(CRITIQUE,))
    for agent in ("developer-1", "developer-2", "developer-3", "developer-4", "qa-1"):
        chat = Recorder(GOOD)
        _member(agent, chat).propose(_brief())
        out[f"patch_propose_{agent}"] = chat.asked
    for agent in ("developer-1", "developer-2", "developer-3", "developer-4", "qa-1"):
        chat = Recorder(GOOD)
        _member(agent, chat).revise(patched.model_copy(update={"step": "revise"}), MINE)
        out[f"patch_revise_{agent}"] = chat.asked
    chat = Recorder(GOOD)
    _member("developer-1", chat).propose(_brief(findings=(FINDING,)))
    out["patch_propose_retry"] = chat.asked
    for target in (MINE, OTHER):
        chat = Recorder()
        crit = patched.model_copy(update={"step": "critique"})
        _member("reviewer-1", chat).critique(crit, target)
        out[f"patch_critique_{target.author}"] = chat.asked
    chat = Recorder(
        "tests/test_t1_qa_1.py\n<<<<<<< SEARCH\n=======\ndef test_a():\n    assert 1\n>>>>>>> REPLACE\n"
    )
    _member("qa-1", chat).write_tests(_brief(), ["twice(5) returns 10"])
    out["qa_write_tests"] = chat.asked
    chat = Recorder("twice(5) returns 10\n")
    _member("qa-1", chat).write_examples(_brief(), list(CRITERIA))
    out["qa_write_examples"] = chat.asked
    return out


def _patching() -> dict[str, Any]:
    long = _proposal(
        "developer-2", "x + x", "--- a/calc.py\n+++ b/calc.py\n" + "+    y = x\n" * 200
    )
    third = _proposal("developer-3", "none", None)
    qa_fail = contracts.TestOutcome(
        test_id="tests/test_qa.py::test_ex", passed=False, excerpt="1 != 2"
    )
    evidence = (
        EVIDENCE[0].model_copy(
            update={"tests": (FAIL, qa_fail), "observed": {"twice(4)": "returns 4"}}
        ),
        EVIDENCE[1].model_copy(
            update={"proposal_id": long.id, "observed": {"twice(4)": "returns 8"}}
        ),
        Evidence(proposal_id=third.id, passed=False, detail="build failed: syntax error"),
    )
    brief = _brief(proposals=(MINE, long, third), evidence=evidence, critiques=(CRITIQUE,),
                   distrusted=("tests/test_acc.py::test_twice_1",),
                   advisory=("tests/test_qa.py",))  # fmt: skip
    return {
        "critique_job_failing": patching.critique_job(brief, MINE, "correctness"),
        "critique_job_differs": patching.critique_job(brief, long, "correctness"),
        "critique_job_untested": patching.critique_job(brief, third, "correctness"),
        "revise_notes": patching.revise_notes(brief, MINE, FILES),
        "revise_notes_no_patch": patching.revise_notes(
            _brief(), _proposal("developer-1", "", None), FILES
        ),
        "tests_job": patching.tests_job(["f(1) returns 2"], "tests/test_x.py"),
        "examples_job": examples.job("Do twice", list(CRITERIA), [STUB], ["twice", "half"]),
        "examples_job_bare": examples.job("Do twice", ["it doubles"], [], ["twice"]),
        "vote_listing": _vote(brief),
        "cited": [patching.cited("looks wrong", brief, p) for p in (MINE, long, third)],
        "summary": patching.summary(Patch(base_commit="abc", diff="d", files=("a.py", "b.py"))),
        "summary_nothing": patching.summary(Patch(base_commit="abc", diff="d", files=())),
    }


def _vote(brief: Brief) -> list[Convo]:
    chat = Recorder()
    _member("developer-1", chat, tools=False).vote(
        _brief(patch=False, proposals=brief.proposals, evidence=brief.evidence).model_copy(
            update={"step": "vote"}
        )
    )
    return chat.asked


def _compress() -> list[Convo]:
    story = synthetic_story(300, n_decisions=3)
    digest = StoryDigest(story.events[0].story_id)
    digest.apply_all([(f"{i}-0", e) for i, e in enumerate(story.events, 1)])
    chat = Recorder(json.dumps({"summary": "ok"}))
    assert llm_summary(chat, digest)
    return chat.asked


def prompts() -> dict[str, Any]:
    """Every prompt of the scenarios above, by scenario name."""
    return {**_agents(), "loop": _loop(), **_council(), **_patching(), "compress": _compress()}


def _plain(value: Any) -> Any:
    """Messages and tuples as lists, so the recorded literal compares equal."""
    if isinstance(value, ChatMessage):
        return [value.role, value.content]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


GOLDEN: dict[str, Any] = {
    "author_messages": [
        ["system", "You are a careful software developer. You change code by writing edit blocks."],
        [
            "user",
            "the context\n"
            "\n"
            "Reply with your change as edit blocks. For each change write the file path "
            "on its own line, then:\n"
            "<<<<<<< SEARCH\n"
            "lines copied exactly from the current file\n"
            "=======\n"
            "the new lines\n"
            ">>>>>>> REPLACE\n"
            "To create a new file, leave the SEARCH part empty. To rewrite a whole "
            "function you may instead write the file path on its own line, then a "
            "```python block with the complete new function.\n"
            "Example (for a file path/to/example.py that is not in this repository; use "
            "the real paths):\n"
            "path/to/example.py\n"
            "<<<<<<< SEARCH\n"
            "def greet(name):\n"
            '    return "Hello"\n'
            "=======\n"
            "def greet(name):\n"
            '    return f"Hello, {name}"\n'
            ">>>>>>> REPLACE\n"
            "\n"
            "do it",
        ],
    ],
    "author_messages_bare": [["system", "sys"], ["user", "ctx\n\ndo it"]],
    "bad_then_correction": [
        [
            [
                "system",
                ("You are a careful software developer. You change code by writing edit blocks."),
            ],
            [
                "user",
                (
                    "ctx\n"
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
                    ">>>>>>> REPLACE"
                ),
            ],
        ],
        [
            [
                "system",
                ("You are a careful software developer. You change code by writing edit blocks."),
            ],
            [
                "user",
                (
                    "ctx\n"
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
                    ">>>>>>> REPLACE"
                ),
            ],
            [
                "assistant",
                (
                    "calc.py\n"
                    "<<<<<<< SEARCH\n"
                    "    return x * 3\n"
                    "=======\n"
                    "    return 2 * x\n"
                    ">>>>>>> REPLACE\n"
                ),
            ],
            [
                "user",
                (
                    "Your edit could not be applied: calc.py: the SEARCH text is not in the "
                    "file; copy the current lines exactly (first SEARCH line: 'return x * 3')\n"
                    "The file is unchanged: a SEARCH part copies its current lines, not your "
                    "last reply's.\n"
                    "Reply again with corrected edit blocks only."
                ),
            ],
        ],
    ],
    "change_request": "Task: Implement twice\n"
    "Acceptance criteria:\n"
    "- twice(3) returns 6\n"
    "- twice(0) returns 0\n"
    "Functions that have no body yet: calc.py: twice\n"
    "a note\n"
    "The last attempt failed; fix this:\n"
    "- tests/test_acc.py::test_twice_1: assert 3 == 6\n"
    "The failing test:\n"
    "```python\n"
    "# tests/test_acc.py::test_twice_1\n"
    "def test_twice_1():\n"
    "    assert calc.twice(3) == 6\n"
    "```\n"
    "Now write the edits that implement the task in the repository above: every "
    "function you change with its complete new body (not the current code "
    "repeated).",
    "change_request_plain": "Task: Do a thing\n"
    "Now write the edits that implement the task in the repository above: "
    "every function you change with its complete new body (not the current "
    "code repeated).",
    "cited": [
        "looks wrong [passes 0/1 tests; fails tests/test_acc.py::test_twice_1 [distrusted: no "
        "candidate passes it]: 3 != 6; tests/test_qa.py::test_ex [QA's example: may itself be "
        "wrong]: 1 != 2; differs on twice(4): 4 here, developer-2's 8]",
        "looks wrong [passes 1/1 tests; differs on twice(4): 8 here, developer-1's 4]",
        "looks wrong [no test results; fails build failed: syntax error]",
    ],
    "compress": [
        [
            ["system", "You write terse engineering summaries."],
            [
                "user",
                "Summarise this software story's progress in at most five sentences. Mention "
                "decisions and failures.\n"
                "54 council.ballot\n"
                "36 council.critique\n"
                "108 council.proposal\n"
                "18 council.result\n"
                "3 decision.made\n"
                "18 deliberation.started\n"
                "1 gate.result\n"
                "33 model.usage\n"
                "19 sandbox.run\n"
                "1 story.created\n"
                "2 story.transition\n"
                "6 task.planned\n"
                "1 workspace.report\n"
                '[story.transition] {"by": "po", "from": "DRAFT", "name": "approve_scope", "to": '
                '"DESIGN"}\n'
                '[story.transition] {"by": "po", "from": "DESIGN", "name": "approve_design", '
                '"to": "BUILD"}\n'
                "[gate.result] gate L2 block score=62 unit: 4 failed\n"
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "[model.usage] "
                '{"kind":"usage","story_id":"story-synth","role":"qa","model":"smollm2","prompt_tokens":10,"completion_tokens":2,"latency_ms":5.0,"cost":0.0}\n'
                "D0: D0: Run the order service tests with pytest fixtures against a real Redis "
                "(test decision 0)\n"
                "D4: D4: Run the order service tests with pytest fixtures against a real Redis "
                "(test decision 4)\n"
                "D8: D8: Run the order service tests with pytest fixtures against a real Redis "
                "(test decision 8)",
            ],
        ]
    ],
    "critique_job_differs": "Review this candidate change. Look for: correctness.\n"
    "### developer-2: passes 1/1 tests\n"
    "--- a/calc.py\n"
    "+++ b/calc.py\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    y = x\n"
    "+    \n"
    "... (clipped)\n"
    "- DIFFERS on twice(4): 8 here, developer-1's 4\n"
    "It passes all its tests, but returns other values than another "
    "candidate on the inputs below: say which result the task asks for on "
    "one of them. Give a severity and one short comment.",
    "critique_job_failing": "Review this candidate change. Look for: correctness.\n"
    "### developer-1: passes 0/1 tests\n"
    "--- a/calc.py\n"
    "+++ b/calc.py\n"
    "+    return x\n"
    "\n"
    "- FAILS tests/test_acc.py::test_twice_1 [distrusted: no candidate "
    "passes it]: 3 != 6\n"
    "- FAILS tests/test_qa.py::test_ex [QA's example: may itself be wrong]: "
    "1 != 2\n"
    "- DIFFERS on twice(4): 4 here, developer-2's 8\n"
    "Be concrete: name the failing test or the input case it gets wrong. "
    "Give a severity and one short comment.",
    "critique_job_untested": "Review this candidate change. Look for: correctness.\n"
    "### developer-3: no test results\n"
    "(no patch)\n"
    "- FAILS build failed: syntax error\n"
    "Be concrete: name the failing test or the input case it gets wrong. "
    "Give a severity and one short comment.",
    "echo_then_continue": [
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "ctx\n"
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
                ">>>>>>> REPLACE",
            ],
        ],
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "The function `twice` in `calc.py` has no body yet. The file:\n"
                "```python\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "```\n"
                "Write the complete function `twice`: its body must do what its "
                "docstring says.",
            ],
            ["assistant", 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n'],
        ],
    ],
    "examples_job": "Task: Do twice\n"
    "\n"
    "```python\n"
    "def twice(x):\n"
    '    """Return x doubled."""\n'
    "\n"
    "```\n"
    "\n"
    "Examples already given:\n"
    "- twice(3) returns 6\n"
    "- twice(0) returns 0\n"
    "\n"
    "Write 6 NEW examples of calling twice or half with other inputs (edge cases the "
    "description mentions, small inputs), one per line, exactly in the form\n"
    "twice(ARGS) returns VALUE\n"
    "where ARGS and VALUE are Python literals. Work out each value carefully from "
    "the description. Only the 6 lines, nothing else.",
    "examples_job_bare": "Task: Do twice\n"
    "\n"
    "Write 6 NEW examples of calling twice with other inputs (edge cases the "
    "description mentions, small inputs), one per line, exactly in the form\n"
    "twice(ARGS) returns VALUE\n"
    "where ARGS and VALUE are Python literals. Work out each value carefully "
    "from the description. Only the 6 lines, nothing else.",
    "failing_test_clipped": [
        "# tests/test_acc.py::test_twice_1\ndef test_twice_1():\n    \n# ... (clipped)"
    ],
    "loop": [
        [
            [
                "system",
                "sys\n"
                "\n"
                "You work in a copy of the repository. Each reply does exactly ONE of:\n"
                "- run one command: a ```bash block holding one command line (e.g. `cat "
                "path/to/file.py`,\n"
                "  `ls src`, `python -m pytest -q`); no pipes, no shell features;\n"
                "- edit files: SEARCH/REPLACE blocks (a path line, <<<<<<< SEARCH, exact current "
                "lines, =======,\n"
                "  new lines, >>>>>>> REPLACE; an empty SEARCH creates a file);\n"
                "- finish: the word SUBMIT alone on a line, when the change is complete and tested.",
            ],
            ["user", "task"],
            ["assistant", "Look first.\n```bash\ncat a.py\n```\n"],
            ["user", "exit code 0\nran cat a.py"],
            ["assistant", "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"],
            ["user", "Edited a.py."],
            ["assistant", "a.py\n<<<<<<< SEARCH\nnope\n=======\nx = 3\n>>>>>>> REPLACE\n"],
            [
                "user",
                "The edit was not applied: a.py: the SEARCH text is not in the file; copy the current "
                "lines exactly (first SEARCH line: 'nope')",
            ],
            ["assistant", "```bash\ncat 'a.py\n```\n"],
            ["user", "The command does not parse: No closing quotation"],
            ["assistant", "```bash\n\n```\n"],
            ["user", "The bash block is empty."],
            ["assistant", "I think it is done."],
            ["user", "No action found. Reply with one ```bash block, edit blocks, or SUBMIT."],
        ]
    ],
    "member_critique": [
        [
            [
                "system",
                "You are a developer. Answer in JSON.",
            ],
            [
                "user",
                (
                    "## Context\n"
                    "Story s. Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "\n"
                    "## Proposals\n"
                    "1. [developer-1] return x\n"
                    "2. [developer-2] x + x\n"
                    "\n"
                    "You are developer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Review this proposal by developer-2. Look for: correctness, edge cases.\n"
                    "Proposal: x + x x + x x + x x + x x + x x + x x + x x + x x + x x + x x + "
                    "x x + x x + x x + x x + x x + x x + x x + x x + x x + x x + x x + x x + x "
                    "x + x x + x x + x x + x x + x x + x x + x x + x x + x x + x x + x x + x x "
                    "+ x x + x x + x x + x x + x\n"
                    "Give a severity and one short comment."
                ),
            ],
        ],
    ],
    "member_propose": [
        [
            [
                "system",
                "You are a developer. Answer in JSON.",
            ],
            [
                "user",
                (
                    "## Context\n"
                    "Story s. Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "\n"
                    "You are developer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Propose how to do the task. Give a short answer, why, and one command "
                    "that tests it."
                ),
            ],
        ],
    ],
    "member_propose_no_criteria": [
        [
            [
                "system",
                "You are a developer. Answer in JSON.",
            ],
            [
                "user",
                (
                    "## Context\n"
                    "Story s. Task: Do it\n"
                    "\n"
                    "You are architect-1.\n"
                    "\n"
                    "## Your job\n"
                    "Propose how to do the task. Give a short answer, why, and one command "
                    "that tests it."
                ),
            ],
        ],
    ],
    "member_revise": [
        [
            [
                "system",
                "You are a developer. Answer in JSON.",
            ],
            [
                "user",
                (
                    "## Context\n"
                    "Story s. Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "\n"
                    "You are developer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Your proposal: return x\n"
                    "Critiques:\n"
                    "- reviewer-1 (major): twice(3) returns 3\n"
                    "Write your improved proposal."
                ),
            ],
        ],
    ],
    "member_revise_no_critiques": [
        [
            [
                "system",
                "You are a developer. Answer in JSON.",
            ],
            [
                "user",
                (
                    "## Context\n"
                    "Story s. Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "\n"
                    "You are developer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Your proposal: return x\n"
                    "Critiques:\n"
                    "- none\n"
                    "Write your improved proposal."
                ),
            ],
        ],
    ],
    "member_vote": [
        [
            [
                "system",
                "You are a developer. Answer in JSON.",
            ],
            [
                "user",
                (
                    "## Context\n"
                    "Story s. Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "\n"
                    "## Proposals\n"
                    "1. [developer-1] return x (passes 0/1 tests; fails test_twice_1)\n"
                    "2. [developer-2] x + x (passes 1/1 tests)\n"
                    "\n"
                    "You are developer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Rank proposals 1 to 2, best first, and score each from 0 to 10."
                ),
            ],
        ],
    ],
    "new_function_continuation": [
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "Add a new function `divide` to `calc/ops.py` for this task:\n"
                "Add divide(a, b) beside add\n"
                "divide(6, 3) returns 2.0\n"
                "The file:\n"
                "```python\n"
                "def add(a, b):\n"
                "    return a + b\n"
                "```\n"
                "Write the complete function `divide`: it must do what the task "
                "says.",
            ],
            ["assistant", "calc/ops.py\n```python\ndef divide(a, b)"],
        ],
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "ctx\n"
                "\n"
                "Reply with your change as edit blocks. For each change write "
                "the file path on its own line, then:\n"
                "<<<<<<< SEARCH\n"
                "lines copied exactly from the current file\n"
                "=======\n"
                "the new lines\n"
                ">>>>>>> REPLACE\n"
                "To create a new file, leave the SEARCH part empty. To rewrite a "
                "whole function you may instead write the file path on its own "
                "line, then a ```python block with the complete new function.\n"
                "Example (for a file path/to/example.py that is not in this "
                "repository; use the real paths):\n"
                "path/to/example.py\n"
                "<<<<<<< SEARCH\n"
                "def greet(name):\n"
                '    return "Hello"\n'
                "=======\n"
                "def greet(name):\n"
                '    return f"Hello, {name}"\n'
                ">>>>>>> REPLACE",
            ],
        ],
    ],
    "patch_critique_developer-1": [
        [
            [
                "system",
                "You are a careful Python developer. Make the smallest change that satisfies the task and its acceptance criteria, in whichever files it belongs (create new files when needed), and keep existing code working.",
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
                    "- twice(0) returns 0\n"
                    "\n"
                    "## Proposals\n"
                    "1. [developer-1] return x (passes 0/1 tests; fails test_twice_1)\n"
                    "2. [developer-2] x + x (passes 1/1 tests)\n"
                    "\n"
                    "You are reviewer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Review this candidate change. Look for: correctness, edge cases.\n"
                    "### developer-1: passes 0/1 tests\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x\n"
                    "\n"
                    "- FAILS tests/test_acc.py::test_twice_1: 3 != 6\n"
                    "Be concrete: name the failing test or the input case it gets wrong. Give a severity and one short comment. Answer in JSON."
                ),
            ],
        ],
    ],
    "patch_critique_developer-2": [
        [
            [
                "system",
                "You are a careful Python developer. Make the smallest change that satisfies the task and its acceptance criteria, in whichever files it belongs (create new files when needed), and keep existing code working.",
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
                    "- twice(0) returns 0\n"
                    "\n"
                    "## Proposals\n"
                    "1. [developer-1] return x (passes 0/1 tests; fails test_twice_1)\n"
                    "2. [developer-2] x + x (passes 1/1 tests)\n"
                    "\n"
                    "You are reviewer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Review this candidate change. Look for: correctness, edge cases.\n"
                    "### developer-2: passes 1/1 tests\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x + x\n"
                    "\n"
                    "It passes all its tests: name an input case it gets wrong that the tests do not check, or say that it looks correct. Give a severity and one short comment. Answer in JSON."
                ),
            ],
        ],
    ],
    "patch_propose_developer-1": [
        [
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
                    "- twice(0) returns 0\n"
                    "Functions that have no body yet: calc.py: twice\n"
                    "Now write the edits that implement the task in the repository above: "
                    "every function you change with its complete new body (not the current "
                    "code repeated)."
                ),
            ],
        ],
    ],
    "patch_propose_developer-2": [
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "The function `twice` in `calc.py` has no body yet. The file:\n"
                "```python\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "```\n"
                "Write the complete function `twice`: its body must do what its "
                "docstring says.",
            ],
            ["assistant", 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n'],
        ]
    ],
    "patch_propose_developer-3": [
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "The function `twice` in `calc.py` has no body yet. The file:\n"
                "```python\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "```\n"
                "Write the complete function `twice`: its body must do what its "
                "docstring says.",
            ],
            ["assistant", 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n'],
        ]
    ],
    "patch_propose_developer-4": [
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "The function `twice` in `calc.py` has no body yet. The file:\n"
                "```python\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "```\n"
                "Write the complete function `twice`: its body must do what its "
                "docstring says.",
            ],
            ["assistant", 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n'],
        ]
    ],
    "patch_propose_qa-1": [
        [
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
                    "You are qa-1.\n"
                    "\n"
                    "Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "Functions that have no body yet: calc.py: twice\n"
                    "Now write the edits that implement the task in the repository above: "
                    "every function you change with its complete new body (not the current "
                    "code repeated)."
                ),
            ],
        ],
    ],
    "patch_propose_retry": [
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "The function `twice` in `calc.py` has no body yet. The file:\n"
                "```python\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "```\n"
                "An earlier attempt failed: tests/test_acc.py::test_twice_1: assert 3 "
                "== 6\n"
                "The failing test:\n"
                "```python\n"
                "# tests/test_acc.py::test_twice_1\n"
                "def test_twice_1():\n"
                "    assert calc.twice(3) == 6\n"
                "```\n"
                "Write the complete function `twice`: its body must do what its "
                "docstring says.",
            ],
            ["assistant", 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n'],
        ]
    ],
    "patch_revise_developer-1": [
        [
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
                    "- twice(0) returns 0\n"
                    "Functions that have no body yet: calc.py: twice\n"
                    "The other candidates:\n"
                    "### developer-2: passes 1/1 tests\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x + x\n"
                    "\n"
                    "Your current patch (passes 0/1 tests):\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x\n"
                    "\n"
                    "- FAILS tests/test_acc.py::test_twice_1: 3 != 6\n"
                    "The failing test:\n"
                    "```python\n"
                    "# tests/test_acc.py::test_twice_1\n"
                    "def test_twice_1():\n"
                    "    assert calc.twice(3) == 6\n"
                    "```\n"
                    "Critiques of your patch:\n"
                    "- reviewer-1 (major): twice(3) returns 3\n"
                    "Improve your change: fix the failing tests and the critiques' points (a "
                    "test marked distrusted may itself be wrong).\n"
                    "Now write the edits that implement the task in the repository above: "
                    "every function you change with its complete new body (not the current "
                    "code repeated)."
                ),
            ],
        ],
    ],
    "patch_revise_developer-2": [
        [
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
                    "Reply with the complete new version of each function you change. For "
                    "each function write the file path on its own line, then a ```python "
                    "block holding the whole function without its docstring (the docstring "
                    "stays as it is): its decorators, its def line and its complete "
                    "corrected body. Leave out the functions you do not change.\n"
                    "Example (for a file path/to/example.py that is not in this repository; "
                    "use the real paths):\n"
                    "path/to/example.py\n"
                    "```python\n"
                    "def greet(name):\n"
                    '    return f"Hello, {name}"\n'
                    "```\n"
                    "\n"
                    "You are developer-2. Prefer the simplest code that is obviously "
                    "correct.\n"
                    "\n"
                    "Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "Functions that have no body yet: calc.py: twice\n"
                    "The other candidates:\n"
                    "### developer-2: passes 1/1 tests\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x + x\n"
                    "\n"
                    "Your current patch (passes 0/1 tests):\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x\n"
                    "\n"
                    "- FAILS tests/test_acc.py::test_twice_1: 3 != 6\n"
                    "The failing test:\n"
                    "```python\n"
                    "# tests/test_acc.py::test_twice_1\n"
                    "def test_twice_1():\n"
                    "    assert calc.twice(3) == 6\n"
                    "```\n"
                    "Critiques of your patch:\n"
                    "- reviewer-1 (major): twice(3) returns 3\n"
                    "Improve your change: fix the failing tests and the critiques' points (a "
                    "test marked distrusted may itself be wrong).\n"
                    "Now write the edits that implement the task in the repository above: "
                    "every function you change with its complete new body (not the current "
                    "code repeated)."
                ),
            ],
        ],
    ],
    "patch_revise_developer-3": [
        [
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
                    "Reply with the complete new version of each function you change. For "
                    "each function write the file path on its own line, then a ```python "
                    "block holding the whole function without its docstring (the docstring "
                    "stays as it is): its decorators, its def line and its complete "
                    "corrected body. Leave out the functions you do not change.\n"
                    "Example (for a file path/to/example.py that is not in this repository; "
                    "use the real paths):\n"
                    "path/to/example.py\n"
                    "```python\n"
                    "def greet(name):\n"
                    '    return f"Hello, {name}"\n'
                    "```\n"
                    "\n"
                    "You are developer-3. Before writing, think through the edge cases "
                    "(empty input, zero, negatives, ties).\n"
                    "\n"
                    "Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "Functions that have no body yet: calc.py: twice\n"
                    "The other candidates:\n"
                    "### developer-2: passes 1/1 tests\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x + x\n"
                    "\n"
                    "Your current patch (passes 0/1 tests):\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x\n"
                    "\n"
                    "- FAILS tests/test_acc.py::test_twice_1: 3 != 6\n"
                    "The failing test:\n"
                    "```python\n"
                    "# tests/test_acc.py::test_twice_1\n"
                    "def test_twice_1():\n"
                    "    assert calc.twice(3) == 6\n"
                    "```\n"
                    "Critiques of your patch:\n"
                    "- reviewer-1 (major): twice(3) returns 3\n"
                    "Improve your change: fix the failing tests and the critiques' points (a "
                    "test marked distrusted may itself be wrong).\n"
                    "Now write the edits that implement the task in the repository above: "
                    "every function you change with its complete new body (not the current "
                    "code repeated)."
                ),
            ],
        ],
    ],
    "patch_revise_developer-4": [
        [
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
                    "You are developer-4. Follow the docstring and the examples exactly; "
                    "check your change against each example.\n"
                    "\n"
                    "Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "Functions that have no body yet: calc.py: twice\n"
                    "The other candidates:\n"
                    "### developer-2: passes 1/1 tests\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x + x\n"
                    "\n"
                    "Your current patch (passes 0/1 tests):\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x\n"
                    "\n"
                    "- FAILS tests/test_acc.py::test_twice_1: 3 != 6\n"
                    "The failing test:\n"
                    "```python\n"
                    "# tests/test_acc.py::test_twice_1\n"
                    "def test_twice_1():\n"
                    "    assert calc.twice(3) == 6\n"
                    "```\n"
                    "Critiques of your patch:\n"
                    "- reviewer-1 (major): twice(3) returns 3\n"
                    "Improve your change: fix the failing tests and the critiques' points (a "
                    "test marked distrusted may itself be wrong).\n"
                    "Now write the edits that implement the task in the repository above: "
                    "every function you change with its complete new body (not the current "
                    "code repeated)."
                ),
            ],
        ],
    ],
    "patch_revise_qa-1": [
        [
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
                    "You are qa-1.\n"
                    "\n"
                    "Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "Functions that have no body yet: calc.py: twice\n"
                    "The other candidates:\n"
                    "### developer-2: passes 1/1 tests\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x + x\n"
                    "\n"
                    "Your current patch (passes 0/1 tests):\n"
                    "--- a/calc.py\n"
                    "+++ b/calc.py\n"
                    "+    return x\n"
                    "\n"
                    "- FAILS tests/test_acc.py::test_twice_1: 3 != 6\n"
                    "The failing test:\n"
                    "```python\n"
                    "# tests/test_acc.py::test_twice_1\n"
                    "def test_twice_1():\n"
                    "    assert calc.twice(3) == 6\n"
                    "```\n"
                    "Critiques of your patch:\n"
                    "- reviewer-1 (major): twice(3) returns 3\n"
                    "Improve your change: fix the failing tests and the critiques' points (a "
                    "test marked distrusted may itself be wrong).\n"
                    "Now write the edits that implement the task in the repository above: "
                    "every function you change with its complete new body (not the current "
                    "code repeated)."
                ),
            ],
        ],
    ],
    "qa_write_examples": [
        [
            [
                "system",
                "You are a developer.",
            ],
            [
                "user",
                (
                    "You are qa-1.\n"
                    "\n"
                    "Task: Implement twice\n"
                    "\n"
                    "```python\n"
                    "def twice(x):\n"
                    '    """Return x doubled."""\n'
                    "```\n"
                    "\n"
                    "Examples already given:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "\n"
                    "Write 6 NEW examples of calling twice with other inputs (edge cases the "
                    "description mentions, small inputs), one per line, exactly in the form\n"
                    "twice(ARGS) returns VALUE\n"
                    "where ARGS and VALUE are Python literals. Work out each value carefully "
                    "from the description. Only the 6 lines, nothing else."
                ),
            ],
        ],
    ],
    "qa_write_tests": [
        [
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
                    "You are qa-1.\n"
                    "\n"
                    "Task: Implement twice\n"
                    "Write pytest tests in a new file tests/test_t1_qa_1.py that prove these "
                    "acceptance criteria:\n"
                    "- twice(5) returns 10\n"
                    "Import the code under test from the module where it is (or belongs) in "
                    "the repository. Each test asserts one concrete input and its expected "
                    "result. Do not change other files."
                ),
            ],
        ],
    ],
    "rationale_with_imports": "Use islice. (imports added by code: m.py: import itertools)",
    "retry_continues_first": [
        [
            [
                "system",
                "You are a careful software developer. You change code by writing edit blocks.",
            ],
            [
                "user",
                "The function `twice` in `calc.py` has no body yet. The file:\n"
                "```python\n"
                "def twice(x):\n"
                '    """Return x doubled."""\n'
                "```\n"
                "An earlier attempt failed: tests/test_acc.py::test_twice_1: assert "
                "3 == 6\n"
                "The failing test:\n"
                "```python\n"
                "# tests/test_acc.py::test_twice_1\n"
                "def test_twice_1():\n"
                "    assert calc.twice(3) == 6\n"
                "```\n"
                "Write the complete function `twice`: its body must do what its "
                "docstring says.",
            ],
            ["assistant", 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n'],
        ]
    ],
    "revise_notes": [
        "The other candidates:",
        (
            "### developer-2: passes 1/1 tests\n"
            "--- a/calc.py\n"
            "+++ b/calc.py\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    y = x\n"
            "+    \n"
            "... (clipped)"
        ),
        ("### developer-3: no test results\n(no patch)\n- FAILS build failed: syntax error"),
        "Your current patch (passes 0/1 tests):",
        ("--- a/calc.py\n+++ b/calc.py\n+    return x\n"),
        ("- FAILS tests/test_acc.py::test_twice_1 [distrusted: no candidate passes it]: 3 != 6"),
        ("- FAILS tests/test_qa.py::test_ex [QA's example: may itself be wrong]: 1 != 2"),
        (
            "The failing test:\n"
            "```python\n"
            "# tests/test_acc.py::test_twice_1\n"
            "def test_twice_1():\n"
            "    assert calc.twice(3) == 6\n"
            "```"
        ),
        "- DIFFERS on twice(4): 4 here, developer-2's 8",
        "Critiques of your patch:",
        "- reviewer-1 (major): twice(3) returns 3",
        (
            "Improve your change: fix the failing tests and the critiques' points (a "
            "test marked distrusted may itself be wrong). Where candidates return "
            "different values (DIFFERS), work out from the task what the right "
            "result for that input is, and make your code return it."
        ),
    ],
    "revise_notes_no_patch": [
        "Your current patch (not tested):",
        "(none: your last attempt failed)",
        "Improve your change: fix the failing tests (a test marked distrusted may "
        "itself be wrong).",
    ],
    "still_empty": [
        "calc.py: the edits change nothing in twice: it still has no body (your reply "
        "repeats the current code; write the new code that does the task)",
        [
            [
                [
                    "system",
                    "You are a careful software developer. You change code by writing edit blocks.",
                ],
                [
                    "user",
                    "ctx\n"
                    "\n"
                    "Reply with your change as edit blocks. For each change write the file path "
                    "on its own line, then:\n"
                    "<<<<<<< SEARCH\n"
                    "lines copied exactly from the current file\n"
                    "=======\n"
                    "the new lines\n"
                    ">>>>>>> REPLACE\n"
                    "To create a new file, leave the SEARCH part empty. To rewrite a whole "
                    "function you may instead write the file path on its own line, then a "
                    "```python block with the complete new function.\n"
                    "Example (for a file path/to/example.py that is not in this repository; use "
                    "the real paths):\n"
                    "path/to/example.py\n"
                    "<<<<<<< SEARCH\n"
                    "def greet(name):\n"
                    '    return "Hello"\n'
                    "=======\n"
                    "def greet(name):\n"
                    '    return f"Hello, {name}"\n'
                    ">>>>>>> REPLACE",
                ],
            ],
            [
                [
                    "system",
                    "You are a careful software developer. You change code by writing edit blocks.",
                ],
                [
                    "user",
                    "The function `twice` in `calc.py` has no body yet. The file:\n"
                    "```python\n"
                    "def twice(x):\n"
                    '    """Return x doubled."""\n'
                    "```\n"
                    "Write the complete function `twice`: its body must do what its docstring "
                    "says.",
                ],
                ["assistant", 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n'],
            ],
        ],
    ],
    "story_instruction": "Task: Implement twice\n"
    "Acceptance criteria:\n"
    "- twice(3) returns 6\n"
    "- twice(0) returns 0\n"
    "Functions that have no body yet: calc.py: twice\n"
    "The team decided: return x\n"
    "The last attempt failed; fix this:\n"
    "- tests/test_acc.py::test_twice_1: assert 3 == 6\n"
    "The failing test:\n"
    "```python\n"
    "# tests/test_acc.py::test_twice_1\n"
    "def test_twice_1():\n"
    "    assert calc.twice(3) == 6\n"
    "```\n"
    "Now write the edits that implement the task in the repository above: every "
    "function you change with its complete new body (not the current code "
    "repeated).",
    "summary": "change a.py, b.py",
    "summary_nothing": "change the code",
    "tests_job": "Write pytest tests in a new file tests/test_x.py that prove these acceptance "
    "criteria:\n"
    "- f(1) returns 2\n"
    "Import the code under test from the module where it is (or belongs) in the "
    "repository. Each test asserts one concrete input and its expected result. Do not "
    "change other files.",
    "unchanged_line_request": [
        [
            [
                "system",
                ("You are a careful software developer. You change code by writing edit blocks."),
            ],
            [
                "user",
                (
                    "ctx\n"
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
                    ">>>>>>> REPLACE"
                ),
            ],
        ],
        [
            [
                "system",
                ("You are a careful software developer. You change code by writing edit blocks."),
            ],
            [
                "user",
                (
                    "ctx\n"
                    "\n"
                    "Reply with the fix as the wrong line and its correction, in this form:\n"
                    "<the file path>\n"
                    "WRONG: <the one line of the code above that makes it behave as "
                    "reported, copied exactly>\n"
                    "FIXED: <that line as it should read, with more lines under it if the "
                    "fix needs several>\n"
                    "Now find the line that makes the code behave as reported and write its "
                    "fix."
                ),
            ],
        ],
    ],
    "vote_listing": [
        [
            [
                "system",
                "You are a developer. Answer in JSON.",
            ],
            [
                "user",
                (
                    "## Context\n"
                    "Story s. Task: Implement twice\n"
                    "Acceptance criteria:\n"
                    "- twice(3) returns 6\n"
                    "- twice(0) returns 0\n"
                    "\n"
                    "## Proposals\n"
                    "1. [developer-1] return x (passes 0/1 tests; fails test_twice_1, "
                    "test_ex)\n"
                    "2. [developer-2] x + x (passes 1/1 tests)\n"
                    "3. [developer-3] none (no test results: build failed: syntax error)\n"
                    "\n"
                    "You are developer-1.\n"
                    "\n"
                    "## Your job\n"
                    "Rank proposals 1 to 3, best first, and score each from 0 to 10."
                ),
            ],
        ],
    ],
}


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return prompts()


def test_every_scenario_is_recorded(built: dict[str, Any]) -> None:
    assert set(built) == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_prompt_is_byte_identical(built: dict[str, Any], name: str) -> None:
    assert _plain(built[name]) == GOLDEN[name]
