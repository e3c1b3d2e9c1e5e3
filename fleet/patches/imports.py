"""The imports a model's code uses but forgot: ``import itertools`` for ``itertools.islice``.

A small model writes ``return list(itertools.islice(iterable, n))`` in a module that imports
only ``from itertools import islice``: right, but a ``NameError`` on every call, and its
candidates fail every test for one missing line. ``add_missing_imports`` adds that line when the
name can only be one thing: a name no statement of the module binds (any scope: a parameter,
an assignment, a def, an import, ...) and that is not a builtin, used as

- ``name.attr`` where ``name`` is a top-level standard-library module (``import name``), or
- a bare name from the short table below (``from module import name``).

Anything else is left alone: a file that does not parse, a ``from x import *`` (it may bind
anything), a name bound anywhere in the file (even in another scope, to stay on the safe side).
Such a name raises ``NameError`` wherever it runs, so the import can only make that code work.
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Mapping

from fleet import pysource

# Unambiguous standard-library names small models use without importing them.
FROM = {
    **dict.fromkeys(
        ["Any", "Callable", "Dict", "Iterable", "Iterator", "List", "Optional", "Sequence",
         "Set", "Tuple", "Union"],
        "typing",
    ),
    **dict.fromkeys(["Counter", "OrderedDict", "defaultdict", "deque", "namedtuple"], "collections"),
    **dict.fromkeys(["lru_cache", "reduce", "cmp_to_key"], "functools"),
    **dict.fromkeys(
        ["accumulate", "chain", "combinations", "groupby", "islice", "permutations",
         "zip_longest"],
        "itertools",
    ),
    **dict.fromkeys(["heapify", "heappop", "heappush"], "heapq"),
    **dict.fromkeys(["bisect_left", "bisect_right"], "bisect"),
}  # fmt: skip

# modules never imported for the model: importing them acts (prints, opens a browser)
_NEVER = frozenset({"antigravity", "this"})
_MODULES = frozenset(m for m in sys.stdlib_module_names if not m.startswith("_")) - _NEVER
_BUILTINS = frozenset(dir(builtins))


def _bound(tree: ast.Module) -> set[str] | None:
    """Every name any statement of the module binds; None with a star import."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return names


def _needs(node: ast.AST, known: frozenset[str] | set[str], extra: Mapping[str, str]) -> str:
    """The import ``node`` needs ("" for none): a module used by attribute, a name in ``FROM``,
    or a name ``extra`` gives the import line of (it wins over the standard library's)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        name = node.value.id
        if not isinstance(node.value.ctx, ast.Load) or name in known:
            return ""
        if extra.get(name, "").startswith("import "):
            return extra[name]
        return f"import {name}" if name in _MODULES else ""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in known:
        name = node.id
        if name in extra:
            return extra[name]
        return f"from {FROM[name]} import {name}" if name in FROM else ""
    return ""


def missing_imports(source: str, extra: Mapping[str, str] | None = None) -> list[str]:
    """The import lines ``source`` needs for names it uses and never binds (sorted).

    ``extra``: name -> its import line, for names besides the standard library's (a QA test's
    call of the repository's own function: ``fleet.evidence.report_examples.import_table``)."""
    try:
        tree = pysource.parse(source)
    except SyntaxError:
        return []
    bound = _bound(tree)
    if bound is None:
        return []
    known = bound | _BUILTINS
    lines = {line for node in ast.walk(tree) if (line := _needs(node, known, extra or {}))}
    return sorted(lines, key=lambda line: (line.startswith("from "), line))


def unbound_names(source: str) -> set[str]:
    """The names ``source`` reads that no statement of it binds and that are not builtins
    (empty when it does not parse or star-imports)."""
    try:
        tree = pysource.parse(source)
    except SyntaxError:
        return set()
    bound = _bound(tree)
    if bound is None:
        return set()
    loads = (
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    )
    return set(loads) - bound - _BUILTINS


def _insert_at(tree: ast.Module) -> tuple[int, bool]:
    """The 0-based line before which new imports go: the module's first import (True), or after
    its docstring and ``from __future__`` imports when it has none (False)."""
    after = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            after = node.end_lineno or after
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            return node.lineno - 1, True
        if (
            node is tree.body[0]
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            after = node.end_lineno or after
            continue
        break
    return after, False


def add_missing_imports(
    source: str, before: str | None = None, extra: Mapping[str, str] | None = None
) -> tuple[str, list[str]]:
    """``source`` with the imports it misses added (see the module docstring), and those lines.

    ``before``: the file as it was; what it already missed is not the change's to fix (an echoed
    function must still read as "no change", not as a change that adds an import). ``extra``: as
    for ``missing_imports``."""
    old = set(missing_imports(before, extra)) if before else set()
    lines = [line for line in missing_imports(source, extra) if line not in old]
    if not lines:
        return source, []
    at, before_import = _insert_at(pysource.parse(source))
    text = source.split("\n")
    gap = [] if before_import or at >= len(text) or not text[at].strip() else [""]
    return "\n".join([*text[:at], *lines, *gap, *text[at:]]), lines
