"""write_patch: the model's edits become a checked Patch, with one retry on a bad edit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from fleet.agents import EDIT_FORMAT, PatchFailed, author_messages, write_patch
from fleet.agents.author import looped
from fleet.contracts import ChatMessage, ChatResponse, Patch
from fleet.testing.fakes import ScriptedChatModel

FILES = {"calc/ops.py": "def add(a, b):\n    return a - b\n"}
GOOD = "Fix add.\ncalc/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
BAD = "calc/ops.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n"


class Replies:
    """A script answering with the given replies in turn, recording what it was asked."""

    def __init__(self, *replies: str) -> None:
        self.replies, self.seen = list(replies), []

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        self.seen.append(list(messages))
        return self.replies.pop(0)


class Refuse:
    def check(self, patch: Patch) -> str | None:
        return "the diff does not apply: patch failed: calc/ops.py:1"


def test_good_edit_becomes_a_patch_with_rationale_and_format_in_prompt() -> None:
    script = Replies(GOOD)
    patch = write_patch(ScriptedChatModel(script=script), author_messages("ctx"), FILES,
                        base_commit="c0ffee")  # fmt: skip
    assert patch.files == ("calc/ops.py",) and "+    return a + b" in patch.diff
    assert patch.rationale == "Fix add." and patch.base_commit == "c0ffee"
    assert EDIT_FORMAT in script.seen[0][1].content


def test_a_bad_edit_is_fed_back_once_with_the_reason() -> None:
    script = Replies(BAD, GOOD)
    bare = [ChatMessage(role="user", content="fix add in calc/ops.py")]
    patch = write_patch(ScriptedChatModel(script=script), bare, FILES, base_commit="c")
    assert "+    return a + b" in patch.diff
    retry = script.seen[1]
    assert EDIT_FORMAT in retry[0].content  # added when the caller's messages lacked it
    assert retry[-2].content == BAD and "not in the file" in retry[-1].content


def test_still_bad_after_the_retry_raises_with_the_reason() -> None:
    with pytest.raises(PatchFailed) as err:
        write_patch(ScriptedChatModel(script=Replies(BAD, BAD)), author_messages("c"), FILES,
                    base_commit="c")  # fmt: skip
    assert "not in the file" in err.value.reason and err.value.raw == BAD


def test_the_checker_refusal_is_fed_back() -> None:
    script = Replies(GOOD, GOOD)
    with pytest.raises(PatchFailed) as err:
        write_patch(ScriptedChatModel(script=script), author_messages("c"), FILES,
                    base_commit="c", check=Refuse())  # fmt: skip
    assert "does not apply" in err.value.reason and "does not apply" in script.seen[1][-1].content


STUB_FILES = {
    "solution.py": 'def trunc(x: float) -> float:\n    """The decimal part of x."""\n',
    "README.md": "Utilities.\n",
}
ECHO = "```python\n# solution.py\n" + STUB_FILES["solution.py"] + "```\n"


def test_an_echoed_stub_is_continued_not_corrected() -> None:
    # Qwen2.5-Coder-0.5B copies body-less functions back unchanged; asked to continue the
    # function (the reply begins with the stub), it writes the body.
    script = Replies(ECHO, "    return x - int(x)\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("ctx"), STUB_FILES,
                        base_commit="c")  # fmt: skip
    assert "+    return x - int(x)" in patch.diff and patch.files == ("solution.py",)
    ask = script.seen[1]
    assert ask[-1].role == "assistant"
    assert ask[-1].content == "solution.py\n```python\n" + STUB_FILES["solution.py"]
    assert "`trunc` in `solution.py` has no body yet" in ask[1].content  # a focused request
    assert STUB_FILES["solution.py"].strip() in ask[1].content and ECHO not in ask[1].content


def test_a_continuation_answered_with_the_whole_function_is_taken_as_it_is() -> None:
    whole = "```python\ndef trunc(x: float) -> float:\n    return x % 1\n```\n"
    patch = write_patch(ScriptedChatModel(script=Replies(ECHO, whole)), author_messages("c"),
                        STUB_FILES, base_commit="c")  # fmt: skip
    assert "+    return x % 1" in patch.diff


def test_a_continuation_that_still_writes_no_body_fails_with_the_reason() -> None:
    with pytest.raises(PatchFailed, match="change nothing"):
        write_patch(ScriptedChatModel(script=Replies(ECHO, "```\n")), author_messages("c"),
                    STUB_FILES, base_commit="c")  # fmt: skip


def test_a_stub_echoed_with_whitespace_changes_only_is_continued() -> None:
    # Qwen2.5-Coder-0.5B: a SEARCH/REPLACE block repeating the stub, a blank line added
    search = STUB_FILES["solution.py"]
    echo = f"solution.py\n<<<<<<< SEARCH\n{search}=======\n\n{search}>>>>>>> REPLACE\n"
    script = Replies(echo, "    return x - int(x)\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), STUB_FILES,
                        base_commit="c")  # fmt: skip
    assert "+    return x - int(x)" in patch.diff and script.seen[1][-1].role == "assistant"


def test_a_reply_that_writes_a_stub_out_but_changes_another_file_is_continued() -> None:
    # Qwen2.5-Coder-0.5B sampled hot: the stub repeated, and a test file "fixed" instead
    files = {**STUB_FILES, "tests/test_smoke.py": "def test_defined():\n    assert True\n"}
    reply = (
        ECHO + "tests/test_smoke.py\n<<<<<<< SEARCH\n    assert True\n=======\n    pass\n"
        ">>>>>>> REPLACE\n"
    )
    script = Replies(reply, "    return x - int(x)\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), files,
                        base_commit="c")  # fmt: skip
    assert patch.files == ("solution.py",) and "+    return x - int(x)" in patch.diff


def test_a_stub_echoed_in_the_last_correction_is_still_continued() -> None:
    # HumanEval/1 (2026-11-22): a SEARCH text not in the file, then the corrected reply echoed
    # the stub; the continuation that writes the body still comes (once).
    script = Replies(BAD.replace("calc/ops.py", "solution.py"), ECHO, "    return x % 1\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), STUB_FILES,
                        base_commit="c")  # fmt: skip
    assert "+    return x % 1" in patch.diff and script.seen[2][-1].role == "assistant"
    with pytest.raises(PatchFailed, match="change nothing"):  # and only once
        write_patch(ScriptedChatModel(script=Replies(BAD, ECHO, "```\n")), author_messages("c"),
                    STUB_FILES, base_commit="c")  # fmt: skip


# Qwen2.5-Coder-0.5B's reply to HumanEval/5's request: the prompt's tail repeated, its example too
PROMPT_ECHO = (
    "To create a new file, leave the SEARCH part empty.\nExample:\npath/to/example.py\n"
    '<<<<<<< SEARCH\ndef greet(name):\n    return "Hello"\n=======\ndef greet(name):\n'
    '    return f"Hello, {name}"\n>>>>>>> REPLACE\n\nTask: Implement trunc\n'
)


def test_a_reply_with_no_usable_edit_continues_the_function_the_task_asks_for() -> None:
    script = Replies(PROMPT_ECHO, "    return x - int(x)\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), STUB_FILES,
                        base_commit="c", focus=["trunc"])  # fmt: skip
    assert patch.files == ("solution.py",) and "+    return x - int(x)" in patch.diff
    assert script.seen[1][-1].role == "assistant" and "`trunc`" in script.seen[1][1].content


def test_without_a_focus_a_reply_with_no_usable_edit_gets_the_reason() -> None:
    script = Replies(PROMPT_ECHO, "    return x - int(x)\n```\n")
    with pytest.raises(PatchFailed):
        write_patch(ScriptedChatModel(script=script), author_messages("c"), STUB_FILES,
                    base_commit="c", focus=["other"])  # fmt: skip
    assert "path/to/example.py: no such file" in script.seen[1][-1].content


def test_the_continuation_is_tried_once_then_the_request_is_asked_again() -> None:
    script = Replies(PROMPT_ECHO, "```\n", GOOD_TRUNC)
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), STUB_FILES,
                        base_commit="c", focus=["trunc"], retries=2)  # fmt: skip
    assert "+    return x % 1" in patch.diff
    # the continuation changed nothing: the first request again, not a correction showing it
    assert script.seen[2] == script.seen[0]


GOOD_TRUNC = "solution.py\n```python\ndef trunc(x: float) -> float:\n    return x % 1\n```\n"


def test_a_retry_with_findings_asks_for_the_continuation_first() -> None:
    script = Replies("    return x % 1\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), STUB_FILES,
                        base_commit="c", focus=["trunc"],
                        notes=["failing test test_trunc_1: assert 3 == 0.5"])  # fmt: skip
    assert "+    return x % 1" in patch.diff and len(script.seen) == 1
    ask = script.seen[0]
    assert (
        ask[-1].role == "assistant" and "An earlier attempt failed: failing test" in ask[1].content
    )


def test_a_retry_with_findings_but_no_stub_asked_for_is_the_ordinary_request() -> None:
    script = Replies(GOOD)
    write_patch(ScriptedChatModel(script=script), author_messages("c"), FILES, base_commit="c",
                focus=["trunc"], notes=["failing test"])  # fmt: skip
    assert script.seen[0][-1].role == "user" and EDIT_FORMAT in script.seen[0][-1].content


def test_a_continuation_in_a_long_file_shows_the_imports_and_the_stub_not_the_whole_file() -> None:
    filler = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(600))
    files = {"big.py": "import os\n\n\n" + filler + STUB_FILES["solution.py"]}
    script = Replies("    return x - int(x)\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), files,
                        base_commit="c", focus=["trunc"], notes=["failing"])  # fmt: skip
    ask = script.seen[0][1].content
    assert len(ask) < 8000 and "import os" in ask and '"""The decimal part of x."""' in ask
    assert "def f599(x)" in ask and "def f0(x)" not in ask
    assert "+    return x - int(x)" in patch.diff


def test_a_broken_edit_to_a_test_file_is_dropped_when_the_code_edits_apply() -> None:
    reply = (
        "```python\n# calc/ops.py\ndef add(a, b):\n    return a + b\n\n"
        "# tests/test_ops.py\ndef test_add():\n    assert add(1, 2) == 3.0.0\n```\n"
    )
    files = {**FILES, "tests/test_ops.py": "def test_add():\n    pass\n"}
    patch = write_patch(ScriptedChatModel(script=Replies(reply)), author_messages("c"), files,
                        base_commit="c")  # fmt: skip
    assert patch.files == ("calc/ops.py",) and "+    return a + b" in patch.diff


def test_a_broken_edit_to_code_still_fails_the_reply() -> None:
    reply = "```python\n# calc/ops.py\ndef add(a, b):\n    return a +\n```\n"
    with pytest.raises(PatchFailed, match="parse"):
        write_patch(ScriptedChatModel(script=Replies(reply, reply)), author_messages("c"), FILES,
                    base_commit="c")  # fmt: skip


def test_a_reply_with_no_usable_edit_gets_the_new_function_the_task_calls_continued() -> None:
    from fleet.agents.request import asked_for

    files = {"calc/ops.py": "def add(a, b):\n    return a + b\n"}
    focus = asked_for(["Add divide next to add", "divide(6, 3) returns 2.0"], files)
    script = Replies(PROMPT_ECHO, ":\n    return a / b\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), files,
                        base_commit="c", focus=focus)  # fmt: skip
    assert patch.files == ("calc/ops.py",)
    assert "+def divide(a, b):\n+    return a / b" in patch.diff and " def add(a, b):" in patch.diff
    ask = script.seen[1]
    assert ask[-1].role == "assistant" and ask[-1].content.endswith("```python\ndef divide(a, b)")
    assert "Add a new function `divide` to `calc/ops.py`" in ask[1].content
    assert "divide(6, 3) returns 2.0" in ask[1].content


def test_a_reply_that_repeats_the_code_gets_the_new_function_continued() -> None:
    from fleet.agents.request import asked_for

    files = {"calc/ops.py": "def add(a, b):\n    return a + b\n"}
    focus = asked_for(["Add divide next to add", "divide(6, 3) returns 2.0"], files)
    echo = "calc/ops.py\n```python\n" + files["calc/ops.py"] + "```\n"
    script = Replies(echo, ":\n    return a / b\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), files,
                        base_commit="c", focus=focus)  # fmt: skip
    assert "+def divide(a, b):" in patch.diff and script.seen[1][-1].role == "assistant"


def test_a_new_function_is_exported_the_way_its_package_exports_its_siblings() -> None:
    from fleet.agents.request import asked_for

    files = {
        "calc/__init__.py": 'from calc.ops import add\n\n__all__ = ["add"]\n',
        "calc/ops.py": "def add(a, b):\n    return a + b\n",
    }
    focus = asked_for(["Add divide next to add", "divide(6, 3) returns 2.0"], files)
    script = Replies(PROMPT_ECHO, ":\n    return a / b\n```\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), files,
                        base_commit="c", focus=focus)  # fmt: skip
    assert patch.files == ("calc/__init__.py", "calc/ops.py")
    assert "+from calc.ops import add, divide" in patch.diff
    assert '+__all__ = ["add", "divide"]' in patch.diff


# ------------------------------------------------------------------ the request object


class Seen:
    """A script recording the sampling of each call, answering GOOD after one BAD."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, int | None, int]] = []

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> Any:
        self.calls.append((kw["temperature"], kw["seed"], kw["max_tokens"]))
        text = BAD if len(self.calls) == 1 else GOOD
        return ScriptedChatModel(script=lambda m, s: text).complete(messages)


