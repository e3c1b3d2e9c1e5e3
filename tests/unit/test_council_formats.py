"""A council's developers take the model profile's ``council_formats`` in turn: developer-2 and
developer-3 are asked for whole functions where developer-1 writes SEARCH/REPLACE blocks
(different requests, different candidates); QA and the single developer keep the profile's own
edit format."""

from __future__ import annotations

from typing import Any

from fleet.agents import EDIT_FORMAT, author_messages, write_patch
from fleet.config.models import DEFAULT_PROFILE
from fleet.council import patching
from fleet.prompts import render
from fleet.testing.fakes import ScriptedChatModel
from tests.unit.test_write_patch import Replies

FILES = {"calc/ops.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"}
WHOLE = "calc/ops.py\n```python\ndef add(a, b):\n    return a + b\n```\n"


def _asked(developer: int, profile: Any = None) -> str:
    script = Replies(WHOLE)
    patch = write_patch(ScriptedChatModel(script=script), author_messages("## Code"), FILES,
                        base_commit="c", developer=developer, profile=profile)  # fmt: skip
    assert "-    return a - b\n+    return a + b\n" in patch.diff  # add rewritten, sub kept
    return "\n".join(m.content for m in script.seen[0])


def test_developer_2_is_asked_for_whole_functions_in_place_of_edit_blocks() -> None:
    asked = _asked(2)
    assert render("author.function_format") in asked
    assert EDIT_FORMAT not in asked and "<<<<<<< SEARCH" not in asked
    # in the place the edit format had: after the code, before the instruction
    assert asked.index("## Code") < asked.index("Reply with the complete new version")


def test_developer_3_writes_whole_functions_too_and_developer_4_edit_blocks_again() -> None:
    assert render("author.function_format") in _asked(3)
    assert EDIT_FORMAT in _asked(4) and render("author.function_format") not in _asked(4)


def test_developer_1_and_a_non_member_keep_the_edit_blocks() -> None:
    for n in (0, 1):
        asked = _asked(n)
        assert EDIT_FORMAT in asked and render("author.function_format") not in asked, n


def test_a_profile_without_council_formats_asks_every_developer_for_its_edit_format() -> None:
    plain = DEFAULT_PROFILE.model_copy(update={"council_formats": []})
    asked = _asked(2, plain)
    assert EDIT_FORMAT in asked and render("author.function_format") not in asked


def test_only_developers_are_numbered_for_a_format() -> None:
    assert patching.developer_number("developer-2@story-1") == 2
    assert patching.developer_number("qa-1") == 0 and patching.developer_number("architect") == 0


def test_a_profile_with_its_own_edit_format_keeps_it_for_every_developer() -> None:
    from fleet.config.models import ModelProfile

    own = ModelProfile(edit_format="loop.format")
    assert own.council_formats == []
    named = ModelProfile(edit_format="loop.format", council_formats=["author.function_format"])
    assert named.council_formats == ["author.function_format"]
    assert ModelProfile().council_formats == DEFAULT_PROFILE.council_formats != []
    script = Replies(WHOLE)
    write_patch(ScriptedChatModel(script=script), author_messages("## Code"), FILES,
                base_commit="c", developer=1, profile=own)  # fmt: skip
    assert render("loop.format") in "\n".join(m.content for m in script.seen[0])


BOXES = {
    "shapes.py": "class A:\n    def size(self):\n        return 1\n\n\n"
    "class B:\n    def size(self):\n        return 2\n"
}
BOTH = "shapes.py\n```python\ndef size(self):\n    return 3\n```\n"  # a method of A and of B
CLASS = "shapes.py\n```python\nclass A:\n    def size(self):\n        return 3\n```\n"


def _corrected(developer: int) -> str:
    script = Replies(BOTH, CLASS)
    patch = write_patch(ScriptedChatModel(script=script), author_messages("## Code"), BOXES,
                        base_commit="c", developer=developer)  # fmt: skip
    assert "-        return 1\n+        return 3\n" in patch.diff
    return script.seen[1][-1].content


def test_a_whole_function_developer_is_corrected_in_its_own_format() -> None:
    said = _corrected(2)
    assert "size is a method of A, B" in said
    assert "written out whole" in said and "a SEARCH part copies" not in said
    assert "a SEARCH part copies" in _corrected(1)  # the edit-block developer's correction
