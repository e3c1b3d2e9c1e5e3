"""A faulty line and its correction, as an edit block: the reply to the line request.

Asked for its edits, a small model often repeats the function unchanged (an echo), most of all on
a bug report whose fault is one comparison or one missing case. Asked instead to copy the one
line that makes the code behave as reported and to write it as it should read::

    path/to/module.py
    WRONG: if attempt >= tries:
    FIXED: if attempt + 1 >= tries:

the 1.5B fixed bugs its edit blocks had echoed (``benchmarks/bench_trace.py --variants line``,
benchmarks/RESULTS.md). :func:`line_blocks` turns such a reply into SEARCH/REPLACE blocks on the
files: the wrong line as the file has it, the fixed lines at its indentation. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from fleet.patches.edits import clean_path

WRONG, FIXED = "WRONG:", "FIXED:"


def _clean(text: str, tag: str) -> str:
    return text.strip().removeprefix(tag).strip().strip("`").strip()


def _where(written: str, files: Mapping[str, str], wrong: str) -> str | None:
    """The file a wrong line belongs to: the one whose path ends the written one (or the reverse)
    and holds the line, else the first Python file holding it."""
    holds = [
        path
        for path, source in files.items()
        if path.endswith(".py") and any(line.strip() == wrong for line in source.splitlines())
    ]
    named = [p for p in holds if written and (written.endswith(p) or p.endswith(written))]
    found = named or holds
    return found[0] if found else None


def _heads_pair(line: str, after: list[str]) -> bool:
    """``line`` names a file and the line after it begins a pair."""
    return (
        bool(after) and after[0].strip().startswith(WRONG) and bool(clean_path(line.strip("<> ")))
    )


def _pairs(reply: str) -> list[tuple[str, str, list[str]]]:
    """(the path written above it, the wrong line, the fixed lines) of each pair in ``reply``."""
    lines = reply.replace("```", "").splitlines()
    out: list[tuple[str, str, list[str]]] = []
    written, i = "", 0
    while i < len(lines):
        text = lines[i].strip()
        i += 1
        if not text.startswith(WRONG):
            # a path line (``<pkg/m.py>`` too) names the file
            if text and not text.startswith(FIXED):
                named = clean_path(text.strip("<> "))
                written = named.removeprefix("path/to/") if named else written
            continue
        wrong, fixed = _clean(text, WRONG), list[str]()
        while i < len(lines) and not lines[i].strip().startswith(WRONG):
            raw = lines[i]
            if not fixed and raw.strip().startswith(FIXED):
                fixed.append(_clean(raw, FIXED))
            elif fixed and not raw.strip():
                break  # a blank line ends the fixed lines
            elif fixed and _heads_pair(raw, lines[i + 1 : i + 2]):
                break  # so does the next pair's path line
            elif fixed:
                fixed.append(raw.rstrip())
            i += 1
        if wrong and fixed:
            out.append((written, wrong, fixed))
    return out


def line_blocks(reply: str, files: Mapping[str, str]) -> str:
    """``reply``'s WRONG/FIXED pairs as SEARCH/REPLACE blocks on ``files`` ("" when no pair's
    wrong line is in a file). Lines under FIXED are read as the model wrote them relative to the
    code's first column, or as already at the file's indentation when they are all indented at
    least as deep as the wrong line."""
    blocks = []
    for written, wrong, fixed in _pairs(reply):
        path = _where(written, files, wrong)
        if path is None:
            continue
        original = next(ln for ln in files[path].splitlines() if ln.strip() == wrong)
        indent = original[: len(original) - len(original.lstrip())]
        more = fixed[1:]
        least = min((len(m) - len(m.lstrip()) for m in more if m.strip()), default=0)
        at = "" if indent and least >= len(indent) else indent
        new = [indent + fixed[0], *(at + m if m.strip() else m for m in more)]
        blocks.append(
            f"{path}\n<<<<<<< SEARCH\n{original}\n=======\n" + "\n".join(new) + "\n>>>>>>> REPLACE"
        )
    return "\n\n".join(blocks)
