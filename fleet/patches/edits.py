"""The edit format, parsed: SEARCH/REPLACE blocks and whole-function replacements.

A SEARCH/REPLACE block (aider's format; the fence around it is optional)::

    path/to/file.py
    <<<<<<< SEARCH
    exact lines of the current file
    =======
    the lines that replace them
    >>>>>>> REPLACE

An empty SEARCH part creates the file (or appends to it when it exists). A fenced code
block holding whole top-level functions or classes, with a path line before it (or none),
replaces each of them by name (or adds it): small models often answer that way. A block
that holds several files, each under a ``# path/to/file.py`` comment line, is one edit per
file (a section of imports only adds them).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fleet.errors import UserError

Reason = Literal[
    "no_edits",
    "not_found",
    "ambiguous",
    "unsafe_path",
    "syntax",
    "malformed",
    "does_not_apply",
    "misquoted",
    "tests_only",
]

_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\b.*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\b.*$")
_FENCE = re.compile(r"^\s*```")
_PATHLIKE = re.compile(r"^[\w./\\-]+\.[A-Za-z0-9_]+$|^[\w./\\-]*/[\w.-]+$")
_DEF = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.M)
_IMPORT = re.compile(r"^(?:from\s+[\w.]+\s+)?import\s+\w", re.M)
# a repository map entry (fleet.context.repomap) less its "  # doc" comment: a signature whose
# line does not end with a colon (one no Python file holds)
_MAP_ENTRY = re.compile(
    r"^\s*(?:(?:async\s+)?def\s+\w+\s*\(.*\)(?:\s*->[^:]*)?|class\s+\w+(?:\(.*\))?)$"
)


class EditError(UserError):
    """An edit that cannot be applied, with a reason the model can act on."""

    def __init__(
        self,
        *,
        reason: Reason,
        path: str | None = None,
        detail: str,
        nearest: str = "",
        new_code: bool = False,
    ) -> None:
        """``nearest``: the current lines a SEARCH that matches nothing most likely meant (for the
        model's correction; not part of the message). ``new_code``: the fault is in the code the
        reply wrote (a syntax error in its new lines), not in how it quotes the current code."""
        where = f"{path}: " if path else ""
        super().__init__(
            f"{where}{detail}",
            reason=reason,
            path=path,
            detail=detail,
            nearest=nearest,
            new_code=new_code,
        )


@dataclass(frozen=True)
class SearchReplace:
    """Replace ``search`` (exact lines of ``path``) by ``replace``; empty search: create/append.
    ``path`` None: the one file holding ``search`` (a model left the path line out)."""

    path: str | None
    search: str
    replace: str


@dataclass(frozen=True)
class FunctionEdit:
    """Top-level functions/classes in ``code`` replace their namesakes (``path`` None: find them)."""

    path: str | None
    code: str
    names: tuple[str, ...]


Edit = SearchReplace | FunctionEdit


def clean_path(line: str) -> str | None:
    """The file path a line names (``path``, ``# path``, ``**path**``, ``File: path``...), if any."""
    s = line.strip().strip("`*#:").strip()
    s = re.sub(r"^(?:file|path|filename)\s*[:=]\s*", "", s, flags=re.I).strip().strip("`*'\"")
    s = s.split()[-1] if s and " " in s and _PATHLIKE.match(s.split()[-1]) else s
    return s.replace("\\", "/") if s and _PATHLIKE.match(s) else None


def _path_before(lines: list[str], i: int) -> str | None:
    """The path line above line ``i`` (skipping fences and blank lines, at most 3 lines up)."""
    j, seen = i - 1, 0
    while j >= 0 and seen < 3:
        line = lines[j]
        if line.strip() and not _FENCE.match(line):
            return clean_path(line)
        if _FENCE.match(line):
            lang = line.strip().lstrip("`").strip()
            if lang and clean_path(lang) and "." in lang:
                return clean_path(lang)  # ```path/to/file.py
        j, seen = j - 1, seen + 1
    return None


def _blocks(lines: list[str]) -> tuple[list[Edit], set[int]]:
    """SEARCH/REPLACE blocks, and the line numbers they cover.

    A block whose ``=======`` divider is missing (small models drop it) but that holds whole
    functions or classes is read as a whole-function replacement of those names.
    """
    out: list[Edit] = []
    used: set[int] = set()
    i, path = 0, None
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        path = _path_before(lines, i) or path  # consecutive blocks may share one path line
        start = i
        i += 1
        search: list[str] = []
        while i < len(lines) and not _DIVIDER.match(lines[i]) and not _REPLACE.match(lines[i]):
            search.append(lines[i])
            i += 1
        if i < len(lines) and _REPLACE.match(lines[i]):  # no divider: whole functions, if any
            code = _join(search)
            names = tuple(dict.fromkeys(_DEF.findall(code)))
            if not names:
                raise EditError(
                    reason="malformed",
                    path=path,
                    detail="a SEARCH/REPLACE block has no ======= line between the current "
                    "lines and the new ones",
                )
            out.append(FunctionEdit(path, code, names))
            used |= set(range(start, i + 1))
            i += 1
            continue
        replace: list[str] = []
        i += 1
        while i < len(lines) and not _REPLACE.match(lines[i]):
            replace.append(lines[i])
            i += 1
        while replace and _DIVIDER.match(replace[-1]):  # a doubled ======= before REPLACE
            replace.pop()
        if i >= len(lines) and not replace and not search:
            break
        if path is None and not any(line.strip() for line in search):
            raise EditError(
                reason="malformed",
                detail="a SEARCH/REPLACE block has no file path: put the path on the line before "
                "<<<<<<< SEARCH",
            )
        out.append(SearchReplace(path, _join(search), _join(replace)))
        used |= set(range(start, i + 1))
        i += 1
    return out, used


def _join(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _fenced(lines: list[str], used: set[int]) -> list[FunctionEdit]:
    """Fenced code blocks outside SEARCH/REPLACE blocks that define top-level functions/classes."""
    out: list[FunctionEdit] = []
    i = 0
    while i < len(lines):
        if i in used or not _FENCE.match(lines[i]):
            i += 1
            continue
        head, i = i, i + 1
        body: list[str] = []
        while i < len(lines) and not _FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        if any(k in used for k in range(head, i)):
            continue
        for path, section in _sections(body, _path_before(lines, head)):
            code = textwrap.dedent(_join(section))  # a method written at its class's indent
            names = tuple(dict.fromkeys(_DEF.findall(code)))
            # a section under its own path line may hold only imports (``__init__.py``'s export)
            if names or (path and section is not body and _IMPORT.search(code)):
                out.append(FunctionEdit(path, code, names))
    return out


def _section_path(line: str) -> str | None:
    """The path a ``# calc/ops.py`` comment line names (a Python file, or a path with a folder)."""
    if not line.startswith("#"):
        return None
    path = clean_path(line)
    return path if path and (path.endswith(".py") or "/" in path) else None


def _sections(body: list[str], path: str | None) -> list[tuple[str | None, list[str]]]:
    """A code block split where a comment line names another file (small models put several
    files in one block, each under a ``# path/to/file.py`` line); one section without any."""
    out: list[tuple[str | None, list[str]]] = [(path, [])]
    for line in body:
        if (named := _section_path(line)) is not None:
            out.append((named, []))
        else:
            out[-1][1].append(line)
    if len(out) == 1:
        return [(path, body)]
    return [(p, s) for p, s in out if any(ln.strip() for ln in s)]


def _unmarked(lines: list[str]) -> list[str]:
    """``lines`` less the markers of a block whose SEARCH marker is missing (the code around them
    is whole functions): a ``>>>>>>> REPLACE`` line, and a ``=======`` line when the reply has
    one or when it follows a path line (not an underline in a docstring)."""
    marked = any(_REPLACE.match(ln) for ln in lines)
    out: list[str] = []
    for ln in lines:
        if _REPLACE.match(ln):
            continue
        before = next((x for x in reversed(out) if x.strip()), "")
        if _DIVIDER.match(ln) and (marked or clean_path(before)):
            continue
        out.append(ln)
    return out


def parse_edits(text: str) -> list[Edit]:
    """The edits in a model's reply: SEARCH/REPLACE blocks, else whole functions (fenced, or the
    bare reply under its path line; ``=======`` / ``>>>>>>> REPLACE`` lines left by a block
    whose SEARCH marker is missing are dropped).

    Raises:
        EditError: ``no_edits`` when the reply holds neither; ``malformed`` for a block without path.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    blocks, used = _blocks(lines)
    if blocks:
        return list(blocks)
    lines = _unmarked(lines)
    functions = _fenced(lines, used)
    if not functions and _DEF.search(text) and "```" not in text:
        head = next((ln for ln in lines if ln.strip()), "")
        body = lines[lines.index(head) + 1 :] if clean_path(head) else lines  # its path line
        code = "\n".join(body).strip("\n") + "\n"
        functions = [FunctionEdit(None, code, tuple(dict.fromkeys(_DEF.findall(code))))]
    if not functions:
        raise EditError(
            reason="no_edits",
            detail="the reply holds no edit: neither a SEARCH/REPLACE block (a path line, "
            "<<<<<<< SEARCH, the exact current lines, =======, the new lines, >>>>>>> REPLACE) "
            "nor a code block holding a whole function under its path line",
        )
    return list(functions)


def finished(text: str) -> str:
    """``text`` less the edit its token limit cut short: a reply that stopped at its limit ends
    inside a SEARCH/REPLACE block (no ``>>>>>>> REPLACE`` after its last SEARCH marker), inside a
    code fence, or inside the last function of a bare code reply; that edit is left out (the
    edits before it stand, "" when there are none). Half a REPLACE part parsed as a whole one
    would write the first lines of a function in place of all of it."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _SEARCH.match(line)]
    ends = [i for i, line in enumerate(lines) if _REPLACE.match(line)]
    if starts:
        if ends and ends[-1] > starts[-1]:
            return text
        return "\n".join(lines[: ends[-1] + 1]) if ends else ""
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if fences:
        return "\n".join(lines[: fences[-1]]) if len(fences) % 2 else text
    defs = [i for i, line in enumerate(lines) if _DEF.match(line)]
    return "\n".join(lines[: defs[-1]]) if defs else text


def without_strays(edits: Sequence[Edit], example: str = "") -> list[Edit]:
    """``edits`` less the blocks that cannot be meant, when at least one other edit is left.

    A block that repeats an earlier one's SEARCH text (a small model looping on one block until
    its token limit cuts the last copy short: the first copy consumed that text, so a repeat
    could never apply), a block whose SEARCH lines are repository map entries
    (``def retry(call, tries)  # Makes decorated function retry``: the map's signature and doc
    line, which no Python file holds: a signature line ends with a colon), and a block whose
    SEARCH and REPLACE parts are both quoted from ``example``, the edit format's text (the 1.5B
    went on past its edit to write out the format's instructions and example block, for a file
    the repository does not have).
    """
    seen: set[tuple[str | None, str]] = set()
    kept: list[Edit] = []
    for edit in edits:
        if isinstance(edit, SearchReplace):  # an empty SEARCH appends: only an exact repeat
            key = (edit.path, edit.search if edit.search.strip() else edit.replace)
        else:
            key = (edit.path, edit.code)
        if key not in seen:
            seen.add(key)
            kept.append(edit)
    real = [e for e in kept if not quotes_map(e) and not (example and _copied(e, example))]
    return real or kept


def _copied(edit: Edit, text: str) -> bool:
    """A SEARCH/REPLACE block whose two parts both occur in ``text``."""
    if not isinstance(edit, SearchReplace):
        return False
    return all(part.strip() and part.strip() in text for part in (edit.search, edit.replace))


def quotes_map(edit: Edit) -> bool:
    """A SEARCH part made of repository map entries only (see ``without_strays``)."""
    if not isinstance(edit, SearchReplace):
        return False
    lines = [line.split("  # ", 1)[0].rstrip() for line in edit.search.split("\n")]
    lines = [line for line in lines if line.strip()]
    return bool(lines) and all(_MAP_ENTRY.match(ln) and "):" not in ln for ln in lines)
