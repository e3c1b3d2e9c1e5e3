"""Generated acceptance tests as a person would write them, once the change is known.

While the council works, nobody knows where a candidate will put a new function, so the
generated tests look it up by name (``acceptance.FINDER``'s ``_find``). The tests that ship are
read by people: once the winning tree is known, :func:`reviewable` replaces the lookup by the
import the repository's own tests would write (``from calc import divide`` when the package
exports the function, else ``from calc.ops import divide``; ``src/`` layouts without ``src``).
A name that cannot be placed unambiguously leaves the module as it was: it still works.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping

from fleet import pysource
from fleet.evidence.acceptance import FINDER

_SKIP_DIRS = ("tests", "test")


def _lookups(tree: ast.Module) -> set[str]:
    """The names the module looks up with ``_find('name')``."""
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_find"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def _defines(source: str, name: str) -> bool:
    try:
        tree = pysource.parse(source)
    except SyntaxError:
        return False
    return any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name for n in tree.body
    )


def _exports(init: str, name: str) -> bool:
    """Whether a package's ``__init__.py`` makes ``name`` importable from the package."""
    try:
        tree = pysource.parse(init)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(
            (a.asname or a.name) == name for a in node.names
        ):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
    return False


def _testing(path: str) -> bool:
    parts = path.split("/")
    hidden = any(p.startswith(".") for p in parts[:-1])
    return hidden or parts[0] in _SKIP_DIRS or parts[-1].startswith(("test_", "conftest"))


def import_of(name: str, tree: Mapping[str, str]) -> str | None:
    """``from <module> import <name>`` for the one non-test module of ``tree`` that defines
    ``name`` at its top level; None when none or several do."""
    found = [
        path
        for path, source in tree.items()
        if path.endswith(".py")
        and not _testing(path)
        and f"def {name}(" in source
        and _defines(source, name)
    ]
    if len(found) != 1:
        return None
    parts = found[0].removesuffix(".py").split("/")
    root = "src/" if parts[0] == "src" and len(parts) > 1 else ""
    parts = parts[1:] if root else parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    module = ".".join(parts)
    init = tree.get(f"{root}{parts[0]}/__init__.py")
    if len(parts) > 1 and init is not None and _exports(init, name):
        module = parts[0]
    return f"from {module} import {name}"


def reviewable(source: str, tree: Mapping[str, str]) -> str:
    """``source`` (a generated acceptance module) with ``_find`` replaced by imports resolved in
    ``tree`` (path -> text of the winning change's files); unchanged if any name is unplaced."""
    finder = next(
        (FINDER.format(depth=d) for d in range(1, 8) if FINDER.format(depth=d) in source), None
    )
    if finder is None:
        return source
    try:
        names = _lookups(pysource.parse(source))
    except SyntaxError:
        return source
    imports = {name: import_of(name, tree) for name in sorted(names)}
    if not names or any(line is None for line in imports.values()):
        return source
    head = "import pytest\n\n" + "".join(f"{line}\n" for line in imports.values())
    out = source.replace(finder, head, 1)
    for name in names:
        out = out.replace(f"_find({name!r})(", f"{name}(")
    try:
        if "_find" in out or _lookups(pysource.parse(out)):
            return source
    except SyntaxError:
        return source
    if not re.search(r"\bre\.", out.split(head, 1)[1]):
        out = out.replace("import re\n", "", 1)
    return out
