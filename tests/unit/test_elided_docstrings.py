"""Code shown to a debugging or revising developer reads long unchanged docstrings as a
placeholder (``docstrings.elided``, through ``patching.own_code``), and whatever the developer
writes back from it -- a whole function, a SEARCH/REPLACE from the def line, or one quoting only
the placeholder and the lines it changes -- keeps the docstring in the file."""

from __future__ import annotations

from textwrap import dedent

import pytest

from fleet.contracts import Proposal
from fleet.council.patching import own_code
from fleet.patches import EditError, apply_edits, make_patch, parse_edits
from fleet.patches.docstrings import ELIDED, elided, unelided

BASE = '''import itertools


def padded(iterable, fillvalue=None, n=None):
    """Yield the elements from *iterable*, followed by *fillvalue*.

        >>> list(padded([1, 2, 3], '?', 5))
        [1, 2, 3, '?', '?']
    """
    return itertools.islice(iterable, n)


class Box:
    def size(self, n):
        """How big the box is.

        Counted in items.
        """
        return n + 2

    def name(self):
        """Its name."""
        return "box"
'''
PATH = "pkg/more.py"
OWN = BASE.replace("return n + 2", "return n + 3").replace('return "box"', 'return "crate"')
FIXED = OWN.replace("return n + 3", "return n + 1")


def _mine(new: str) -> Proposal:
    patch = make_patch("c", {PATH: BASE}, {PATH: new})
    return Proposal(id="d:p0:developer-1", deliberation_id="d", author="developer-1",
                    role="developer", round=0, content="c", patch=patch)  # fmt: skip


def test_a_long_unchanged_docstring_reads_as_a_placeholder_a_short_or_changed_one_as_it_is() -> (
    None
):
    shown = own_code(_mine(OWN), {PATH: BASE}, (), 3000)
    assert f"    def size(self, n):\n        {ELIDED}\n        return n + 3\n" in shown
    assert "Counted in items" not in shown
    assert '"""Its name."""' in shown  # one line: costs little, shown
    # a docstring the change rewrote is the change: shown
    reworded = OWN.replace("Counted in items.", "Counted in boxes.")
    assert "Counted in boxes." in own_code(_mine(reworded), {PATH: BASE}, (), 3000)
    # a module-level function: the placeholder at the body's indentation
    top = BASE.replace("islice(iterable, n)", "islice(iterable, n - 1)")
    assert f"def padded(iterable, fillvalue=None, n=None):\n    {ELIDED}\n" in elided(
        top.split("\n\n\nclass")[0].split("\n\n\n", 1)[1], BASE
    )
    assert elided("def broken(:\n", BASE) == "def broken(:\n"


def _size_shown() -> str:
    """The method as the developer is shown it, dedented as a whole-function reply writes it."""
    shown = own_code(_mine(OWN), {PATH: BASE}, (), 3000)
    return shown.split("```python\n", 1)[1].split("\n\n    def name")[0]


@pytest.mark.parametrize(
    "reply",
    [
        # the whole method, written from the shown code as a function
        lambda s: f"{PATH}\n```python\n{dedent(s).replace('n + 3', 'n + 1')}\n```\n",
        # SEARCH/REPLACE from the def line down, placeholder included
        lambda s: (
            f"{PATH}\n<<<<<<< SEARCH\n{s}\n=======\n{s.replace('n + 3', 'n + 1')}\n"
            ">>>>>>> REPLACE\n"
        ),
        # SEARCH/REPLACE of the placeholder and the changed line only
        lambda s: (
            f"{PATH}\n<<<<<<< SEARCH\n        {ELIDED}\n        return n + 3\n=======\n"
            f"        {ELIDED}\n        return n + 1\n>>>>>>> REPLACE\n"
        ),
    ],
    ids=["whole-method", "search-from-def", "search-placeholder-only"],
)
def test_an_edit_written_from_the_shown_code_keeps_the_docstring(reply) -> None:  # noqa: ANN001
    out = apply_edits({PATH: OWN}, parse_edits(reply(_size_shown())))
    assert out[PATH] == FIXED


def test_a_placeholder_quoted_where_the_file_holds_no_docstring_is_not_found() -> None:
    assert unelided(OWN, "    return itertools.islice(iterable, n)", "x") is None  # none quoted
    # no docstring of the file is followed by this line
    assert unelided(OWN, f"        {ELIDED}\n        return n + 9", "x") is None
    with pytest.raises(EditError):
        apply_edits(
            {PATH: OWN},
            parse_edits(
                f"{PATH}\n<<<<<<< SEARCH\n        {ELIDED}\n        return 7\n=======\n"
                f"        return 8\n>>>>>>> REPLACE\n"
            ),
        )
    # a docstring not quoted back in REPLACE is the edit's own choice: it goes
    search, replace = unelided(OWN, f"        {ELIDED}\n        return n + 3", "        return 0")
    assert search.startswith('        """How big') and replace == "        return 0"
