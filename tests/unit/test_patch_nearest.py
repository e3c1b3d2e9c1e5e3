"""A SEARCH part that matches nothing: the correction shows the lines it most likely meant."""

from __future__ import annotations

import pytest

from fleet.agents import author_messages, write_patch
from fleet.patches import EditError, apply_edits, parse_edits
from fleet.patches.nearest import nearest
from fleet.testing.fakes import ScriptedChatModel

STRINGS = '''import re


def cut_prefix(s, prefix):
    """Cuts prefix from given string if it's present."""
    return s[len(prefix):] if s.startswith(prefix) else s


def cut_suffix(s, suffix):
    """Cuts suffix from given string if it's present."""
    return s[:-len(suffix)] if s.endswith(suffix) else s


@decorator
def retry(call, tries,
          errors=Exception,
):
    for attempt in range(tries):
        try:
            return call()
        except errors:
            pass
'''
CUT_SUFFIX = STRINGS.split("\n\n\n")[2].rstrip("\n")
RETRY = STRINGS.split("\n\n\n")[3].rstrip("\n")
# the 1.5B's misquote in the development runs: cut_suffix's header over cut_prefix's body
MISQUOTED = (
    'def cut_suffix(s, suffix):\n    """Cuts suffix from given string if it\'s present."""\n'
    "    return s[len(prefix):] if s.startswith(prefix) else s\n"
)


def test_a_def_line_in_the_search_names_the_function_shown():
    assert nearest(STRINGS, MISQUOTED) == CUT_SUFFIX
    # the repository map's line for a decorated function with a wrapped signature
    assert nearest(STRINGS, "def retry(call, tries)  # Retries.\n") == RETRY


def test_else_the_window_sharing_most_lines_starting_alike_and_nothing_when_none_is_close():
    search = "        try:\n            return call()\n        except errors:\n            raise\n"
    assert nearest(STRINGS, search) == (
        "        try:\n            return call()\n        except errors:\n            pass"
    )
    assert nearest(STRINGS, "x = 1\ny = 2\n") is None


def test_the_error_carries_the_lines_and_the_correction_shows_them():
    files = {"funcy/strings.py": STRINGS}
    bad = f"funcy/strings.py\n<<<<<<< SEARCH\n{MISQUOTED}=======\n    if not suffix:\n        return s\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError) as caught:
        apply_edits(files, parse_edits(bad))
    assert caught.value.fields["nearest"] == CUT_SUFFIX
    assert CUT_SUFFIX not in str(caught.value)  # logs and reports keep the one-line reason
    good = bad.replace(MISQUOTED, CUT_SUFFIX + "\n")
    seen: list[list] = []

    def script(messages, schema):
        seen.append(list(messages))
        return [bad, good][len(seen) - 1]

    write_patch(ScriptedChatModel(script=script), author_messages("ctx"), files, base_commit="c")
    correction = seen[1][-1].content
    assert "the SEARCH text is not in the file" in correction
    assert f"copy SEARCH lines from these):\n```python\n{CUT_SUFFIX}\n```" in correction


WRONG_FIX = (
    "def cut_suffix(s, suffix):\n    return s[len(suffix):] if s.startswith(suffix) else s\n"
)
RIGHT_FIX = "def cut_suffix(s, suffix):\n    return s[:-len(suffix)] if suffix and s.endswith(suffix) else s\n"


def block(search: str, replace: str) -> str:
    return f"funcy/strings.py\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_a_code_line_the_function_does_not_hold_is_misremembered_a_docstring_is_not():
    from fleet.patches.nearest import misremembered

    assert misremembered(STRINGS, MISQUOTED, ("cut_suffix",)) == (
        "return s[len(prefix):] if s.startswith(prefix) else s",
        CUT_SUFFIX,
    )
    paraphrased = CUT_SUFFIX.replace("Cuts suffix from", "Removes the suffix of")
    assert misremembered(STRINGS, paraphrased + "\n", ("cut_suffix",)) is None


def test_a_misquote_applies_its_whole_function_unless_asked_not_to():
    files = {"funcy/strings.py": STRINGS}
    edits = parse_edits(block(MISQUOTED, WRONG_FIX))
    applied = apply_edits(files, edits)["funcy/strings.py"]  # the default: trusted
    # written whole, its docstring left out: the one it had stays (fleet/patches/docstrings.py)
    doc = '    """Cuts suffix from given string if it\'s present."""\n'
    assert WRONG_FIX.replace("\n", "\n" + doc, 1) in applied
    with pytest.raises(EditError) as caught:
        apply_edits(files, edits, misquotes=False)
    assert caught.value.fields["reason"] == "misquoted"
    assert caught.value.fields["nearest"] == CUT_SUFFIX
    # a misquote of whitespace or docstring only is still trusted
    apply_edits(files, parse_edits(block(CUT_SUFFIX.replace("    ", "  ") + "\n", RIGHT_FIX)),
                misquotes=False)  # fmt: skip


def scripted(*replies: str) -> tuple[ScriptedChatModel, list[list]]:
    seen: list[list] = []

    def script(messages, schema):
        seen.append(list(messages))
        return replies[len(seen) - 1]

    return ScriptedChatModel(script=script), seen


def test_the_author_asks_again_showing_the_current_code_before_trusting_a_misquote():
    files = {"funcy/strings.py": STRINGS}
    model, seen = scripted(block(MISQUOTED, WRONG_FIX), block(CUT_SUFFIX + "\n", RIGHT_FIX))
    patch = write_patch(model, author_messages("ctx"), files, base_commit="c")
    assert "suffix and s.endswith(suffix)" in patch.diff
    correction = seen[1][-1].content
    assert (
        "the line 'return s[len(prefix):] if s.startswith(prefix) else s' is not in it"
        in correction
    )
    assert f"```python\n{CUT_SUFFIX}\n```" in correction


def test_when_the_correction_does_no_better_the_misquote_is_applied_as_written():
    files = {"funcy/strings.py": STRINGS}
    model, _ = scripted(block(MISQUOTED, WRONG_FIX), "I cannot do that.")
    patch = write_patch(model, author_messages("ctx"), files, base_commit="c")
    assert "+    return s[len(suffix):] if s.startswith(suffix) else s" in patch.diff
    # with no correction left (retries=0) it is applied at once, as before
    model, seen = scripted(block(MISQUOTED, WRONG_FIX))
    write_patch(model, author_messages("ctx"), files, base_commit="c", retries=0)
    assert len(seen) == 1
