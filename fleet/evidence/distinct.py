"""One copy of each test: a small model repeats its test until the token limit.

QA's 1.5B, asked for the reproduction test at greedy, writes ``test_1`` and then the same body
again as ``test_2`` ... ``test_16`` until its reply is cut off (traces of the bench_agents runs).
Every copy then runs in every candidate's evidence run, fails on the base for the same reason,
and is listed once more in every later prompt's test results. :func:`distinct_tests` keeps the
first of the top-level test functions whose code is the same but for their names and
docstrings. Pure.
"""

from __future__ import annotations

import ast

from fleet import pysource
from fleet.evidence.acceptance import prune


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """What the test does: its decorators, arguments and statements, docstring left out."""
    body = node.body
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and len(body) > 1
    ):
        body = body[1:]
    parts = [*node.decorator_list, node.args, *body]
    return "\n".join(ast.dump(p, include_attributes=False) for p in parts)


def distinct_tests(source: str) -> tuple[str, list[str]]:
    """``source`` (a test module) without the top-level ``test`` functions that repeat an
    earlier one's code (docstring and name aside), and the names of those left out. Unchanged
    when it does not parse; a copy whose name the module uses elsewhere (or names another,
    kept, test) stays."""
    try:
        tree = pysource.parse(source)
    except SyntaxError:
        return source, []
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
             and n.name.startswith("test")]  # fmt: skip
    seen: set[str] = set()
    copies: list[str] = []
    for node in tests:
        key = _body(node)
        if key in seen:
            copies.append(node.name)
        seen.add(key)
    used = {x.id for x in ast.walk(tree) if isinstance(x, ast.Name)}
    kept = {n.name for n in tests} - set(copies)
    drop = [n for n in copies if n not in used and n not in kept]
    if not drop:
        return source, []
    # blank lines a copy leaves are kept: squeezing them could change a string in a kept test
    return prune(source, set(drop)), drop
