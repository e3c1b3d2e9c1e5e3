"""``fleet/patches/lines.py``: the line request's WRONG/FIXED pairs become edit blocks at the
faulty line's place, read as the fleet applies edits."""

from __future__ import annotations

from fleet.patches import EditError, apply_edits, parse_edits
from fleet.patches.lines import line_blocks

FILES = {
    "pkg/m.py": "def f(a, b):\n    if a >= b:\n        return 1\n    return 0\n",
    "tests/test_m.py": "def test_x():\n    pass\n",
}


def _applied(reply: str) -> dict[str, str] | None:
    edits = parse_edits(line_blocks(reply, FILES))
    try:
        return apply_edits(dict(FILES), edits)
    except EditError:
        return None


def test_a_wrong_line_and_its_fix_become_an_edit_at_the_line_s_indentation() -> None:
    got = _applied("Here:\npath/to/pkg/m.py\nWRONG: if a >= b:\nFIXED: if a + 1 >= b:\n")
    assert got is not None
    assert got["pkg/m.py"] == "def f(a, b):\n    if a + 1 >= b:\n        return 1\n    return 0\n"


def test_lines_under_fixed_keep_their_nesting_relative_or_absolute() -> None:
    relative = "pkg/m.py\nWRONG: return 0\nFIXED: if a < 0:\n    return -1\nreturn 0\n"
    absolute = "pkg/m.py\nWRONG: return 0\nFIXED: if a < 0:\n        return -1\n    return 0\n"
    want = "def f(a, b):\n    if a >= b:\n        return 1\n    if a < 0:\n        return -1\n    return 0\n"
    assert _applied(relative) == {**FILES, "pkg/m.py": want}
    assert _applied(absolute) == {**FILES, "pkg/m.py": want}


def test_a_wrong_line_no_file_holds_or_an_unchanged_one_edits_nothing() -> None:
    assert line_blocks("pkg/m.py\nWRONG: return 2\nFIXED: return 3\n", FILES) == ""
    echo = _applied("pkg/m.py\nWRONG: return 0\nFIXED: return 0\n")
    assert echo is None or echo == FILES


def test_a_path_in_brackets_names_the_file_that_holds_the_line() -> None:
    files = {**FILES, "other/m.py": FILES["pkg/m.py"]}
    got = line_blocks("<pkg/m.py>\nWRONG: return 0\nFIXED: return 1\n", files)
    assert got.startswith("pkg/m.py\n")
    assert line_blocks("<other/m.py>\nWRONG: return 0\nFIXED: return 1\n", files).startswith(
        "other/"
    )


def test_the_next_pair_s_path_line_ends_the_fixed_lines() -> None:
    # seen from the 1.5B: pairs with no blank line between them, each under its path
    reply = "<pkg/m.py>\nWRONG: return 1\nFIXED: return 2\n<pkg/m.py>\nWRONG: return 0\nFIXED: return -1\n"
    got = _applied(reply)
    assert got is not None and "<pkg" not in got["pkg/m.py"]
    assert got["pkg/m.py"] == "def f(a, b):\n    if a >= b:\n        return 2\n    return -1\n"
