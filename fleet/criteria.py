"""Acceptance criteria: an executable spec, which criteria a task is about, the order of tasks.

Criteria of the form "f(args) returns value" / "f(args) raises Error" are an executable spec.

The PO's criteria of this form are turned into pytest assertions deterministically (the
QA step), so the developer's model only has to write the implementation, and a criterion
means exactly what it says. Only Python literals are accepted as arguments and values:
the generated tests never contain anything the PO did not write as data.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fleet.contracts import Story, Task

_CALL = r"^\s*`?(?:[A-Za-z_]\w*\.)*(?P<func>[A-Za-z_]\w*)\((?P<args>.*)\)`?\s+"
_RETURNS = re.compile(
    _CALL + r"(?:returns|should return|==|is|gives)\s+`?(?P<value>.+?)`?\s*\.?\s*$"
)
_RAISES = re.compile(
    _CALL + r"(?:raises|should raise)\s+(?:an?\s+)?`?(?P<error>[A-Z]\w*(?:Error|Exception))`?"
    r"(?:\s+with\s+(?:the\s+)?message\s+(?P<q>['\"])(?P<message>.*)(?P=q))?\s*\.?\s*$"
)
ERRORS = (
    "ValueError",
    "TypeError",
    "ZeroDivisionError",
    "KeyError",
    "IndexError",
    "RuntimeError",
    "ArithmeticError",
    "LookupError",
    "OverflowError",
    "NotImplementedError",
    "Exception",
)


@dataclass(frozen=True)
class Example:
    """One executable criterion: ``func(args)`` returns ``value`` or raises ``error``."""

    func: str
    args: str  # source text of the arguments, e.g. "6, 3"
    value: str | None = None  # source of the expected value (a literal) when it returns
    error: str | None = None  # exception class name when it raises
    message: str | None = None  # expected message (substring) when it raises

    @property
    def call(self) -> str:
        return f"{self.func}({self.args})"

    @property
    def values(self) -> tuple[object, ...] | None:
        """The arguments as Python literals (None when they are not all literals)."""
        return _literals(self.args)

    @property
    def arity(self) -> int:
        return len(self.values or ())

    def render(self) -> str:
        """The criterion in canonical form, as the developer's model sees it."""
        if self.error:
            return f"{self.call} raises {self.error}" + (
                f" '{self.message}'" if self.message else ""
            )
        return f"{self.call} returns {self.value}"


def _literals(args: str) -> tuple[object, ...] | None:
    """The call's arguments as Python literals, or None if they are not all literals."""
    try:
        value = ast.literal_eval(f"({args},)") if args.strip() else ()
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, tuple) else None


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def parse(criterion: str) -> Example | None:
    """The criterion as an :class:`Example`, or None when it is prose (not executable)."""
    text = " ".join(criterion.split())
    if m := _RAISES.match(text):
        if _literals(m["args"]) is None or m["error"] not in ERRORS:
            return None
        return Example(m["func"], m["args"].strip(), error=m["error"], message=m["message"])
    if m := _RETURNS.match(text):
        value = m["value"].strip()
        if _literals(m["args"]) is None or not _is_literal(value):
            return None
        return Example(m["func"], m["args"].strip(), value=value)
    return None


def examples(criteria: Iterable[str]) -> list[Example]:
    """The executable criteria among ``criteria``, in order."""
    return [e for e in (parse(c) for c in criteria) if e is not None]


def _assertion(example: Example) -> list[str]:
    if example.error:
        match = f", match=re.escape({example.message!r})" if example.message else ""
        return [f"    with pytest.raises({example.error}{match}):", f"        {example.call}"]
    expected = example.value or "None"
    if isinstance(ast.literal_eval(expected), float):
        expected = f"pytest.approx({expected})"  # 0.1 + 0.2 must equal 0.3
    return [f"    assert {example.call} == {expected}"]


def acceptance_tests(cases: Sequence[Example], module: str) -> str:
    """A pytest module asserting every example against ``module`` (dotted, e.g. ``calc.ops``)."""
    funcs = sorted({e.func for e in cases})
    body: list[str] = []
    counts: dict[str, int] = {}
    for e in cases:
        counts[e.func] = counts.get(e.func, 0) + 1
        body += [
            "",
            "",
            f"def test_{e.func}_{counts[e.func]}():",
            f"    # acceptance: {e.render()}",
            *_assertion(e),
        ]
    text = "\n".join(body)
    head = [
        '"""Acceptance tests generated from the story\'s criteria (the fleet\'s QA step)."""',
        "",
    ]
    if "re.escape" in text:
        head += ["import re", ""]
    if "pytest." in text:
        head += ["import pytest", ""]
    head.append(f"from {module} import {', '.join(funcs)}")
    return "\n".join(head) + "\n" + text + "\n"  # two blank lines after the imports


def task_criteria(story: Story, task: Task) -> list[str]:
    """The story's criteria this task is about (all of them if the task names none)."""
    mine = [c for c in story.acceptance_criteria if c.strip() and c.strip() in task.description]
    return mine or [c for c in story.acceptance_criteria if c.strip()]


def topo_order(tasks: list[Task]) -> list[Task]:
    """Tasks in dependency order (stable); raises ValueError on a cycle."""
    by_id = {t.id: t for t in tasks}
    order: list[Task] = []
    state: dict[str, int] = {}

    def visit(task: Task) -> None:
        mark = state.get(task.id, 0)
        if mark == 2:
            return
        if mark == 1:
            raise ValueError(f"task graph has a cycle through {task.id}")
        state[task.id] = 1
        for dep in task.depends_on:
            if dep in by_id:
                visit(by_id[dep])
        state[task.id] = 2
        order.append(task)

    for t in tasks:
        visit(t)
    return order
