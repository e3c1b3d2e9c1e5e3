"""Changes as patches: an edit format small models get right, applied and diffed by code.

``parse_edits`` reads a model's reply (SEARCH/REPLACE blocks, or whole functions in a fenced
block located by name), ``apply_edits`` applies them to file contents (a typed ``EditError`` the
model can act on when one does not fit), ``make_patch`` turns old and new contents into a
git-format unified diff (a ``Patch``).
"""

from __future__ import annotations

from fleet.patches.apply import apply_edits
from fleet.patches.diff import make_patch
from fleet.patches.edits import Edit, EditError, FunctionEdit, SearchReplace, parse_edits

__all__ = [
    "Edit",
    "EditError",
    "FunctionEdit",
    "SearchReplace",
    "apply_edits",
    "make_patch",
    "parse_edits",
]
