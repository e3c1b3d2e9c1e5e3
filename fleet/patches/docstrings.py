"""A rewritten function keeps its docstring: developers write functions out whole without it.

A developer asked for whole functions copies each one's docstring back, line for line: in two
development tasks' traces (more-itertools) that was 48 % of the characters the developers
generated, paid for at every proposal, debugging turn and revision, and a long docstring pushes a
reply toward its token limit. So the whole-function format asks for the def line and the body
only (the 1.5B still copies the docstring in most replies: benchmarks/RESULTS.md), and a new
version that has no docstring, or only a placeholder (``\"\"\"...\"\"\"``), gets the one the
definition it replaces has; a rewrite no longer drops documentation. A new version with a
docstring of its own keeps that one.

The other way round, code *shown* to a debugging or revising developer reads a long unchanged
docstring as a placeholder (``elided``); edits written from it keep the docstring: a whole
definition through ``kept``, a SEARCH/REPLACE that quotes the placeholder through ``unelided``.
Pure.
"""

from __future__ import annotations

import ast
import re
import textwrap

from fleet import pysource

_PLACEHOLDERS = frozenset({"", "...", "…"})
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFS = (*_FUNCS, ast.ClassDef)
_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _docstring(node: ast.AST) -> tuple[ast.Expr, str] | None:
    """The definition's docstring statement and its text, if it has one."""
    body = getattr(node, "body", None)
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first, first.value.value
    return None


def kept(old: ast.AST, old_lines: list[str], source: str) -> str:
    """``source`` (the new version of the definition ``old``, indented as it will stand; ``old``'s
    file's lines are ``old_lines``) with ``old``'s docstring where ``source`` has none or a
    placeholder; in a class, each method's too."""
    head = source.split("\n", 1)[0]
    margin = len(head) - len(head.lstrip(" "))
    try:
        new = pysource.parse(textwrap.dedent(source)).body[0]
    except (SyntaxError, IndexError):
        return source
    if not isinstance(new, _DEFS):
        return source
    lines = source.split("\n")
    _keep(old, old_lines, new, lines, margin)
    return "\n".join(lines)


def _keep(old: ast.AST, old_lines: list[str], new: _Def, lines: list[str], margin: int) -> None:
    """``lines`` (``new``'s, indented by ``margin``) given ``old``'s docstring in place."""
    if isinstance(new, ast.ClassDef) and isinstance(old, ast.ClassDef):
        olds = {n.name: n for n in old.body if isinstance(n, _FUNCS)}
        for node in reversed(new.body):  # bottom up: the lines above stay where they are
            if isinstance(node, _FUNCS) and node.name in olds:
                _keep(olds[node.name], old_lines, node, lines, margin)
    was, own = _docstring(old), _docstring(new)
    body = new.body
    if was is None or was[0].lineno == getattr(old, "lineno", 0) or not body:
        return  # nothing to keep, or a one-line ``def f(): "doc"``
    if body[0].lineno == new.lineno:
        return  # a body on the def line
    if own is not None and own[1].strip() not in _PLACEHOLDERS:
        return  # a docstring of its own
    doc = was[0]
    at = body[0].lineno - 1
    if own is not None:  # the placeholder goes, the docstring takes its lines
        del lines[at : own[0].end_lineno]
    while at - 1 >= new.lineno and (not lines[at - 1].strip() or lines[at - 1].lstrip()[:1] == "#"):
        at -= 1  # right under the def line, above the comments that open the body
    after = lines[at] if at < len(lines) else ""
    blank = [""] if isinstance(new, ast.ClassDef) and after.strip() else []
    lines[at:at] = [
        *_shifted(
            old_lines[doc.lineno - 1 : doc.end_lineno], doc.col_offset, margin + body[0].col_offset
        ),
        *blank,  # a class's docstring, then a blank line before its first method
    ]


def _shifted(lines: list[str], was: int, now: int) -> list[str]:
    """A docstring's lines moved from indentation ``was`` to ``now``; a line indented less than
    its opening line, or blank, stays as it is (its text is the string's)."""
    return [
        " " * now + line[was:] if line[:was] == " " * was and line.strip() else line
        for line in lines
    ]


ELIDED = '"""..."""'  # what an unchanged docstring reads as in shown code (``kept`` restores it)
SHORT = 2  # docstrings of at most this many lines are shown as they are: they cost little


def elided(code: str, base: str) -> str:
    """``code`` (functions as a change left them, indented as in their file) with each docstring
    of more than ``SHORT`` lines that ``base`` (the file before the change) holds line for line
    replaced by ``ELIDED``: shown to a developer who already read the base code in its context,
    the docstring was copied back at every debugging turn and revision. A definition written
    back with the placeholder keeps its docstring (``kept``); so does a SEARCH/REPLACE edit that
    quotes it (``unelided``)."""
    lines = code.split("\n")
    try:
        tree = pysource.parse(textwrap.dedent(code))
    except SyntaxError:
        return code
    margin = _margin(lines)
    spans = []
    for node in ast.walk(tree):
        found = _docstring(node) if isinstance(node, _DEFS) else None
        if found is None or found[0].end_lineno is None:
            continue
        a, b = found[0].lineno, found[0].end_lineno
        if b - a + 1 > SHORT and "\n".join(lines[a - 1 : b]) in base:
            spans.append((a, b, margin + found[0].col_offset))
    for a, b, indent in sorted(spans, reverse=True):
        lines[a - 1 : b] = [" " * indent + ELIDED]
    return "\n".join(lines)


def _margin(lines: list[str]) -> int:
    """The indentation ``textwrap.dedent`` removed from ``lines``."""
    filled = [ln for ln in lines if ln.strip()]
    return min((len(ln) - len(ln.lstrip(" ")) for ln in filled), default=0)


def unelided(current: str, search: str, replace: str) -> tuple[str, str] | None:
    """A SEARCH/REPLACE edit that quotes elided docstrings (lines reading ``ELIDED``), with the
    docstrings ``current`` holds there written into both parts: (search, replace); None when
    ``search`` has no such line, ``current`` does not parse, or ``search`` does not match exactly
    one place so."""
    if ELIDED not in search:
        return None
    try:
        docs = _docstrings(current)
    except SyntaxError:
        return None
    if not docs:
        return None
    quoted = r"[ \t]*(" + "|".join(re.escape(d) for d in docs) + ")"  # one of the file's own
    pattern = "\n".join(
        quoted if ln.strip() == ELIDED else re.escape(ln) for ln in search.split("\n")
    )
    found = list(re.finditer(pattern, current))
    if len(found) != 1:
        return None
    texts = [t for t in found[0].groups() if t is not None]
    out = []
    for ln in replace.split("\n"):
        if ln.strip() == ELIDED and texts:
            ln = ln[: len(ln) - len(ln.lstrip())] + texts.pop(0)
        out.append(ln)
    return found[0].group(0), "\n".join(out)


def _docstrings(source: str) -> list[str]:
    """The source text of every definition's docstring in ``source``, from its opening quote."""
    out = []
    for node in ast.walk(pysource.parse(source)):
        found = _docstring(node) if isinstance(node, _DEFS) else None
        text = ast.get_source_segment(source, found[0]) if found is not None else None
        if text:
            out.append(text)
    return list(dict.fromkeys(out))
