"""Hostile story criteria and stubs cannot put code into the probe module: a probe is built only
from literals (re-written with ``repr``) and identifiers, so the module calls nothing but the
function under test; and a candidate cannot change or ship the probes."""

from __future__ import annotations

import ast

import pytest

from fleet.evidence.acceptance import FINDER, build_suite
from fleet.evidence.probes import probe_calls, probe_module, signature_calls
from fleet.evidence.suite import EvidenceSuite, strip_paths

HOSTILE = [
    "f(__import__('os').system('touch /tmp/pwn')) returns 0",
    "f(\"x'); __import__('os').system('id'); ('\") returns 1",
    "f('''\\n''' + open('/etc/passwd').read()) returns 2",
    "f(1) returns 1); import os; os.system('id'",
    "f([1, 2], {'k': (lambda: 0)}) returns 3",
    "f('\\\\'); exec(\\'1\\') #', 2) returns 4",
]


def _names_in_probes(source: str) -> set[str]:
    """Every name the probe test functions use."""
    tree = ast.parse(source)
    return {
        n.id
        for fn in tree.body
        if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_probe_")
        for n in ast.walk(fn)
        if isinstance(n, ast.Name)
    }


def test_a_quoted_payload_is_varied_as_a_string_and_stays_one():
    calls = probe_calls([HOSTILE[1]])
    assert len(calls) == 4  # the payload is a string literal: it is varied, never run
    source = probe_module(calls, FINDER.format(depth=1)) or ""
    assert _names_in_probes(source) <= {"_observe", "record_property", "_find"}


@pytest.mark.parametrize("criterion", HOSTILE)
def test_criteria_with_code_never_reach_the_probe_module_as_code(criterion):
    calls = probe_calls([criterion])
    source = probe_module(calls, FINDER.format(depth=1))
    if source is None:
        return  # nothing literal to vary: no probes at all
    assert _names_in_probes(source) <= {"_observe", "record_property", "_find"}
    for call in calls:  # each probe is the function's name applied to literals only
        node = ast.parse(call, mode="eval").body
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        for arg in node.args:
            ast.literal_eval(arg)


def test_a_hostile_stub_signature_gives_no_probe():
    for head in (
        "def f(x: __import__('os').system('id')):\n    pass",
        "def f(x: int = __import__('os').system('id')):\n    pass",
        "def f(x: 'int'):\n    pass",
    ):
        calls = signature_calls(head)
        assert all(ast.literal_eval(c[2:-1] + ",") is not None for c in calls)
        if calls:
            assert _names_in_probes(probe_module(calls, FINDER.format(depth=1)) or "") <= {
                "_observe",
                "record_property",
                "_find",
            }


def test_a_candidate_cannot_edit_the_probes_and_they_are_not_shipped():
    suite, _ = build_suite(
        ["add(2, 3) returns 5"], name="t1", repo_tests=[], qa=None, baseline=lambda s: ()
    )
    (probes,) = suite.probes
    diff = (
        f"diff --git a/{probes} b/{probes}\n--- a/{probes}\n+++ b/{probes}\n@@ -1 +1 @@\n-x\n+y\n"
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    kept, dropped = strip_paths(diff, suite)
    assert dropped == (probes,) and probes not in kept and "calc.py" in kept
    assert isinstance(suite, EvidenceSuite) and probes not in suite.files
