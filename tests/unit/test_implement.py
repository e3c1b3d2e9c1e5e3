"""implement: which body-less functions a task asks for (the continuation's focus)."""

from __future__ import annotations

from fleet.contracts import Story, Task
from fleet.orchestrator.implement import asked_for

FILES = {
    "pkg/a.py": 'def trunc(x):\n    """Decimal part."""\n\n\ndef done(x):\n    return x\n',
    "pkg/b.py": 'def helper():\n    """Not asked for."""\n',
    "tests/test_a.py": 'def test_trunc():\n    """A test stub is never a target."""\n',
}


def _story(title: str, criteria: tuple[str, ...] = ()) -> tuple[Story, Task]:
    story = Story(id="s1", title=title, description="d", acceptance_criteria=criteria)
    return story, Task(id="T1", story_id="s1", role="developer", description=title)


def test_the_stubs_the_task_names_in_its_text_or_criteria():
    assert asked_for(*_story("Implement trunc"), FILES) == ["trunc"]
    assert asked_for(*_story("Fix it", ("helper() returns None",)), FILES) == ["helper"]


def test_functions_with_a_body_or_only_named_by_part_are_not_asked_for():
    assert asked_for(*_story("Make done faster; truncate the log"), FILES) == []


def test_generated_acceptance_tests_are_clean_for_the_pinned_ruff(tmp_path):
    # every generated file used to carry one lint finding (I001: one blank line after the
    # imports), counted against each change at the gate
    import subprocess
    import sys
    from pathlib import Path

    from fleet.criteria import acceptance_tests, examples

    cases = examples(["f(1) returns 2", "f('a') raises ValueError", "g([1, 2]) returns [2]"])
    (tmp_path / "m.py").write_text("def f(x):\n    return x\n\n\ndef g(x):\n    return x\n")
    (tmp_path / "test_m.py").write_text(acceptance_tests(cases, "m"))
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--select", "E,F,I,W",
                          "--output-format", "concise", "."], cwd=tmp_path,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stdout


CALC = {
    "calc/__init__.py": "from calc.ops import add, multiply, subtract\n",
    "calc/ops.py": "def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):\n    return a - b\n\n\n"
    "def multiply(a, b):\n    return a * b\n",
    "tests/test_ops.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}


def test_a_new_function_the_task_calls_goes_beside_the_functions_it_names():
    story = Story(
        id="s1",
        title="Add a divide operation",
        description="I want calc.divide(a, b) the same way I add, subtract and multiply them.",
        acceptance_criteria=("divide(6, 3) returns 2.0",),
    )
    (new,) = asked_for(story, Task(id="T1", story_id="s1", role="developer", description="x"), CALC)
    assert not isinstance(new, str)
    assert (new.path, new.name, new.head) == ("calc/ops.py", "divide", "def divide(a, b)")
    assert "divide(6, 3) returns 2.0" in new.why and "subtract" in new.why


def test_no_new_function_when_the_task_calls_only_known_or_builtin_names():
    assert asked_for(*_story("Make add faster", ("add(1, 2) returns 3", "len(x) is 2")), CALC) == []


def test_no_new_function_when_no_module_is_clearly_its_home():
    assert asked_for(*_story("Implement power", ("power(2, 3) returns 8",)), CALC) == []


DIVIDE = _story("Add a divide operation to the calc package", ("divide(6, 3) returns 2.0",))


def test_a_new_function_goes_to_the_one_module_of_the_package_the_task_names():
    files = {**CALC, "calc/ops.py": "def plus(a, b):\n    return a + b\n"}
    (new,) = asked_for(*DIVIDE, files)
    assert not isinstance(new, str) and new.path == "calc/ops.py"


def test_a_new_functions_parameters_come_from_a_sibling_of_the_same_arity():
    files = {**CALC, "calc/ops.py": "def add(a: float, b: float) -> float:\n    return a + b\n"}
    (new,) = asked_for(*DIVIDE, files)
    assert not isinstance(new, str) and new.head == "def divide(a: float, b: float)"


def test_prose_in_brackets_is_not_a_call():
    story = Story(id="s1", title="Add an operation (like add) to calc", description="d")
    task = Task(id="T1", story_id="s1", role="developer", description=story.title)
    assert asked_for(story, task, CALC) == []
