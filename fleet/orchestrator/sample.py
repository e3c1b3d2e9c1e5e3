"""The bundled sample: a story the demo runs against ``tests/fixtures/sample_repo``.

The story's criteria are executable ("divide(6, 3) returns 2.0", "divide(1, 0) raises
ValueError ..."), so code turns them into acceptance tests while the developer's model writes
the change as edit blocks (:mod:`fleet.orchestrator.implement`). ``scripted_developer`` is the
scripted model's developer: it gives the known-good edits, so ``fleet demo --model scripted``
exercises every real part (council, sandbox, tests, gate, graph) deterministically.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fleet.contracts import ChatMessage
from fleet.prompts import render

SAMPLE_STORY: dict[str, Any] = {
    "title": "Add a divide operation to the calc package",
    "description": (
        "As a user of the calc package I want calc.divide(a, b) so that I can divide numbers "
        "the same way I add, subtract and multiply them."
    ),
    "acceptance_criteria": [
        "divide(6, 3) returns 2.0",
        "divide(1, 0) raises ValueError with the message 'division by zero'",
    ],
    "rigor": "L1",
}

OPS_DIVIDE = '''

def divide(a: float, b: float) -> float:
    """Return a / b; raise ValueError when b is zero."""
    if b == 0:
        raise ValueError("division by zero")
    return a / b
'''

TEST_DIVIDE = """import pytest

from calc.ops import divide


def test_divide():
    assert divide(6, 3) == 2.0


def test_divide_by_zero():
    with pytest.raises(ValueError, match="division by zero"):
        divide(1, 0)
"""


EDIT_DIVIDE = (
    "Add divide next to the other operations and export it.\n"
    "calc/ops.py\n<<<<<<< SEARCH\n=======\n" + OPS_DIVIDE.strip("\n") + "\n>>>>>>> REPLACE\n"
    "calc/__init__.py\n<<<<<<< SEARCH\n"
    "from calc.ops import add, multiply, subtract\n\n"
    '__all__ = ["add", "multiply", "subtract"]\n'
    "=======\n"
    "from calc.ops import add, divide, multiply, subtract\n\n"
    '__all__ = ["add", "divide", "multiply", "subtract"]\n'
    ">>>>>>> REPLACE\n"
    "tests/test_divide.py\n<<<<<<< SEARCH\n=======\n" + TEST_DIVIDE + ">>>>>>> REPLACE\n"
)


def scripted_developer(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    """A ScriptedChatModel script: the sample's change (as edit blocks) for change requests,
    schema-valid filler otherwise."""
    from fleet.testing.fakes import instance_of  # the scripted backend only (fleet.testing)

    text = messages[-1].content if messages else ""
    if schema is None and asks_for_a_change("\n".join(m.content for m in messages)):
        return EDIT_DIVIDE  # a change request (either edit format): the sample's change
    if schema is None:
        return f"Answer to: {' '.join(text.split()[:40])}"
    answer = instance_of(schema, text=" ".join(text.split()[:40]), seed=len(text))
    return json.dumps(_own_first(messages, schema, answer))


def asks_for_a_change(prompt: str) -> bool:
    """Whether ``prompt`` asks for a change: it holds an edit format, edit blocks or a council
    developer's whole functions (``council_formats``); the applier takes either kind of reply."""
    return "<<<<<<< SEARCH" in prompt or render("author.function_format") in prompt


def _own_first(
    messages: Sequence[ChatMessage], schema: dict[str, Any], answer: dict[str, Any]
) -> dict[str, Any]:
    """A ballot of ``developer-n`` ranks proposal n first (its own, in member order): the
    scripted developers disagree, so a council of several does not stop before its critique
    round by an accident of prompt lengths (the other fields stay filler)."""
    import re

    said = "\n".join(m.content for m in messages)  # the member's name is in its request
    found = re.search(r"You are developer-(\d+)\.", said)
    if not found or not schema.get("title", "").startswith("BallotDraft"):
        return answer
    n, own = schema["properties"]["ranking"]["items"]["maximum"], int(found[1])
    if own > n:
        return answer
    return {**answer, "ranking": [own, *(k for k in range(1, n + 1) if k != own)]}


def scripted_architect(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    """A ScriptedChatModel script for the architect: for a plan request, one task per function of
    the executable criteria (criteria numbered as the prompt lists them) and one per prose
    criterion, each prose task after the function tasks; schema-valid filler otherwise."""
    import re

    from fleet.orchestrator.planning import groups

    text = messages[-1].content if messages else ""
    if (schema or {}).get("title", "").startswith("PlanDraft"):
        listed = re.findall(r"^(\d+)\. (.+)$", text.split("The acceptance criteria are:", 1)[-1],
                            re.MULTILINE)  # fmt: skip
        number = {c: int(n) for n, c in listed}
        tasks: list[dict[str, Any]] = []
        functions: list[str] = []
        for i, group in enumerate(groups([c for _, c in listed]), 1):
            prose = len(group) == 1 and parse_criterion(group[0]) is None
            tasks.append({"id": f"t{i}", "criteria": [number[c] for c in group],
                          "depends_on": list(functions) if prose else []})  # fmt: skip
            if not prose:
                functions.append(f"t{i}")
        return json.dumps({"tasks": tasks, "reason": "one task per function; docs after them"})
    return scripted_developer(messages, schema)


def parse_criterion(criterion: str) -> Any:
    from fleet.criteria import parse

    return parse(criterion)