def test_a_request_object_and_the_keyword_form_ask_the_same() -> None:
    from fleet.agents import PatchRequest, SamplingOptions, write_change

    one, two = Seen(), Seen()
    ask = author_messages("ctx")
    by_object = write_change(
        one,
        PatchRequest(ask, FILES, base_commit="c0"),
        sampling=SamplingOptions(temperature=0.1, seed=5, max_tokens=99),
    )
    by_keywords = write_change(
        two, ask, FILES, base_commit="c0", temperature=0.1, seed=5, max_tokens=99
    )
    assert by_object == by_keywords and "+    return a + b" in by_object[0].diff
    # the correction is sampled hotter, with the next seed: the options reach every call
    assert one.calls == two.calls == [(0.1, 5, 99), (0.6, 6, 99)]


def test_mixing_the_forms_or_an_unknown_option_is_refused() -> None:
    from fleet.agents import PatchRequest

    request = PatchRequest(author_messages("ctx"), FILES, base_commit="c")
    model = ScriptedChatModel(script=Replies(GOOD))
    with pytest.raises(TypeError, match="alone"):
        write_patch(model, request, temperature=0.5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unknown write_patch option"):
        write_patch(model, author_messages("c"), FILES, base_commit="c", tempreature=0.5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="base_commit"):
        write_patch(model, author_messages("c"), FILES)


def test_no_function_in_the_agents_package_takes_more_than_six_parameters() -> None:
    import ast
    from pathlib import Path

    import fleet.agents

    root = Path(fleet.agents.__file__).parent
    wide = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                if len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) > 6:
                    wide.append(f"{path.name}:{node.name}")
    assert not wide and len(list(root.glob("*.py"))) >= 6


