"""The developer's function-draft path: criteria -> tests, guards, grammar, assembly (scripted model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleet.contracts import Story
from fleet.errors import InvalidModelOutput
from fleet.fakes import ScriptedChatModel
from fleet.orchestrator import acceptance, pysource
from fleet.orchestrator.function_draft import Spec, draft_schema, guards, patterns, problem
from fleet.orchestrator.implement import implement
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.sample import SAMPLE_STORY, scripted_developer

REPO = Path(__file__).resolve().parents[1] / "fixtures" / "sample_repo"
FILES = {str(p.relative_to(REPO)): p.read_text() for p in REPO.rglob("*.py")}
STORY = Story(id="s", **SAMPLE_STORY)


def test_criteria_parse_into_examples_and_prose_does_not():
    e = acceptance.parse("divide(1, 0) raises ValueError with the message 'division by zero'")
    assert (e.func, e.args, e.error, e.message) == (
        "divide",
        "1, 0",
        "ValueError",
        "division by zero",
    )
    assert acceptance.parse("calc.divide(6, 3) returns 2.0").value == "2.0"
    assert acceptance.parse("slugify strips characters that are not letters") is None
    assert (
        acceptance.parse("f(os.system('x')) returns 1") is None
    )  # only literals reach generated tests


def test_generated_tests_are_valid_python_asserting_each_criterion():
    text = acceptance.acceptance_tests(
        acceptance.examples(SAMPLE_STORY["acceptance_criteria"]), "calc.ops"
    )
    compile(text, "t.py", "exec")
    assert "from calc.ops import divide" in text and "divide(6, 3) == pytest.approx(2.0)" in text
    assert "pytest.raises(ValueError, match=re.escape('division by zero'))" in text


def test_guards_come_from_boundary_values_consistent_with_the_examples():
    cases = tuple(acceptance.examples(SAMPLE_STORY["acceptance_criteria"]))
    spec = Spec("divide", "a, b", "", cases, "calc/ops.py", "")
    assert guards(spec, ["a", "b"]) == ("b == 0",)
    avg = tuple(acceptance.examples(["avg([1]) returns 1.0", "avg([]) raises ValueError"]))
    assert guards(Spec("avg", "items", "", avg, "m.py", ""), ["items"]) == ("len(items) == 0",)


def test_patterns_accept_expressions_over_parameters_only():
    returns, condition = patterns(["a", "b"])
    assert re.match(returns, "a / b") and re.match(returns, "len(a) * 2 == b")
    assert not re.match(returns, "1.0") and not re.match(returns, "os.system('x')")
    assert re.match(condition, "b == 0") and not re.match(condition, "a % b")
    schema = draft_schema(("a", "b"), 1, ("b == 0",)).model_json_schema()
    assert schema["properties"]["raise_if"]["minItems"] == 1


def test_sample_change_is_spliced_exported_and_tested():
    task = plan_from_criteria(STORY)[0]
    change = implement(ScriptedChatModel(script=scripted_developer), STORY, task, None, FILES, [])
    assert sorted(change) == ["calc/__init__.py", "calc/ops.py", "tests/test_divide_acceptance.py"]
    assert "def divide(a: float, b: float) -> float:" in change["calc/ops.py"]
    assert change["calc/ops.py"].startswith(
        FILES["calc/ops.py"].rstrip("\n")
    )  # nothing else touched
    assert "divide" in change["calc/__init__.py"]
    again = pysource.splice(change["calc/ops.py"], "divide", "def divide(a, b):\n    return 0\n")
    assert again.count("def divide") == 1 and "return 0" in again


def test_sample_story_is_one_task_and_prose_criteria_stay_separate():
    assert len(plan_from_criteria(STORY)) == 1
    prose = STORY.model_copy(
        update={"acceptance_criteria": ("f(1) returns 1", "it is fast", "f(2) returns 2")}
    )
    assert [t.description.count(";") for t in plan_from_criteria(prose)] == [1, 0]


def test_model_text_that_is_not_a_safe_expression_is_refused():
    bad = ScriptedChatModel(
        script=lambda m, s: json.dumps({"returns": "a / c", "raise_if": ["b == 0"]})
    )
    task = plan_from_criteria(STORY)[0]
    with pytest.raises(InvalidModelOutput, match="should match pattern"):
        implement(bad, STORY, task, None, FILES, [])
    assert "not a parameter" in problem("a / c", ["a", "b"], "divide")
    assert "not a parameter" in problem("divide(a, b)", ["a", "b"], "divide")
    assert problem("a / b", ["a", "b"], "divide") is None
