"""Unified diffs, read one way everywhere (the ``unidiff`` library): which files a diff touches,
with which header lines, and which lines it adds.

Reading a diff line by line and taking every ``--- ``/``+++ `` line for a file header goes wrong
on a change whose own lines begin that way (removing the SQL comment ``-- /etc/passwd`` is the
line ``--- /etc/passwd``): the hunk's line counts say where a file's section ends. The workspace
runner applies changes with ``git apply --recount``, which ignores the counts a hunk header
states and counts its lines itself; so the diff is recounted the same way (``recount``) before
unidiff reads it, and both see the same files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from unidiff import Hunk, PatchSet
from unidiff.errors import UnidiffParseError

from fleet.errors import UserError


class DiffError(UserError):
    """A text that is not a unified diff unidiff can read (a ``+++`` line with no ``---``)."""


@dataclass(frozen=True)
class FileDiff:
    """One file's section of a diff.

    ``source``/``target``: its path before and after, without git's ``a/``/``b/`` (None: the file
    is created / deleted); ``header``: the lines before its first hunk (``diff --git``, modes,
    renames); ``added``: (line number after the change, text without the ``+``) of each line
    it adds.
    """

    source: str | None
    target: str | None
    header: tuple[str, ...]
    added: tuple[tuple[int, str], ...]


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")


def recount(diff: str) -> str:
    """``diff`` with each hunk header's line counts as ``git apply --recount`` counts them: the
    lines after it up to the next ``@@ `` or ``diff `` line (a context or empty line counts on
    both sides, ``-`` before, ``+`` after, ``\\`` neither); at any other line git keeps the
    stated counts, and so does this."""
    lines = diff.split("\n")
    end = len(lines) - 1 if lines[-1] == "" else len(lines)
    for i in range(end):
        if (hunk := _HUNK.match(lines[i])) is None:
            continue
        old = new = 0
        for line in lines[i + 1 : end]:
            kind = line[:1]
            if kind in (" ", "", "-"):
                old += 1
            if kind in (" ", "", "+"):
                new += 1
            if kind not in (" ", "", "-", "+", "\\"):
                break
        else:
            line = "@@ "  # the end of the diff ends the hunk too
        if line.startswith(("@@ ", "diff ")):
            lines[i] = f"@@ -{hunk[1]},{old} +{hunk[2]},{new} @@{hunk[3]}"
    return "\n".join(lines)


def _unquote(name: str) -> str:
    """A path as git writes it, unquoted: git puts a name holding special or non-ASCII bytes
    in double quotes with C escapes (``"b/caf\\303\\251.py"``); a name that is not such a
    string stays as it is."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    try:
        raw = name[1:-1].encode("latin-1").decode("unicode_escape").encode("latin-1")
        return raw.decode("utf-8")
    except (UnicodeError, ValueError):
        return name


def _path(name: str, prefix: str) -> str | None:
    name = _unquote(name.strip())
    return None if name == "/dev/null" else name.removeprefix(prefix)


def parse(diff: str) -> list[FileDiff]:
    """The file sections of ``diff``, recounted as git applies it (``recount``), in order (text
    before the first header is ignored).

    Raises:
        DiffError: a section unidiff cannot read (its reason attached).
    """
    try:
        patch = PatchSet(recount(diff))
    except UnidiffParseError as exc:
        raise DiffError(f"not a unified diff: {exc}") from None
    return [
        FileDiff(
            source=_path(f.source_file, "a/"),
            target=_path(f.target_file, "b/"),
            header=tuple(str(line).rstrip("\n") for line in f.patch_info or ()),
            added=tuple(
                (line.target_line_no, line.value.removesuffix("\n"))
                for hunk in f
                for line in hunk
                if line.is_added and line.target_line_no is not None
            ),
        )
        for f in patch
    ]


def apply(files: Mapping[str, str], diff: str) -> dict[str, str]:
    """The tree ``files`` (path -> text) becomes once ``diff`` is applied, read in memory and
    never written anywhere: created and changed files as the diff leaves them (a missing newline
    at the end of a file kept exactly), deleted ones gone. A hunk goes where its header says,
    else, as ``git apply`` allows, where its old lines stand further down.

    Raises:
        DiffError: the diff cannot be read, a file it changes is not in ``files``, or a hunk's
            old lines are nowhere after the hunk before it.
    """
    try:
        patch = PatchSet(recount(diff))
    except UnidiffParseError as exc:
        raise DiffError(f"not a unified diff: {exc}") from None
    tree = dict(files)
    for f in patch:
        source, target = _path(f.source_file, "a/"), _path(f.target_file, "b/")
        if source is not None and source not in tree:
            raise DiffError(f"{source}: no such file")
        text = _hunked(tree.pop(source) if source else "", list(f), target or source or "")
        if target is not None:
            tree[target] = text
    return tree


def _hunked(text: str, hunks: list[Hunk], name: str) -> str:
    """``text`` with ``hunks`` applied, each where its header says or lower down."""
    old = text.splitlines(keepends=True)
    new: list[str] = []
    at = 0
    for hunk in hunks:
        before = [ln.value.rstrip("\r\n") for ln in hunk if ln.line_type in (" ", "-")]
        start = hunk.source_start - 1 if hunk.source_length else hunk.source_start
        if not _matches(old, start, before) or start < at:
            start = next((i for i in range(at, len(old) + 1) if _matches(old, i, before)), -1)
            if start < 0:
                raise DiffError(f"{name}: a hunk's lines are not in the file (line {at + 1} on)")
        new += old[at:start]
        at, kind = start + len(before), ""
        for line in hunk:
            if line.line_type == "\\":  # the line before it has no newline
                if kind in (" ", "+"):
                    new[-1] = new[-1].removesuffix("\n")
                continue
            kind = line.line_type
            if kind in (" ", "+"):
                new.append(line.value)
    return "".join(new + old[at:])


def _matches(lines: list[str], start: int, expected: list[str]) -> bool:
    got = lines[start : start + len(expected)]
    return start >= 0 and [ln.rstrip("\r\n") for ln in got] == expected
