"""Small, deterministic edits of Python source: where a function goes, its signature, splicing it in.

The developer's model only writes expressions; everything structural (which module,
which parameters, where the lines go) is decided here from the repository itself.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping

DEFAULT_PARAMS = {0: (), 1: ("x",), 2: ("a", "b"), 3: ("a", "b", "c")}


def _tree(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _functions(source: str) -> list[ast.FunctionDef]:
    tree = _tree(source)
    return [n for n in tree.body if isinstance(n, ast.FunctionDef)] if tree else []


def is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (
        path.startswith("tests/")
        or "/tests/" in path
        or name.startswith("test_")
        or name == "conftest.py"
    )


def target_module(files: Mapping[str, str], func: str, hint: str = "") -> str | None:
    """Where ``func`` belongs: the module defining it, else one the ``hint`` names, else the
    non-test module with the most top-level functions (where this code base keeps functions)."""
    modules = sorted(
        p for p in files if p.endswith(".py") and not is_test_path(p) and _tree(files[p])
    )
    for path in modules:
        if any(f.name == func for f in _functions(files[path])):
            return path
    for path in modules:
        dotted = path[:-3].replace("/", ".")
        if re.search(
            rf"(?<![\w.]){re.escape(path)}|(?<![\w.]){re.escape(dotted)}\.{re.escape(func)}\b", hint
        ):
            return path
    if not modules:
        return None
    return max(
        modules,
        key=lambda p: (len(_functions(files[p])), p.endswith("__init__.py") is False, -len(p)),
    )


def dotted(path: str) -> str:
    """``calc/ops.py`` -> ``calc.ops``."""
    return path[:-3].replace("/", ".").removesuffix(".__init__")


def signature(func: str, arity: int, source: str, hint: str = "") -> str:
    """The parameter list of ``func``: as it is already defined, as the story writes it
    (``divide(a, b)``), as a sibling with the same arity declares it, or ``a, b``."""
    siblings = _functions(source)
    for f in siblings:
        if f.name == func:
            return ast.unparse(f.args)
    if m := re.search(rf"\b{re.escape(func)}\(([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)?\)", hint):
        names = [n.strip() for n in (m.group(1) or "").split(",") if n.strip()]
        if len(names) == arity:
            same = [
                f for f in siblings if [a.arg for a in f.args.args] == names and not f.args.defaults
            ]
            return ast.unparse(same[0].args) if same else ", ".join(names)
    for f in siblings:
        if len(f.args.args) == arity and not (f.args.vararg or f.args.kwarg or f.args.kwonlyargs):
            return ast.unparse(f.args)
    return ", ".join(DEFAULT_PARAMS.get(arity, tuple(f"a{i}" for i in range(arity))))


def returns_annotation(source: str, params: str) -> str:
    """`` -> T`` copied from a sibling with the same parameters, else empty."""
    for f in _functions(source):
        if ast.unparse(f.args) == params and f.returns is not None:
            return f" -> {ast.unparse(f.returns)}"
    return ""


def param_names(params: str) -> list[str]:
    tree = _tree(f"def f({params}): pass")
    if not tree or not isinstance(tree.body[0], ast.FunctionDef):
        return []
    args = tree.body[0].args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def splice(source: str, func: str, code: str) -> str:
    """``source`` with the top-level function ``func`` replaced by ``code``, or ``code`` appended."""
    lines = source.splitlines()
    for f in _functions(source):
        if f.name == func and f.end_lineno is not None:
            start = min([f.lineno, *(d.lineno for d in f.decorator_list)]) - 1
            new = [*lines[:start], *code.rstrip("\n").splitlines(), *lines[f.end_lineno :]]
            return "\n".join(new).rstrip("\n") + "\n"
    body = source.rstrip("\n")
    return (body + "\n\n\n" if body else "") + code.rstrip("\n") + "\n"


def export(init_source: str, module: str, func: str) -> str | None:
    """The package ``__init__`` re-exporting ``func`` the way it re-exports its siblings from
    ``module`` (``from calc.ops import add`` and ``__all__``); None when it does not."""
    tree = _tree(init_source)
    if tree is None:
        return None
    lines = init_source.splitlines()
    edits: list[tuple[int, int, str]] = []
    for node in tree.body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == module
            and node.level == 0
            and node.end_lineno
        ):
            names = {a.name for a in node.names if a.asname is None}
            if func not in names and "*" not in names:
                edits.append(
                    (
                        node.lineno,
                        node.end_lineno,
                        f"from {module} import {', '.join(sorted(names | {func}))}",
                    )
                )
        elif (
            isinstance(node, ast.Assign)
            and [ast.unparse(t) for t in node.targets] == ["__all__"]
            and isinstance(node.value, ast.List | ast.Tuple)
            and node.end_lineno
            and edits
        ):
            listed = [
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
            if func not in listed:
                edits.append(
                    (
                        node.lineno,
                        node.end_lineno,
                        f"__all__ = {sorted([*listed, func])!r}".replace("'", '"'),
                    )
                )
    if not edits:
        return None
    for start, end, text in sorted(edits, reverse=True):
        lines[start - 1 : end] = [text]
    return "\n".join(lines).rstrip("\n") + "\n"
