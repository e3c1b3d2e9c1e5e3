"""A report's own helpers in the tests written from it (fleet/evidence/report_defs.py)."""

from __future__ import annotations

import ast

import pytest

from fleet.evidence.report_defs import definitions, with_definitions

# the development set's retry story (benchmarks/dev_tasks.yaml), as QA's model was given it
RETRY = (
    "retry swallows the error after the last try: With funcy 2.1, a function decorated with "
    "`@retry(3, ValueError)` that fails every time\nreturns None after three tries. Example:\n"
    "define `def always_fails(): raise ValueError('down')`; `retry(3, ValueError)(always_fails)()`"
    "\nreturns None instead of raising ValueError."
)
# QA's reply on that story (the 1.5B, recorded in the run at 94921d5): it never defines the helper
QA_TEST = (
    "import pytest\n\nfrom funcy.flow import retry\n\n\ndef test_1():\n"
    '    """Test that the function returns None after three tries."""\n'
    "    with pytest.raises(ValueError):\n        retry(3, ValueError)(always_fails)()\n"
)


def test_the_helper_a_report_defines_in_a_code_span_goes_into_the_test_that_uses_it():
    defs = definitions(RETRY, frozenset({"retry", "funcy"}))
    assert defs == {"always_fails": "def always_fails():\n    raise ValueError('down')"}
    source, added = with_definitions(QA_TEST, defs)
    assert added == ["always_fails"]
    tree = ast.parse(source)
    kinds = [type(n).__name__ for n in tree.body]
    assert kinds == ["Import", "ImportFrom", "FunctionDef", "FunctionDef"]
    assert [n.name for n in tree.body[2:]] == ["always_fails", "test_1"]  # type: ignore[attr-defined]
    namespace: dict[str, object] = {}
    exec(compile(ast.Module(body=tree.body[2:3], type_ignores=[]), "t", "exec"), namespace)
    with pytest.raises(ValueError, match="down"):
        namespace["always_fails"]()  # type: ignore[operator]


def test_a_fenced_block_gives_classes_functions_and_values_and_their_dependencies_follow():
    report = (
        "My setup:\n```python\nclass Boom(Exception):\n    pass\n\n"
        "def explode(x):\n    raise Boom(x)\n\nDATA = [3, 1, 2]\n```\n"
        "and `lambda: 0` is fine. `topk(2, DATA, key=explode)` raises Boom."
    )
    defs = definitions(report)
    assert list(defs) == ["Boom", "explode", "DATA"]
    test = "def test_t():\n    with pytest.raises(Exception):\n        topk(2, DATA, key=explode)\n"
    source, added = with_definitions(test, defs)
    assert added == ["Boom", "explode", "DATA"]  # Boom: explode reads it
    assert source.index("class Boom") < source.index("def explode") < source.index("def test_t")


def test_a_test_that_binds_the_name_itself_or_needs_none_is_left_alone():
    defs = definitions(RETRY)
    own = "def always_fails():\n    raise KeyError()\n\n\ndef test_1():\n    always_fails()\n"
    assert with_definitions(own, defs) == (own, [])
    assert with_definitions("def test_2():\n    assert 1\n", defs)[1] == []
    assert with_definitions("def test_(:\n", defs) == ("def test_(:\n", [])


def test_a_report_quoting_the_function_it_is_about_does_not_replace_it_in_the_test():
    report = "```python\ndef cut_suffix(s, suffix):\n    return ''\n```\n`cut_suffix('a', '')`"
    assert definitions(report, frozenset({"cut_suffix"})) == {}
    assert "cut_suffix" in definitions(report)  # a name the repository does not define


def test_a_definition_reading_anything_but_pure_names_is_left_out_with_those_that_use_it():
    report = (
        "`def reads(): return open('/etc/passwd').read()` and `def uses(): return reads()` and "
        "`def frame(): return (x for x in ()).gi_frame.f_builtins` and "
        "`def dunder(): return ().__class__` and `def ok(x): return len(str(x)) + cut(x)`\n"
        "```\ndef imp():\n    import os\n\ndef glob():\n    global cut\n```"
    )
    assert list(definitions(report, frozenset({"cut"}))) == ["ok"]
