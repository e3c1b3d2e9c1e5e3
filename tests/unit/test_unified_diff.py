"""One unified-diff reader (``fleet.unified_diff``, the ``unidiff`` library) behind the paths a
change touches (``fleet.workspace``), the lines it adds (``fleet.diffscope``) and the files it
creates (``fleet.evidence.acceptance``)."""

from __future__ import annotations

import random

import pytest

from fleet.diffscope import added_lines
from fleet.evidence.acceptance import new_files
from fleet.patches import make_patch
from fleet.unified_diff import DiffError, apply, parse, recount
from fleet.workspace import change_problem, diff_paths

# A change whose own lines begin like file headers: the SQL comment "-- /etc/passwd" removed is
# the line "--- /etc/passwd", the line "++ total" added is "+++ total". Read line by line, the
# first looked like an absolute path (the change was refused) and the second like a new file.
SQL = make_patch(
    "c",
    {"q.sql": "-- /etc/passwd\nselect 1;\n"},
    {"q.sql": "++ total\nselect 1;\n"},
).diff


def test_lines_that_look_like_headers_inside_a_hunk_are_the_files_lines() -> None:
    assert "\n--- /etc/passwd\n" in SQL and "\n+++ total\n" in SQL
    assert diff_paths(SQL) == (["q.sql"], [])
    assert change_problem(SQL) is None
    assert added_lines(SQL) == {"q.sql": {1}}


def test_new_files_reads_created_files_whole_and_only_those() -> None:
    diff = make_patch(
        "c", {"a.py": "x = 1\n"}, {"a.py": "x = 2\n", "t/new.py": "+++ b\n\nz = 3"}
    ).diff
    assert new_files(diff) == {"t/new.py": "+++ b\n\nz = 3\n"}
    assert new_files("not a diff at all\n") == {}


def test_quoted_paths_are_unquoted_so_a_climb_written_in_escapes_is_seen() -> None:
    created = 'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"\nnew file mode 100644\n'
    created += '--- /dev/null\n+++ "b/caf\\303\\251.py"\n@@ -0,0 +1 @@\n+x\n'
    assert diff_paths(created) == (["café.py"], [])
    climb = created.replace("caf\\303\\251.py", "..\\057..\\057etc\\057cron.d\\057x")
    assert "climbs out of the repository" in (change_problem(climb) or "")


def test_renames_copies_and_symlink_modes_are_read_from_the_file_headers() -> None:
    renamed = "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\n"
    renamed += "rename to new.py\n"
    assert diff_paths(renamed) == (["old.py", "new.py"], [])
    link = "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n"
    link += "@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n"
    assert "symlink" in (change_problem(link) or "")


def test_hunks_are_counted_as_git_apply_recount_counts_them() -> None:
    # the runner applies with --recount: a hunk shorter than its header says is read to its
    # end (git then says whether it applies), and a plain diff's second "file" right after a
    # hunk is that hunk's lines (git --recount reads it so: y.txt is never touched)
    short = "--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n-a\n+b\n"
    assert recount(short).split("\n")[2] == "@@ -1,1 +1,1 @@"
    assert diff_paths(short) == (["x.py"], []) and change_problem(short) is None
    two = "--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n+A\n--- a/y.txt\n+++ b/y.txt\n"
    two += "@@ -1 +1 @@\n-b\n+B\n"
    assert diff_paths(two) == (["x.txt"], [])
    # at a line that is no hunk line git keeps the stated counts, and so does recount
    garbage = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\nnot a hunk line\n"
    assert recount(garbage) == garbage and diff_paths(garbage) == (["x.py"], [])


def test_a_text_unidiff_cannot_read_is_refused_with_the_reason() -> None:
    orphan = "+++ b/x.py\n@@ -0,0 +1 @@\n+x\n"
    assert (change_problem(orphan) or "").startswith("not a unified diff: Target without source")
    # git reads "+++ /dev/null" under a "diff --git" header without "deleted file mode" as a
    # rename to the file dev/null; read line by line it was a deletion: refused, not guessed
    gone = "diff --git a/g.py b/g.py\n--- a/g.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    with pytest.raises(DiffError):
        parse(gone)
    assert change_problem("no headers here\n") == (
        "not a unified diff: no '---'/'+++' or 'diff --git' headers found"
    )


def test_applying_a_written_patch_gives_back_the_new_files() -> None:
    rng = random.Random(7)
    for _ in range(200):
        old_lines = [f"line {rng.randrange(9)}\n" for _ in range(rng.randrange(0, 30))]
        new_lines = list(old_lines)
        for _ in range(rng.randrange(1, 6)):  # edits anywhere, the last newline included
            at = rng.randrange(len(new_lines) + 1)
            op = rng.choice(["add", "drop", "change"])
            if op == "add" or not new_lines or at == len(new_lines):
                new_lines.insert(at, f"new {rng.randrange(99)}\n")
            elif op == "drop":
                del new_lines[at]
            else:
                new_lines[at] = "changed\n"
        old, new = "".join(old_lines), "".join(new_lines)
        if rng.random() < 0.3:
            new = new.removesuffix("\n")
        if rng.random() < 0.3:
            old = old.removesuffix("\n")
        files = {"m.py": old, "same.py": "x = 1\n"}
        patch = make_patch("c", files, {"m.py": new, "added.py": "y = 2"})
        got = apply(files, patch.diff)
        assert got.get("m.py", old) == new and got["added.py"] == "y = 2"
        assert got["same.py"] == "x = 1\n"  # the whole tree, the rest as it was


def test_a_hunk_that_does_not_match_the_files_is_refused() -> None:
    patch = make_patch("c", {"m.py": "a\nb\nc\n"}, {"m.py": "a\nB\nc\n"})
    with pytest.raises(DiffError, match="not in the file"):
        apply({"m.py": "a\nX\nc\n"}, patch.diff)


def test_applying_reads_a_moved_hunk_where_it_now_stands_and_keeps_a_missing_final_newline() -> (
    None
):
    base = "a\nb\nc"  # no newline at the end
    patch = make_patch("c", {"m.py": base}, {"m.py": "a\nb\nC"})
    assert apply({"m.py": base}, patch.diff) == {"m.py": "a\nb\nC"}
    moved = "top\n" * 4 + base
    assert apply({"m.py": moved}, patch.diff) == {"m.py": "top\n" * 4 + "a\nb\nC"}
    with pytest.raises(DiffError):
        apply({}, patch.diff)  # the file it changes is not there