# --------------------------------------------------------------------- the model's profile


def _profile(**fields: Any) -> Any:
    from fleet.config import ModelProfile

    return ModelProfile.model_validate(fields)


def test_without_stub_continuation_an_echoed_stub_is_asked_again_not_continued() -> None:
    script = Replies(ECHO, ECHO)
    with pytest.raises(PatchFailed, match="change nothing"):
        write_patch(ScriptedChatModel(script=script), author_messages("c"), STUB_FILES,
                    base_commit="c", focus=["trunc"], profile=_profile(stub_continuation=False))  # fmt: skip
    assert script.seen[1] == script.seen[0]  # the request again, no prefill


SAME = "calc/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a - b\n>>>>>>> REPLACE\n"


class Asked:
    """A script recording each request's messages and sampling, answering in turn."""

    def __init__(self, *replies: str) -> None:
        self.replies, self.calls = list(replies), []

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> Any:
        self.calls.append((list(messages), kw["temperature"], kw["seed"]))
        text = self.replies.pop(0)
        return ScriptedChatModel(script=lambda m, s: text).complete(messages)


def test_a_reply_that_repeats_the_code_is_asked_afresh_hot_with_a_seed_of_its_own() -> None:
    """Shown its own echo in a correction, the 1.5B echoed again in 14 of 14 corrections of the
    bench_agents traces (first replies at T=0.7 echoed in 2 of 19): the request is asked again
    as it was first asked, at the correction temperature, with the next seed."""
    asked = Asked(SAME, GOOD)
    no_line = {"line_after_echo": False}
    patch = write_patch(asked, author_messages("c"), FILES, base_commit="c", seed=7,
                        profile=_profile(repairs=no_line))  # fmt: skip
    assert "+    return a + b" in patch.diff
    (first, t0, s0), (again, t1, s1) = asked.calls
    assert again == first and (t0, s0) == (0.0, 7) and (t1, s1) == (0.6, 8)
    # with the repair off, a correction shows the echo and says why
    old = Asked(SAME, GOOD)
    write_patch(old, author_messages("c"), FILES, base_commit="c",
                profile=_profile(repairs={"resample_echoes": False, **no_line}))  # fmt: skip
    shown = old.calls[1][0]
    assert shown[-2].content == SAME and "change nothing" in shown[-1].content


