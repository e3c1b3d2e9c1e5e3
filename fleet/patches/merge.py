"""A misquoted edit's change, carried over to the code it meant (a line-level three-way merge).

Small models quote the function they edit from memory, and the memory is often a neighbour's:
``cut_suffix``'s header over ``cut_prefix``'s body. Their REPLACE part is written against that
quote, so applying it as written brings the wrong body in with the change. But the difference
between the quote and the REPLACE part is what the model meant to change: the lines it adds,
drops or rewrites. That difference is applied to the current lines the quote most likely meant
(``nearest.nearest``), as a three-way merge with the quote as the base:

- a line the model left as it quoted it takes the current code (its memory was wrong, its
  intent was to keep it);
- a line the model rewrote is rewritten where the current line is the one it quoted; where
  the current line differs from the quote too (a conflict), the current line stays: the model's
  version of it was written from code that is not there;
- lines the model added go in before the current counterpart of the quoted line they preceded;
  a quoted line it dropped goes where the current line is the one it quoted.

Lines are paired by equality, then by similarity inside a changed run (difflib ratio), in
order. Pure: text in, text out.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from fleet.patches.nearest import DOCSTRING

SIMILAR = 0.6  # a quoted line and a current (or rewritten) line this alike are the same line


def carry(current: str, search: str, replace: str) -> str | None:
    """``current`` (the lines ``search`` misquotes) with the change from ``search`` to
    ``replace`` applied; None when fewer than half of ``search``'s lines pair with a current
    line (the quote is not of these lines) or with a line of ``replace`` (the reply is new code,
    not a change of the quote), or when no code line would change. Current lines are kept
    exactly; the model's lines take the current lines' indentation."""
    cur_ind, quote_ind = _indent(current), _indent(search)
    raw = current.rstrip("\n").split("\n")
    ours, base = _lines(current, cur_ind), _lines(search, quote_ind)
    theirs = _lines(replace, quote_ind) if replace.strip() else []
    to_ours, to_theirs = _pair(base, ours), _pair(base, theirs)
    quoted = [i for i, ln in enumerate(base) if ln.strip()]
    if any(2 * sum(i in pairs for i in quoted) < len(quoted) for pairs in (to_ours, to_theirs)):
        return None  # not a quote of these lines, or not a change of the quote
    merged = _merge(base, ours, theirs, to_ours, to_theirs)
    text = "\n".join(
        raw[x] if mine else (cur_ind + theirs[x] if theirs[x] else "") for mine, x in merged
    )
    return None if _code(text) == _code(current) else text


def _merge(
    base: list[str],
    ours: list[str],
    theirs: list[str],
    to_ours: dict[int, int],
    to_theirs: dict[int, int],
) -> list[tuple[bool, int]]:
    """The merged lines, each (True, a current line's index) or (False, a REPLACE line's)."""
    before: dict[int, list[int]] = {}  # quoted line -> the REPLACE lines added before it
    added: list[int] = []
    from_theirs = {j: i for i, j in to_theirs.items()}
    for j in range(len(theirs)):
        if j in from_theirs:
            before[from_theirs[j]], added = added, []
        else:
            added.append(j)
    from_ours = {j: i for i, j in to_ours.items()}
    out: list[tuple[bool, int]] = []
    placed: set[int] = set()
    for j, line in enumerate(ours):
        i = from_ours.get(j)
        if i is None:
            out.append((True, j))  # a current line the quote left out
            continue
        for k in sorted(k for k in before if k <= i and k not in placed):
            out += [(False, x) for x in before[k]]
            placed.add(k)
        # (a REPLACE line rewriting a quoted line with no current counterpart is not carried)
        if i in to_theirs:  # kept or rewritten by the model
            out.append((False, to_theirs[i]) if _same(line, base[i]) else (True, j))
        elif not _same(line, base[i]):
            out.append((True, j))  # dropped by the model, but it is not the line it quoted
    for k in sorted(k for k in before if k not in placed):
        out += [(False, x) for x in before[k]]
    return out + [(False, x) for x in added]


def _pair(a: Sequence[str], b: Sequence[str]) -> dict[int, int]:
    """Indexes of ``a`` -> indexes of ``b``: equal lines, and inside a changed run the most
    similar later line of ``b`` (at least ``SIMILAR``), in order."""
    pairs: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pairs.update({i1 + k: j1 + k for k in range(i2 - i1)})
        elif tag == "replace":
            j = j1
            for i in range(i1, i2):
                scores = [
                    (SequenceMatcher(None, a[i].strip(), b[k].strip()).ratio(), -k)
                    for k in range(j, j2)
                    if a[i].strip() and b[k].strip()
                ]
                best = max(scores, default=(0.0, 0))
                if best[0] >= SIMILAR:
                    pairs[i] = -best[1]
                    j = -best[1] + 1
    return pairs


def _same(a: str, b: str) -> bool:
    """Equal but for spacing: ``a+b`` quoted as ``a + b`` is the line quoted right."""
    return "".join(a.split()) == "".join(b.split())


def _code(text: str) -> list[str]:
    """``text``'s code lines: no docstrings, comments, blank lines or spacing. A merge that
    changes none (the model's only change the current code did not conflict with was dropping a
    docstring) carries nothing."""
    lines = (ln.split("#", 1)[0] for ln in DOCSTRING.sub("", text).split("\n"))
    return ["".join(ln.split()) for ln in lines if ln.strip()]


def _indent(text: str) -> str:
    """The indentation of ``text``'s first non-blank line."""
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    return first[: len(first) - len(first.lstrip())]


def _lines(text: str, indent: str) -> list[str]:
    """``text``'s lines without ``indent`` (a less indented line loses all of its own) and
    without trailing spaces."""
    return [
        (ln[len(indent) :] if ln.startswith(indent) else ln.lstrip()).rstrip()
        for ln in text.rstrip("\n").split("\n")
    ]
