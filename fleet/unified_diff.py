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

from unidiff import PatchSet
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
    """The files ``diff`` creates or changes, as they are once it is applied to ``files`` (a
    deleted file is left out). For a diff written of these files (``make_patch``): each hunk
    goes where its header says, and every line it keeps or removes must be there.

    Raises:
        DiffError: the diff cannot be read, or a hunk does not match ``files``.
    """
    try:
        patch = PatchSet(recount(diff))
    except UnidiffParseError as exc:
        raise DiffError(f"not a unified diff: {exc}") from None
    out: dict[str, str] = {}
    for f in patch:
        source, target = _path(f.source_file, "a/"), _path(f.target_file, "b/")
        if target is None:
            continue
        old = (files.get(source) or "").splitlines(keepends=True) if source else []
        new: list[str] = []
        at = 0
        for hunk in f:
            start = hunk.source_start - 1 if hunk.source_length else hunk.source_start
            if start < at:
                raise DiffError(f"{target}: hunks out of order")
            new += old[at:start]
            at, kind = start, ""
            for line in hunk:
                if line.line_type == "\\":  # the line before it has no newline
                    if kind in (" ", "+"):
                        new[-1] = new[-1].removesuffix("\n")
                    continue
                kind = line.line_type
                if kind in (" ", "-"):
                    if at >= len(old) or old[at].rstrip("\r\n") != line.value.rstrip("\r\n"):
                        raise DiffError(f"{target}: a hunk does not match line {at + 1}")
                    at += 1
                if kind in (" ", "+"):
                    new.append(line.value)
        out[target] = "".join(new + old[at:])
    return out
