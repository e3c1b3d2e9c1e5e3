"""Functions without a body yet, and the continuation that gets one written.

Small coding models asked for an edit to a function that holds only its signature and
docstring often copy the stub back unchanged. Asked to *continue* the function instead (the
reply begins with the stub, the model writes what follows), the same model writes the body:
that is how it was trained. ``continuation`` builds that beginning for the stub a reply echoed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from fleet import pysource


@dataclass(frozen=True)
class Stub:
    """Top-level function ``name`` in ``path`` whose body is only a docstring / pass / ``...``
    (or, with ``why``, a new function to add there: its head is only ``def name(``)."""

    path: str
    name: str
    head: str  # its source from the first decorator through the docstring
    why: str = ""  # set: a function the task asks for that does not exist yet (the task's words)


def empty_body(body: Sequence[ast.stmt]) -> bool:
    """A body of only a docstring, ``pass``, ``...`` or ``raise NotImplementedError``."""
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or ``...``
        if isinstance(stmt, ast.Raise) and "NotImplementedError" in ast.dump(stmt):
            continue
        return False
    return True


def _is_str(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


Function = ast.FunctionDef | ast.AsyncFunctionDef


def top_functions(
    files: Mapping[str, str], read: Callable[[str, str], bool] | None = None
) -> Iterator[tuple[str, Function, list[str]]]:
    """(path, node, the file's lines) of every top-level function of the non-test Python files
    (``test_*.py`` left out; so is a file that does not parse), in path order. ``read(path,
    text)``: only the files it accepts are parsed."""
    for path, text in sorted(files.items()):
        if not path.endswith(".py") or path.rsplit("/", 1)[-1].startswith("test_"):
            continue
        if read is not None and not read(path, text):
            continue
        try:
            tree = pysource.parse(text)
        except SyntaxError:
            continue
        lines = text.split("\n")
        for node in tree.body:
            if isinstance(node, Function):
                yield path, node, lines


def stubs(files: Mapping[str, str]) -> list[Stub]:
    """Every body-less top-level function of the non-test Python files, in path order."""
    return [
        Stub(path, node.name, head_of(node, lines))
        for path, node, lines in top_functions(files)
        if empty_body(node.body)
    ]


def head_of(node: Function, lines: Sequence[str]) -> str:
    """A function's source from its first decorator through its docstring (its signature alone
    when it has none): what it promises, without how it does it."""
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    first = node.body[0]
    doc = isinstance(first, ast.Expr) and _is_str(first.value)
    end = (first.end_lineno or first.lineno) if doc else node.body[0].lineno - 1
    return "\n".join(lines[start - 1 : max(end, node.lineno)])


def named(files: Mapping[str, str], text: str) -> list[Stub]:
    """The body-less functions ``text`` (a task) names as a word."""
    import re

    return [s for s in stubs(files) if re.search(rf"\b{re.escape(s.name)}\b", text)]


def continuation(reply: str, files: Mapping[str, str]) -> Stub | None:
    """The stub ``reply`` names (or the only stub), when there is one to continue."""
    found = stubs(files)
    named = [s for s in found if f"def {s.name}(" in reply]
    if named:
        return named[0]
    return found[0] if len(found) == 1 else None


def prefix(stub: Stub) -> str:
    """The beginning of a reply that continues ``stub``: its path, a fence, its head."""
    return f"{stub.path}\n```python\n{stub.head}" + ("" if stub.why else "\n")


def completed(stub: Stub, text: str) -> str:
    """The whole reply, from a model's answer to a continuation request (some servers return
    the prefilled beginning with the continuation, some only the continuation, and a model
    that ignores the prefill answers with the whole function)."""
    start = prefix(stub)
    if text.startswith(start) or f"def {stub.name}(" in text:
        return text
    return start + text