def test_a_reply_that_repeats_existing_code_is_followed_by_the_line_request() -> None:
    """After an echo of existing code the model is asked for the faulty line and its correction
    (bench_trace.py: the 1.5B fixed 2 of the 9 bug tasks its greedy edit blocks left unchanged,
    resampled edit blocks none), decoded like a first request; the pair becomes the edit."""
    asked = Asked(SAME, "calc/ops.py\nWRONG: return a - b\nFIXED: return a + b\n")
    patch = write_patch(asked, author_messages("c", instruction="Fix add."), FILES,
                        base_commit="c", seed=7)  # fmt: skip
    assert "-    return a - b\n+    return a + b" in patch.diff
    (first, t0, s0), (line, t1, s1) = asked.calls
    assert (t0, s0) == (0.0, 7) and (t1, s1) == (0.0, 8)
    assert EDIT_FORMAT in first[-1].content and EDIT_FORMAT not in line[-1].content
    assert "WRONG: <the one line" in line[-1].content
    assert line[-1].content.endswith("write its fix.")
    assert "Fix add." in line[-1].content


def test_the_line_request_asks_in_place_of_the_instruction_to_write_edits() -> None:
    """One instruction, as bench_trace.py measured it: not "write the edits" and then "find the
    line" (a retry's echo in the 7e24377 run repeated that pair of instructions back)."""
    from fleet.prompts import render

    write = render("request.write")
    asked = Asked(SAME, "calc/ops.py\nWRONG: return a - b\nFIXED: return a + b\n")
    write_patch(asked, author_messages("c", instruction=f"Fix add.\n{write}"), FILES,
                base_commit="c", seed=7)  # fmt: skip
    (first, _, _), (line, _, _) = asked.calls
    assert write in first[-1].content and write not in line[-1].content
    assert line[-1].content.endswith("Fix add.\n" + render("author.line_ask"))


