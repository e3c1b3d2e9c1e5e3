"""The source of a failing test, found by its id in the repository's files.

A failure excerpt says *that* ``test_negative_take`` failed and a line of why; the test itself
says what is expected (``self.assertRaises(ValueError, lambda: mi.take(-3, range(10)))``). An
author fixing its change reads the test, as a developer would. Test ids come in two shapes:
pytest's ``tests/test_x.py::TestCls::test_y[param]`` and the JUnit-derived
``tests/test_x/TestCls.py::test_y`` (the class as a path part); both are read. A test not found
(not in ``files``, a file that does not parse, a generated test the repository does not hold)
gives nothing: the excerpt stays the only word on it. A repository's files are read with a size cap
(big test modules are left out: more-itertools' ``tests/test_more.py`` is 256 kB), so
``with_tests`` reads the files the failing ids name on their own.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from fleet import pysource
from fleet.prompts import render

SOURCE_CHARS = 800  # of one test: small models have small windows
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ID = re.compile(r"[\w./-]+\.py::[\w:.\[\]-]+")


def _locate(files: Mapping[str, str], test_id: str) -> tuple[str, list[str], str] | None:
    """(file, enclosing classes, function name) of ``test_id``, or None."""
    path, _, rest = test_id.partition("::")
    parts = [p.split("[", 1)[0] for p in rest.split("::") if p]
    if not parts or not parts[-1].isidentifier():
        return None
    name, classes = parts[-1], parts[:-1]
    if path not in files:  # tests/test_x/TestCls.py -> tests/test_x.py, class TestCls
        path, cls = _junit(path)
        if path not in files or not cls.isidentifier():
            return None
        classes = [cls, *classes]
    return path, classes, name


def _junit(path: str) -> tuple[str, str]:
    """The JUnit-derived ``tests/test_x/TestCls.py``'s module and class: (``tests/test_x.py``,
    ``TestCls``); ("", ...) when the path has no directory."""
    head, _, cls = path.removesuffix(".py").rpartition("/")
    return (f"{head}.py" if head else ""), cls


def _ids(texts: Iterable[str]) -> dict[str, str]:
    """Test id without parameters -> the id as found, first mention first ("failed: path::test:
    message" loses its trailing colon)."""
    ids: dict[str, str] = {}
    for text in texts:
        for found in _ID.findall(text):
            test_id = found.rstrip(":.")
            ids.setdefault(test_id.split("[", 1)[0], test_id)
    return ids


def _function(body: Sequence[ast.stmt], classes: Sequence[str], name: str) -> ast.AST | None:
    for node in body:
        if classes and isinstance(node, ast.ClassDef) and node.name == classes[0]:
            return _function(node.body, classes[1:], name)
        if not classes and isinstance(node, _DEFS) and node.name == name:
            return node
    return None


def source_of(files: Mapping[str, str], test_id: str, chars: int = SOURCE_CHARS) -> str | None:
    """The source of the test ``test_id`` names (decorators included), clipped; None if not found."""
    where = _locate(files, test_id)
    if where is None:
        return None
    path, classes, name = where
    try:
        tree = pysource.parse(files[path])
    except SyntaxError:
        return None
    node = _function(tree.body, classes, name)
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.end_lineno is None:
        return None
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    lines = files[path].split("\n")[start - 1 : node.end_lineno]
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    text = "\n".join(ln[indent:] for ln in lines)
    if len(text) <= chars:
        return text
    marker = render("author.test_clipped")
    return text[: chars - len(marker)] + marker


def failing_tests(
    files: Mapping[str, str], texts: Iterable[str], *, limit: int = 2, chars: int = SOURCE_CHARS
) -> list[str]:
    """The sources of the first ``limit`` tests named in ``texts`` (findings, failure lines)
    that ``files`` hold, each headed by ``# <test id>``."""
    out: list[str] = []
    for key, test_id in _ids(texts).items():
        if len(out) >= limit:
            break
        if source := source_of(files, test_id, chars):
            out.append(render("author.test_source", test_id=key, source=source))
    return out


def with_tests(
    files: Mapping[str, str],
    texts: Iterable[str],
    read: Callable[[str], str | None],
    *,
    limit: int = 2,
) -> Mapping[str, str]:
    """``files`` plus the test files that the first ``limit`` test ids named in ``texts`` whose
    file exists point at and ``files`` lacks, read one by one with ``read(path)`` (None: not
    there). Ids of files nowhere (a generated test) do not count: ``failing_tests`` skips them too.
    """
    extra: dict[str, str] = {}
    found = 0
    for key in _ids(texts):
        if found >= limit:
            break
        path = key.partition("::")[0]
        # pytest's tests/test_x.py, else the JUnit-derived tests/test_x/TestCls.py's tests/test_x.py
        candidates = [c for c in (path, _junit(path)[0]) if c]
        if any(c in files or c in extra for c in candidates):
            found += 1
            continue
        for candidate in candidates:
            if (text := read(candidate)) is not None:
                extra[candidate] = text
                found += 1
                break
    return {**files, **extra} if extra else files
