"""The helpers a report defines in code, for the tests written from it.

A report often gives its example with a helper of its own: "define
``def always_fails(): raise ValueError('down')``; ``retry(3, ValueError)(always_fails)()`` returns
None". A test written from it calls ``always_fails`` too, and a small model leaves the definition
out: the test fails on a ``NameError``, which shows nothing about the code, and QA is asked again
for the same test. :func:`definitions` reads the report's functions, classes and names bound to
values from its code spans and fenced blocks; :func:`with_definitions` puts into a test module
the ones it uses and never binds (and the ones those use), after its imports.

The report is untrusted text and the test runs, and may ship, as code: a definition is taken only
when every name it reads is its own (parameters, locals), another definition of the report, a
pure builtin (``len``, ``str``, ...), a builtin exception class or a function or class of the
repository (the test imports it; not a package, whose attributes are whatever it imports); no
import, no ``global``, no dunder or frame attribute (``reflective``).
Anything else is left out (the test then fails as it did, on the ``NameError``). Pure.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping

from fleet import pysource
from fleet.patches.imports import unbound_names

_FENCED = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.S | re.I)
SPAN = re.compile(r"``\s?(.+?)\s?``|`([^`\n]+)`")  # a code span: ``a`` or `a`
# the builtins a definition may read (pure ones: no I/O, no eval, no attribute reflection)
SAFE_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "bytes", "dict", "divmod", "enumerate", "filter", "float",
    "frozenset", "int", "iter", "len", "list", "map", "max", "min", "next", "pow", "range",
    "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
})  # fmt: skip
EXCEPTIONS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(kind := getattr(builtins, name), type) and issubclass(kind, BaseException)
)
_FORBIDDEN = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)
_Defined = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
# attributes that reach the interpreter's insides without a dunder: a generator's frame and its
# f_builtins['open'], a traceback's frame, a code object
_REFLECTION = re.compile(r"^__|^(gi|cr|ag|f|tb|co)_")


def reflective(node: ast.AST) -> bool:
    """Whether ``node`` (untrusted code) reaches past the pure names: a dunder name, a dunder or
    frame/code attribute."""
    return any(
        (isinstance(n, ast.Name) and n.id.startswith("__"))
        or (isinstance(n, ast.Attribute) and _REFLECTION.match(n.attr) is not None)
        for n in ast.walk(node)
    )


def _code(report: str) -> list[str]:
    """The report's fenced blocks and code spans, in the report's order (a block's spans are the
    block's)."""
    blocks = [(m.start(), m.group(1)) for m in _FENCED.finditer(report)]
    rest = _FENCED.sub(lambda m: " " * len(m.group(0)), report)
    spans = [(m.start(), (m.group(1) or m.group(2) or "").strip()) for m in SPAN.finditer(rest)]
    return [code for _, code in sorted(blocks + spans)]


def _named(node: ast.stmt) -> str:
    """The one name ``node`` defines: a def, a class, ``name = value``; "" for anything else."""
    if isinstance(node, _Defined):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else ""
    return ""


def _reads(node: ast.stmt) -> set[str] | None:
    """The names ``node`` reads and does not bind itself; None when it imports, declares a
    global, or is ``reflective`` (the untrusted text's ways out of the pure names)."""
    if reflective(node):
        return None
    own: set[str] = set()
    reads: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, _FORBIDDEN):
            return None
        if isinstance(n, ast.Name):
            (reads if isinstance(n.ctx, ast.Load) else own).add(n.id)
        elif isinstance(n, ast.arg):
            own.add(n.arg)
        elif isinstance(n, _Defined | ast.ExceptHandler):
            own.add(n.name or "")
    return reads - own


def definitions(report: str, repository: frozenset[str] = frozenset()) -> dict[str, str]:
    """name -> source of each pure definition in ``report`` (module docstring), in the report's
    order; the first of two with one name. ``repository``: the names of the repository's code
    (``report_examples.repository_names``), which a definition may read (the test imports them:
    ``@retry(3)`` on a report's helper) and may not be: a report quoting the function it is about
    does not replace it in the test."""
    found: dict[str, tuple[ast.stmt, set[str]]] = {}
    for code in _code(report):
        try:
            tree = pysource.parse(code)
        except SyntaxError:
            continue
        for node in tree.body:
            name = _named(node)
            if name and name not in {*found, *repository} and (reads := _reads(node)) is not None:
                found[name] = (node, reads)
    pure = SAFE_BUILTINS | EXCEPTIONS | repository
    ok = set(found)
    while bad := {n for n in ok if found[n][1] - pure - ok}:  # a definition reading a bad one
        ok -= bad
    return {n: pysource.unparse(node) for n, (node, _) in found.items() if n in ok}


def with_definitions(source: str, defs: Mapping[str, str]) -> tuple[str, list[str]]:
    """``source`` (a test module) with the definitions of ``defs`` it reads and never binds, and
    those they read in turn, after its imports; and their names. Unchanged when it does not
    parse or needs none."""
    try:
        tree = pysource.parse(source)
    except SyntaxError:
        return source, []
    wanted = unbound_names(source) & set(defs)
    while more := {n for d in wanted for n in unbound_names(defs[d]) & set(defs)} - wanted:
        wanted |= more
    if not wanted:
        return source, []
    names = [n for n in defs if n in wanted]  # the report's order: a helper before its users
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    at = max((n.end_lineno or 0 for n in imports), default=0)
    lines = source.split("\n")
    head, tail = "\n".join(lines[:at]).rstrip(), "\n".join(lines[at:]).lstrip("\n")
    block = "\n\n\n".join(defs[n] for n in names)
    return "\n\n\n".join(part for part in (head, block, tail) if part), names
