"""The current lines a SEARCH part that matches nothing most likely meant.

A small model's misquoted SEARCH is usually the right function remembered wrongly (a neighbour's
body, the repository map's signature line, its own last reply). Shown the real lines right in
the correction, it can copy them instead of guessing again (aider answers a failed block the
same way).
"""

from __future__ import annotations

import re

MAX_LINES = 40  # a longer function is shown from its start, up to this many lines

_DEF = re.compile(r"^\s*(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")


def nearest(current: str, search: str, *, limit: int | None = MAX_LINES) -> str | None:
    """The lines of ``current`` that ``search`` most likely meant: the function or class a
    ``def``/``class`` line of ``search`` names, else the window of ``search``'s length sharing
    the most lines with it (at least half); None when nothing is close. At most ``limit`` lines
    from its start (None: all of it)."""
    lines = current.split("\n")
    want = [ln for ln in search.split("\n") if ln.strip()]
    if not want:
        return None
    for name in dict.fromkeys(m.group(1) for ln in want if (m := _DEF.match(ln))):
        block = _block(lines, name, limit)
        if block is not None:
            return block
    return _window(lines, want, limit)


def _block(lines: list[str], name: str, limit: int | None = MAX_LINES) -> str | None:
    """The definition of ``name`` (its decorators, header and body), or None."""
    head = re.compile(rf"^(\s*)(?:async\s+def|def|class)\s+{re.escape(name)}\b")
    for i, line in enumerate(lines):
        if m := head.match(line):
            indent, start = len(m.group(1)), i
            while start > 0 and lines[start - 1].strip().startswith("@"):
                start -= 1
            end = i + 1
            while end < len(lines) and (
                not lines[end].strip() or _indent(lines[end]) > indent or _closes(lines[end])
            ):
                end += 1
            return "\n".join(lines[start:end][:limit]).rstrip("\n")
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _closes(line: str) -> bool:
    """A line at the header's indentation that still belongs to it (a signature's closing)."""
    return line.lstrip().startswith((")", "]", "}"))


def _window(lines: list[str], want: list[str], limit: int | None = MAX_LINES) -> str | None:
    wanted, first = {ln.strip() for ln in want}, want[0].strip()
    size = len(want)
    best, at = 0, 0
    for i in range(max(1, len(lines) - size + 1)):
        shared = len({ln.strip() for ln in lines[i : i + size] if ln.strip()} & wanted)
        score = 2 * shared + (lines[i].strip() == first)  # ties: the window starting alike
        if score > best:
            best, at = score, i
    if best < len(wanted):  # fewer than half of the SEARCH lines are there
        return None
    return "\n".join(lines[at : at + min(size, limit or size)]).rstrip("\n")


DOCSTRING = re.compile(r"(?s)(\"\"\"|''').*?(?:\1|\Z)")  # a string block, to its end


def misremembered(current: str, search: str, names: tuple[str, ...]) -> tuple[str, str] | None:
    """(a code line of ``search`` that none of the functions ``names`` holds, their current code),
    or None: the SEARCH part quotes what the model remembers of those functions, and a line of
    its code is not theirs (``return s[len(prefix):] ...``, the neighbour's body, quoted as
    ``cut_suffix``'s). Docstrings, comments, headers and decorators do not count: a REPLACE
    written from a wrong docstring is still right code."""
    blocks = [b for name in names if (b := _block(current.split("\n"), name)) is not None]
    if not blocks:
        return None
    shown = "\n\n".join(blocks)
    code = foreign(shown, search)
    return None if code is None else (code, shown)


def foreign(lines: str, search: str) -> str | None:
    """The first code line of ``search`` that ``lines`` does not hold (stripped), or None.
    Docstrings, comments, headers and decorators do not count."""
    have = {ln.strip() for ln in lines.split("\n")}
    for line in DOCSTRING.sub("", search).split("\n"):
        code = line.strip()
        if code and not code.startswith(("#", "@")) and not _DEF.match(line) and code not in have:
            return code
    return None
