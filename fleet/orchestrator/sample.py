"""The bundled sample: a story the demo runs against ``tests/fixtures/sample_repo``.

The story's criteria are executable ("divide(6, 3) returns 2.0", "divide(1, 0) raises
ValueError ..."), so the developer's model only fills in the returned expression and the
raise condition of one function (:mod:`fleet.orchestrator.function_draft`), which the
real SmolLM2-135M gets right on most attempts. ``scripted_developer`` is the scripted
model's developer: it gives the known-good answer, so ``fleet demo --model scripted``
exercises every real part (council, sandbox, tests, gate, graph) deterministically.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fleet.contracts import ChatMessage
from fleet.fakes import instance_of

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


def _current(messages: Sequence[ChatMessage], path: str) -> str | None:
    """The file's content as shown in the prompt ("### path" sections)."""
    text = messages[-1].content if messages else ""
    marker = f"### {path}\n"
    if marker not in text:
        return None
    body = text.split(marker, 1)[1]
    return body.split("\n\n### ", 1)[0].split("\nReply with", 1)[0].rstrip("\n") + "\n"


def solution(messages: Sequence[ChatMessage]) -> dict[str, str]:
    """The known-good change for the sample story (idempotent if already applied)."""
    ops = _current(messages, "calc/ops.py") or '"""Arithmetic operations."""\n'
    if "def divide" not in ops:
        ops = ops.rstrip("\n") + "\n" + OPS_DIVIDE
    return {"calc/ops.py": ops, "tests/test_divide.py": TEST_DIVIDE}


DIVIDE_DRAFT = {"returns": "a / b", "raise_if": ["b == 0"]}


def scripted_developer(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    """A ScriptedChatModel script: the sample's change for change requests, schema-valid filler otherwise."""
    text = messages[-1].content if messages else ""
    properties = (schema or {}).get("properties", {})
    if "returns" in properties:  # the function draft: the sample's one function
        return json.dumps({k: v for k, v in DIVIDE_DRAFT.items() if k in properties})
    if schema and "files" in properties:
        files = solution(messages)
        return json.dumps({"files": [{"path": p, "content": c} for p, c in files.items()]})
    if schema is None:
        return f"Answer to: {' '.join(text.split()[:40])}"
    return json.dumps(instance_of(schema, text=" ".join(text.split()[:40]), seed=len(text)))