def test_the_line_request_comes_once_and_a_reply_without_a_pair_fails_as_before() -> None:
    asked = Asked(SAME, "The code is right.", GOOD)
    with pytest.raises(PatchFailed):
        write_patch(asked, author_messages("c"), FILES, base_commit="c")
    assert len(asked.calls) == 2  # the line request replaced the resample: no third call
    again = Asked(SAME, "calc/ops.py\nWRONG: return a - b\nFIXED: return a - b\n", SAME)
    with pytest.raises(PatchFailed, match="change nothing"):
        write_patch(again, author_messages("c"), FILES, base_commit="c", retries=2)
    assert len(again.calls) == 3  # an unchanged line: asked afresh after it, not lined again
    assert EDIT_FORMAT in again.calls[2][0][-1].content


BROKEN = ("calc/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n"
          "    return a or lambda: b\n>>>>>>> REPLACE\n")  # fmt: skip
BLOCK = "calc/ops.py\n```python\ndef add(a, b)\n    return a + b\n```\n"
# the fault is not in the new lines: an `if` whose body the reply left out
UNDER = "calc/ops.py\n<<<<<<< SEARCH\ndef add(a, b):\n=======\ndef add(a, b):\n    if a:\n>>>>>>> REPLACE\n"


@pytest.mark.parametrize("broken", [BROKEN, BLOCK], ids=["search-replace", "code-block"])
def test_a_reply_whose_new_code_does_not_parse_is_asked_afresh(broken: str) -> None:
    """Told which of its new lines does not parse, the 1.5B wrote the same line again in 10 of
    11 corrections of the bench_agents traces (no first reply at T=0.7 wrote it, 0 of 19): the
    request is asked again as first asked, hot, with the next seed."""
    asked = Asked(broken, GOOD)
    patch = write_patch(asked, author_messages("c"), FILES, base_commit="c", seed=3)
    assert "+    return a + b" in patch.diff
    (first, _, _), (again, t1, s1) = asked.calls
    assert again == first and (t1, s1) == (0.6, 4)
    old = Asked(broken, GOOD)  # with the repair off: a correction naming the fault
    write_patch(old, author_messages("c"), FILES, base_commit="c",
                profile=_profile(repairs={"resample_syntax_errors": False}))  # fmt: skip
    shown = old.calls[1][0]
    assert shown[-2].content == broken and "does not parse" in shown[-1].content


def test_a_syntax_error_outside_the_new_lines_is_still_corrected() -> None:
    asked = Asked(UNDER, GOOD)
    write_patch(asked, author_messages("c"), FILES, base_commit="c")
    shown = asked.calls[1][0]
    assert shown[-2].content == UNDER and "does not parse" in shown[-1].content
    assert "the line is your new code" not in shown[-1].content


class Limited(Asked):
    """``Asked``, its replies but GOOD stopped at their token limit (``truncated``)."""

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
        got: ChatResponse = super().complete(messages, **kw)
        cut = got.text != GOOD
        return got.model_copy(update={"truncated": cut, "completion_tokens": kw["max_tokens"]})


