"""A developer debugging or revising its candidate is shown the functions its patch changed as
they now read (not its diff, which the 1.5B copied back as a diff in 8 of 22 such replies), and
its edits apply to that version: quoting its own lines works, and so does quoting the base's."""

from __future__ import annotations

import pytest

from fleet.agents import PatchFailed, author_messages, write_patch
from fleet.contracts import Patch, Proposal
from fleet.council.patching import own_code, own_version
from fleet.patches import make_patch
from fleet.patches.changed import changed_functions
from fleet.testing.fakes import ScriptedChatModel
from tests.unit.test_write_patch import Replies

BASE = (
    "import os\n\n\ndef keep(x):\n    return x\n\n\n"
    "def collapse(items, levels=None):\n    out = []\n    for i in items:\n        out.append(i)\n"
    "    return out\n\n\nclass Box:\n    @property\n    def size(self):\n        return 1\n"
)


def _mine(new: str, path: str = "pkg/more.py") -> Proposal:
    patch = make_patch("c", {path: BASE}, {path: new})
    return Proposal(id="d:p0:developer-2", deliberation_id="d", author="developer-2",
                    role="developer", round=0, content="c", patch=patch)  # fmt: skip


OWN = BASE.replace("        out.append(i)\n", "        out.extend(i)\n")


def test_the_changed_functions_are_the_ones_holding_an_added_altered_or_removed_line() -> None:
    assert changed_functions(BASE, OWN) == [
        "def collapse(items, levels=None):\n    out = []\n    for i in items:\n"
        "        out.extend(i)\n    return out\n"
    ]
    method = BASE.replace("return 1", "return 2")
    assert changed_functions(BASE, method) == [
        "    @property\n    def size(self):\n        return 2\n"
    ]
    removed = BASE.replace("    out = []\n", "")
    assert [f.split("(")[0] for f in changed_functions(BASE, removed)] == ["def collapse"]
    # a change outside every function, or a module that does not parse: none to show
    assert changed_functions(BASE, BASE.replace("import os", "import sys")) == []
    assert changed_functions(BASE, OWN + "def broken(:\n") == []


def test_own_code_shows_the_functions_as_they_read_and_the_diff_only_where_there_is_none() -> None:
    shown = own_code(_mine(OWN), {"pkg/more.py": BASE}, (), 3000)
    assert shown.startswith("pkg/more.py\n```python\ndef collapse(items, levels=None):\n")
    assert "        out.extend(i)\n" in shown and "@@" not in shown and "+    " not in shown
    # imports changed too: the function as it reads, and that file's diff is not needed twice
    both = own_code(_mine(OWN.replace("import os", "import sys")), {"pkg/more.py": BASE}, (), 3000)
    assert "def collapse" in both
    # only an import changed: the diff, as before
    only = own_code(_mine(BASE.replace("import os", "import sys")), {"pkg/more.py": BASE}, (), 3000)
    assert "-import os\n+import sys" in only
    # a patch that does not apply to the files given: its diff
    assert "@@" in own_code(_mine(OWN), {"pkg/more.py": "x = 1\n"}, (), 3000)
    assert own_version(_mine(OWN), {"pkg/more.py": BASE}, ()) == {"pkg/more.py": OWN}


FILES = {"pkg/more.py": BASE}
QUOTES_OWN = (  # its own line: only in its version
    "pkg/more.py\n<<<<<<< SEARCH\n        out.extend(i)\n=======\n"
    "        out += list(i)\n>>>>>>> REPLACE\n"
)
QUOTES_BASE = (  # the base's line, which its patch changed
    "pkg/more.py\n<<<<<<< SEARCH\n        out.append(i)\n=======\n"
    "        out.insert(0, i)\n>>>>>>> REPLACE\n"
)
ECHO = (
    "pkg/more.py\n<<<<<<< SEARCH\n        out.extend(i)\n=======\n"
    "        out.extend(i)\n\n>>>>>>> REPLACE\n"
)


def _write(*replies: str) -> tuple[Patch, Replies]:
    script = Replies(*replies)
    patch = write_patch(ScriptedChatModel(script=script), author_messages("c"), FILES,
                        base_commit="c", start={"pkg/more.py": OWN})  # fmt: skip
    return patch, script


def test_edits_quoting_the_own_version_apply_to_it_and_the_patch_is_against_the_base() -> None:
    patch, _ = _write(QUOTES_OWN)
    assert "+        out += list(i)\n" in patch.diff and "extend" not in patch.diff
    assert patch.files == ("pkg/more.py",)


def test_edits_quoting_the_base_still_apply_to_the_base() -> None:
    """The context pack shows the base's code: a SEARCH copied from it is no misquote."""
    patch, _ = _write(QUOTES_BASE)
    assert "+        out.insert(0, i)\n" in patch.diff and "extend" not in patch.diff


def test_a_reply_that_leaves_the_own_version_as_it_was_changes_nothing() -> None:
    with pytest.raises(PatchFailed, match="change nothing"):
        _write(ECHO, ECHO)
    patch, script = _write(ECHO, QUOTES_OWN)  # asked again, and the next reply is the patch
    assert "+        out += list(i)\n" in patch.diff and len(script.seen) == 2


def test_a_reviser_sees_the_other_candidates_as_code_too() -> None:
    """Shown the others' diffs under their headings, the greedy 1.5B wrote its revision as one
    more listed diff (``### developer-1: passes 151/152 tests`` and a diff)."""
    from fleet.contracts import Evidence
    from fleet.council import Brief
    from fleet.council.patching import revise_notes

    mine = _mine(OWN)
    other = _mine(BASE.replace("return 1", "return 2")).model_copy(
        update={"id": "d:p0:developer-3", "author": "developer-3"}
    )
    b = Brief(deliberation_id="d", story_id="s", task_id="T1", task="t", round=1, step="revise",
              source="/repo", base="main", base_commit="c", proposals=(mine, other),
              evidence=(Evidence(proposal_id=other.id, passed=False, tests_failed=1),))  # fmt: skip
    notes = "\n".join(revise_notes(b, mine, {"pkg/more.py": BASE}))
    listed = notes[notes.index("developer-3") :]
    assert "pkg/more.py\n```python\n    @property\n    def size(self):\n        return 2" in listed
    assert "@@" not in notes and "diff --git" not in notes
    # the others come first; its own version, right before the instruction, is what it continues
    assert notes.index("developer-3") < notes.index("Your current patch") < notes.index("Improve")
    assert notes.rstrip().endswith(revise_notes(b, mine, {"pkg/more.py": BASE})[-1])
