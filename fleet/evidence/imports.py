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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet import pysource
from fleet.contracts import Patch
from fleet.evidence.acceptance import FINDER, LIMIT, new_files
from fleet.evidence.suite import EvidenceSuite, with_suite
from fleet.unified_diff import DiffError, apply

_SKIP_DIRS = ("tests", "test")
UNPLACED = "a name it looks up is defined in no module of the change's tree, or in several"


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
    before, after = source.split(finder, 1)
    after = after.replace(LIMIT, "", 1)  # the evidence run's time limit does not ship
    for name in names:
        after = after.replace(f"_find({name!r})(", f"{name}(")
    # only the imports the tests use: stdlib, then pytest, then the code under test
    if not re.search(r"\bre\.", after):
        before = before.removesuffix("import re\n")
    head = "\n" if before.endswith("import re\n") else ""
    head += "import pytest\n\n" if re.search(r"\bpytest\.", after) else ""
    out = before + head + "".join(f"{line}\n" for line in imports.values()) + after
    try:
        if "_find" in out or _lookups(pysource.parse(out)):
            return source
    except SyntaxError:
        return source
    return out


@dataclass(frozen=True)
class Readable:
    """A change with its generated tests made reviewable: the ``patch`` to ship, the test files
    rewritten to import the code, those left with the lookup (path -> why), and the change as
    it was (``original``; None: the same as ``patch``)."""

    patch: Patch
    rewritten: tuple[str, ...] = ()
    unchanged: Mapping[str, str] = field(default_factory=dict)
    original: Patch | None = None
    merged: Mapping[str, str] = field(default_factory=dict)  # QA's examples -> their new module

    def facts(self) -> dict[str, Any]:
        """For the ``workspace.report`` event."""
        out = {"imports": list(self.rewritten), "lookup": dict(self.unchanged)}
        return {**out, "merged": dict(self.merged)} if self.merged else out


def readable(patch: Patch, files: Callable[[], Mapping[str, str]]) -> Readable:
    """``patch`` with each generated test file it creates (one with ``_find``) importing the
    code under test as the repository's own tests would; ``files()``: the base tree."""
    generated = {p: t for p, t in new_files(patch.diff).items() if "def _find(" in t}
    if not generated:
        return Readable(patch)
    try:
        tree = apply(files(), patch.diff)
    except DiffError:
        return Readable(patch, unchanged=dict.fromkeys(generated, "the change's tree is unread"))
    out = {p: reviewable(t, tree) for p, t in generated.items()}
    kept = {p: UNPLACED for p, t in out.items() if t == generated[p]}
    out = {p: t for p, t in out.items() if p not in kept}
    if not out:
        return Readable(patch, unchanged=kept)
    merged = _one_file_per_task(out)
    swap = EvidenceSuite(files=out, protected=(*out, *merged))
    paths = tuple(f for f in patch.files if f not in merged)
    shipped = with_suite(patch, swap).model_copy(update={"files": paths})
    return Readable(shipped, tuple(sorted(out)), kept, original=patch, merged=merged)


_IMPORT = re.compile(r"^(import [\w.]+|from [\w.]+ import [\w, ]+)$")
EXAMPLES, SPEC = "_qa_examples.py", "_acceptance.py"  # acceptance.build_suite's file names


def _one_file_per_task(out: dict[str, str]) -> dict[str, str]:
    """QA's own examples moved into their task's acceptance module in ``out`` (in place): one
    generated file per task. Examples path -> the module that now holds them."""
    moved: dict[str, str] = {}
    for path in [p for p in out if p.endswith(EXAMPLES)]:
        spec = path.removesuffix(EXAMPLES) + SPEC
        both = one_module(out[spec], out[path]) if spec in out else None
        if both is not None:
            out[spec] = both
            del out[path]
            moved[path] = spec
    return moved


def one_module(spec: str, more: str) -> str | None:
    """``spec`` (a task's acceptance module, importing the code) with the tests of ``more`` (QA's
    examples of the same functions) after its own, renamed ``test_qa_*``; None when either is not
    laid out as :func:`reviewable` writes them, or a name would clash."""
    parts = []
    for text in (spec, more):
        lines = text.splitlines()
        marks = [i for i, line in enumerate(lines) if _IMPORT.match(line)]
        if not marks:
            return None
        parts.append((lines[: marks[0]], lines[marks[0] : marks[-1] + 1], lines[marks[-1] + 1 :]))
    (doc, mine, body), (_, theirs, extra) = parts
    imports = {line for line in (*mine, *theirs) if line}
    if not all(_IMPORT.match(line) for line in imports):
        return None
    groups = [
        sorted(i for i in imports if i == "import re"),
        sorted(i for i in imports if i == "import pytest"),
        sorted(i for i in imports if i.startswith("from ")),
    ]
    head = "\n\n".join("\n".join(g) for g in groups if g)
    renamed = [re.sub(r"^def test_", "def test_qa_", line) for line in extra]
    while renamed and not renamed[0]:
        renamed.pop(0)
    note = "# QA's own examples of the same functions"
    out = "\n".join([*doc, head, *body, "", "", note, *renamed]).rstrip() + "\n"
    try:
        names = [n.name for n in pysource.parse(out).body if isinstance(n, ast.FunctionDef)]
    except SyntaxError:
        return None
    return out if len(names) == len(set(names)) else None