# GOOD, then the limit cuts the next block inside its REPLACE part: read whole, that block
# would replace `def add(a, b):` by `def add(a` (a file that does not parse)
CUT = GOOD + "\ncalc/ops.py\n<<<<<<< SEARCH\ndef add(a, b):\n=======\ndef add(a"
OPEN = (
    "```python\n# calc/ops.py\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return ("
)


def test_a_reply_cut_at_its_token_limit_keeps_its_finished_edits() -> None:
    patch = write_patch(Limited(CUT), author_messages("c"), FILES, base_commit="c")
    assert "+    return a + b" in patch.diff and "def add(a\n" not in patch.diff
    with pytest.raises(PatchFailed, match="does not parse"):  # the same text, ended by the model
        write_patch(Asked(CUT, CUT), author_messages("c"), FILES, base_commit="c")


def test_a_cut_reply_with_no_finished_edit_is_asked_afresh() -> None:
    """The limit cut 50 developer replies of the bench_agents traces (1,024 tokens, a whole module
    copied or one block looped): the correction that showed such a reply began with the same
    text in 17 of 31. No edit of it is finished: the request is asked again as first asked."""
    limited = Limited(OPEN, GOOD)
    patch = write_patch(limited, author_messages("c"), FILES, base_commit="c", seed=5)
    assert "+    return a + b" in patch.diff
    (first, _, _), (again, t1, s1) = limited.calls
    assert again == first and (t1, s1) == (0.6, 6)
    old = Limited(OPEN, GOOD)  # with the repair off: a correction that says the reply was cut
    write_patch(old, author_messages("c"), FILES, base_commit="c",
                profile=_profile(repairs={"resample_cut_replies": False}))  # fmt: skip
    shown = old.calls[1][0]
    assert shown[-2].content == OPEN and "cut off at its limit of 1024 tokens" in shown[-1].content


def test_the_profile_sets_corrections_and_the_correction_temperature() -> None:
    seen = Seen()
    profile = _profile(temperatures={"first": 0.1, "correction_floor": 0.9}, corrections=2)
    write_patch(seen, author_messages("c"), FILES, base_commit="c", profile=profile)
    assert [t for t, _, _ in seen.calls] == [0.1, 0.9]
    with pytest.raises(PatchFailed):
        write_patch(ScriptedChatModel(script=Replies(BAD)), author_messages("c"), FILES,
                    base_commit="c", profile=_profile(corrections=0))  # fmt: skip
    script = Replies(BAD, BAD, GOOD)
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), FILES,
                        base_commit="c", profile=_profile(corrections=2))  # fmt: skip
    assert "+    return a + b" in patch.diff and len(script.seen) == 3


def test_strict_repairs_keep_a_broken_test_edit_and_forgotten_imports_as_they_are() -> None:
    files = {**FILES, "tests/test_ops.py": "def test_add():\n    assert True\n"}
    broken = GOOD + "tests/test_ops.py\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n"
    assert write_patch(ScriptedChatModel(script=Replies(broken)), author_messages("c"), files,
                       base_commit="c").files == ("calc/ops.py",)  # fmt: skip
    strict = _profile(repairs={"drop_broken_test_edits": False, "add_missing_imports": False})
    with pytest.raises(PatchFailed, match="not in the file"):
        write_patch(ScriptedChatModel(script=Replies(broken, broken)), author_messages("c"),
                    files, base_commit="c", profile=strict)  # fmt: skip
    uses = "m.py\n```python\ndef f(xs):\n    return list(itertools.islice(xs, 2))\n```\n"
    patch = write_patch(ScriptedChatModel(script=Replies(uses)), author_messages("c"),
                        {"m.py": "def f(xs):\n    return xs\n"}, base_commit="c", profile=strict)  # fmt: skip
    assert "import itertools" not in patch.diff


def test_the_profile_names_the_edit_format_template_the_model_reads() -> None:
    from fleet.prompts import render

    script = Replies(GOOD)
    bare = [ChatMessage(role="user", content="fix add")]
    write_patch(ScriptedChatModel(script=script), bare, FILES, base_commit="c",
                profile=_profile(edit_format="loop.format"))  # fmt: skip
    assert render("loop.format") in script.seen[0][0].content
    assert EDIT_FORMAT not in script.seen[0][0].content


def test_the_profile_bounds_the_file_a_continuation_request_shows() -> None:
    filler = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(60))
    files = {"solution.py": "import math\n\n\n" + filler + STUB_FILES["solution.py"]}
    shown = []
    for profile in (None, _profile(continuation_chars=600)):
        script = Replies(ECHO, "    return x - int(x)\n```\n")
        write_patch(ScriptedChatModel(script=script), author_messages("c"), files,
                    base_commit="c", profile=profile)  # fmt: skip
        shown.append(script.seen[1][1].content)
    assert "def f0(x)" in shown[0] and "def f0(x)" not in shown[1]
    assert "import math" in shown[1] and "def f59(x)" in shown[1]  # its imports, the lines before


