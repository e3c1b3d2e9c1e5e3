"""The functions a change touched, as they read after it: how an author is shown its own version.

Shown its last patch as a unified diff, the 1.5B answered in diff form (``+``/``-`` lines,
``@@`` hunks inside its edit block) in 8 of the 22 debugging and revision replies of a council
on ``more-itertools-collapse-levels``: replies that apply nothing, or break the file. Shown the
functions as they now read, it has code to copy in the edit format it was asked for.
"""

from __future__ import annotations

import ast
import difflib

from fleet.pysource import parse


def changed_functions(old: str, new: str) -> list[str]:
    """The source of each function of ``new`` (a module-level function or a method of a
    module-level class, decorators included) holding a line the change from ``old`` added,
    altered or removed, in file order; [] when ``new`` does not parse or no such function holds
    one (the change lies outside functions)."""
    try:
        tree = parse(new)
    except SyntaxError:
        return []
    spans = []  # (first line, last line), 1-based, of every function that may be shown
    for node in tree.body:
        inner = node.body if isinstance(node, ast.ClassDef) else [node]
        for fn in inner:
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.end_lineno:
                first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
                spans.append((first, fn.end_lineno))
    lines = new.splitlines(keepends=True)
    touched: set[int] = set()
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # a removal touches the lines on either side of where it was
        touched.update(range(j1 + 1, j2 + 1) if j2 > j1 else (j1, j1 + 1))
    shown = [(a, b) for a, b in spans if any(a <= t <= b for t in touched)]
    return ["".join(lines[a - 1 : b]) for a, b in shown]
