"""Model output is hostile input: QA's own examples (``fleet/council/examples.py``) become test
code, so a reply that tries to put code into the advisory test module, call another function, or
forge a pass gets only literal calls of the task's functions in, nothing else."""

from __future__ import annotations

import ast

from fleet.council import examples
from fleet.evidence.acceptance import Qa, build_suite

HOSTILE_REPLY = "\n".join(
    [
        "f(__import__('os').system('touch /tmp/pwn')) returns 0",
        "f(\"x'); __import__('os').system('id'); ('\") returns 1",
        "f(1) returns 1); import os; os.system('id'",
        "f(2) returns open('/etc/passwd').read()",
        "f([1, 2], {'k': (lambda: 0)}) returns 3",
        "os.system('id') returns 0",
        "exec('import os') returns None",
        "g(1) returns 1",  # a function the task is not about
        "f(3) returns 9  # the only honest line",
        "f(4) returns 16",
    ]
)


def _calls(source: str) -> set[str]:
    """Every function name the test functions call (``_find('f')(...)`` counts as ``_find``)."""
    tree = ast.parse(source)
    out = set()
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_"):
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    out.add(node.func.id)
    return out


def test_hostile_example_lines_put_no_code_into_the_advisory_tests():
    got = examples.lines(HOSTILE_REPLY, ["f"], ())
    # a quoted payload is a string argument (data, re-written with repr); a comment is dropped
    assert got == [
        "f(\"x'); __import__('os').system('id'); ('\") returns 1",
        "f(3) returns 9",
        "f(4) returns 16",
    ], got
    suite, _ = build_suite(
        (), name="t1", repo_tests=(), baseline=lambda s: [],
        qa=Qa(examples=lambda c: examples.lines(HOSTILE_REPLY, ["f"], c)),
    )  # fmt: skip
    source = suite.files["tests/test_t1_qa_examples.py"]
    assert _calls(source) == {"_find"}  # the test functions call nothing but the function found
    strings = [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant)]
    assert any("system('id')" in str(v) for v in strings)  # the payload is only a string
    assert "passwd" not in source and "lambda" not in source and "pwn" not in source


def test_a_qa_example_cannot_make_a_wrong_candidate_pass_or_a_right_one_fail():
    """Advisory tests rank; they never decide who passes the suite (a forged expected value)."""
    from fleet.contracts import TestOutcome as Outcome
    from fleet.evidence import agree, evidence_of

    adv = "tests/test_t1_qa_examples.py::"
    right = evidence_of("right", (Outcome(test_id="a::t", passed=True),
                                  Outcome(test_id=f"{adv}forged", passed=False)), digest="r")  # fmt: skip
    wrong = evidence_of("wrong", (Outcome(test_id="a::t", passed=False),
                                  Outcome(test_id=f"{adv}forged", passed=True)), digest="w")  # fmt: skip
    found = agree([right, wrong], advisory=(adv,))
    assert found.full == {"right": True, "wrong": False}
    assert found.key("right") > found.key("wrong")