def test_a_reply_that_only_names_its_file_before_the_edit_has_no_rationale() -> None:
    # the summary then names the file as the applier resolved it, not the model's path line
    reply = GOOD.split("\n", 1)[1]  # the path line, then the edit
    patch = write_patch(ScriptedChatModel(script=Replies(reply)), author_messages("ctx"), FILES,
                        base_commit="c0ffee")  # fmt: skip
    assert patch.rationale == "" and patch.files == ("calc/ops.py",)
    for prose in ("Fix add.", "Fix add in calc/ops.py"):  # prose naming a file stays
        assert write_patch(ScriptedChatModel(script=Replies(f"{prose}\n{reply}")),
                           author_messages("ctx"), FILES, base_commit="c").rationale == prose  # fmt: skip


LOOP_FILES = {
    "funcy/flow.py": 'def retry(call, tries):\n    """Retries."""\n'
    "    for attempt in range(tries):\n        if attempt >= tries:\n            raise\n"
}
FIX = "<<<<<<< SEARCH\n        if attempt >= tries:\n            raise\n=======\n" \
      "        if attempt >= tries - 1:\n            raise\n>>>>>>> REPLACE\n"  # fmt: skip


def test_a_reply_looping_on_one_block_until_its_token_limit_is_the_block_once() -> None:
    cut = "path/to/flow.py\n<<<<<<< SEARCH\n        if attempt >= tries:\n            raise\n" \
          "=======\n        if attem"  # fmt: skip
    reply = f"path/to/flow.py\n{FIX}\n" * 5 + cut
    patch = write_patch(ScriptedChatModel(script=Replies(reply)), author_messages("ctx"),
                        LOOP_FILES, base_commit="c")  # fmt: skip
    assert patch.diff.count("+        if attempt >= tries - 1:") == 1


def test_a_block_quoting_the_repository_map_is_dropped_when_the_reply_has_a_real_edit() -> None:
    mapped = "<<<<<<< SEARCH\ndef retry(call, tries)  # Retries.\n=======\n" \
             "def retry(call, tries)  # Retries, and raises on the last try.\n>>>>>>> REPLACE\n"  # fmt: skip
    reply = f"path/to/flow.py\n{mapped}\npath/to/flow.py\n{FIX}"
    patch = write_patch(ScriptedChatModel(script=Replies(reply)), author_messages("ctx"),
                        LOOP_FILES, base_commit="c")  # fmt: skip
    assert "+        if attempt >= tries - 1:" in patch.diff and "Retries, and" not in patch.diff
    # alone, the map quote is still an edit that does not apply: the model is told why
    alone = ScriptedChatModel(
        script=Replies(f"path/to/flow.py\n{mapped}", f"path/to/flow.py\n{FIX}")
    )
    patch = write_patch(alone, author_messages("ctx"), LOOP_FILES, base_commit="c")
    assert "+        if attempt >= tries - 1:" in patch.diff
    told = alone.script.seen[1][-1].content
    assert "it quotes the repository map" in told, told


def test_the_edit_formats_example_written_out_after_the_edit_is_dropped() -> None:
    """The 1.5B went on past its edit to write out the format's instructions with their example
    block (for ``path/to/example.py``, which no repository has): the edit applies alone."""
    from fleet.agents import EDIT_FORMAT

    tail = EDIT_FORMAT.split("\n", 1)[1]  # its instructions after the first line, example included
    reply = f"path/to/flow.py\n{FIX}\n{tail}"
    patch = write_patch(ScriptedChatModel(script=Replies(reply)), author_messages("ctx"),
                        LOOP_FILES, base_commit="c")  # fmt: skip
    assert "+        if attempt >= tries - 1:" in patch.diff and "greet" not in patch.diff
    assert "path/to/example.py" in reply and "def greet(name):" in reply


def test_a_reply_that_degenerated_into_one_repeated_line_gets_no_correction() -> None:
    """Asked to correct a reply that repeats one line to its token limit, the model repeats it:
    write_patch fails at once (one call), where an ordinary bad edit gets its correction."""
    loop = "path/to/calc/ops.py\n" * 40
    script = Replies(loop, GOOD)
    with pytest.raises(PatchFailed) as err:
        write_patch(ScriptedChatModel(script=script), author_messages("c"), FILES, base_commit="c")
    assert len(script.seen) == 1 and "no correction asked" in err.value.reason
    assert looped(loop) and not looped(GOOD * 12) and not looped("x = 1\n" * 9)


def test_a_degenerate_reply_is_still_followed_by_the_continuation_when_one_is_due() -> None:
    """A continuation is another request, not a correction: it still comes."""
    stub = {"calc/ops.py": 'def add(a, b):\n    """Sum."""\n'}
    script = Replies("path/to/calc/ops.py\n" * 40, "    return a + b\n")
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), stub,
                        base_commit="c", focus=("add",))  # fmt: skip
    assert len(script.seen) == 2 and "+    return a + b" in patch.diff


def test_an_unseeded_call_asks_again_with_a_seed_of_its_own() -> None:
    """A council member seeds an unseeded call with its own seed (``Sampling`` adds it): asked
    again with no seed, the member's hottest developer got its echo back at the same seed."""
    from fleet.council.patching import Sampling

    asked = Asked(SAME, GOOD)
    write_patch(Sampling(asked, temperature=0.7, seed=100), author_messages("c"), FILES,
                base_commit="c")  # fmt: skip
    assert [(t, s) for _, t, s in asked.calls] == [(0.7, 100), (0.7, 101)]


PLACEHOLDER = "calc/ops.py\n```\nobj['code']\n```"


def test_a_reply_that_holds_no_edit_is_asked_afresh() -> None:
    """A path and a code block of a template placeholder (``obj['code']``, the 1.5B's first reply
    on two development tasks): shown it in a correction, the model wrote it again in 3 of 3
    (bench_agents trace at 549a530). The request is asked again as first asked, hot, next seed."""
    asked = Asked(PLACEHOLDER, GOOD)
    patch = write_patch(asked, author_messages("c"), FILES, base_commit="c", seed=2)
    assert "+    return a + b" in patch.diff
    (first, _, _), (again, t1, s1) = asked.calls
    assert again == first and (t1, s1) == (0.6, 3)
    old = Asked(PLACEHOLDER, GOOD)  # with the repair off: a correction that shows the reply
    write_patch(old, author_messages("c"), FILES, base_commit="c",
                profile=_profile(repairs={"resample_no_edits": False}))  # fmt: skip
    shown = old.calls[1][0]
    assert shown[-2].content == PLACEHOLDER and "holds no edit" in shown[-1].content


REPORT_TEST = "tests/test_report_example.py"
REWRITTEN = (
    "tests/test_report_example.py\n<<<<<<< SEARCH\n    assert add(1, 2) == 3\n=======\n"
    "    assert add(1, 2) == -1\n>>>>>>> REPLACE\n"
)
COPIED = (  # a new copy under the edit format's example prefix
    "path/to/tests/test_report_example.py\n<<<<<<< SEARCH\n=======\n"
    "def test_add():\n    assert True\n>>>>>>> REPLACE\n"
)


@pytest.mark.parametrize("reply", [REWRITTEN, COPIED])
def test_a_reply_that_only_rewrites_the_kept_tests_is_corrected_to_change_the_code(
    reply: str,
) -> None:
    """Shown a failing evidence test, the 1.5B rewrote the test (11 of 29 developer replies of
    a council on more-itertools-collapse-levels held such a block, 5 nothing else): that is no
    change; the correction says the tests stay and the code changes."""
    files = {
        **FILES,
        REPORT_TEST: "from calc.ops import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    }
    script = Replies(reply, GOOD)
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), files,
                        base_commit="c", kept_tests=(REPORT_TEST,))  # fmt: skip
    assert patch.files == ("calc/ops.py",)
    told = script.seen[1][-1].content
    assert "change only the tests" in told and "the code they test must change" in told


def test_a_test_file_edited_beside_the_code_or_without_kept_tests_is_no_error() -> None:
    files = {
        **FILES,
        REPORT_TEST: "from calc.ops import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    }
    both = GOOD + "\n" + REWRITTEN
    patch = write_patch(ScriptedChatModel(script=Replies(both)), author_messages("c"), files,
                        base_commit="c", kept_tests=(REPORT_TEST,))  # fmt: skip
    assert set(patch.files) == {"calc/ops.py", REPORT_TEST}  # the suite strips the test's edit
    # a story whose deliverable is tests: with no kept tests a test-only reply is the change
    alone = write_patch(ScriptedChatModel(script=Replies(REWRITTEN)), author_messages("c"), files,
                        base_commit="c")  # fmt: skip
    assert alone.files == (REPORT_TEST,)
