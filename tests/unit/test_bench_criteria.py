"""The benchmark's HumanEval criteria: every docstring example, the last one included."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_agents import criteria_of  # noqa: E402

PROMPT = '''def below_zero(ops):
    """ Detect a negative balance.
    >>> below_zero([1, 2, 3])
    False
    >>> below_zero([1, 2, -4, 5])
    True
    """
'''


def test_the_last_example_is_a_criterion_without_the_docstring_quotes():
    assert criteria_of(PROMPT, "below_zero") == (
        "below_zero([1, 2, 3]) returns False",
        "below_zero([1, 2, -4, 5]) returns True",
    )


def test_a_multi_line_result_is_not_a_criterion():
    prompt = 'def f(x):\n    """\n    >>> f(1)\n    1\n    2\n    """\n'
    assert criteria_of(prompt, "f") == ()


@pytest.mark.parametrize(
    ("bad", "why"), [("79-80", "reserved"), ("x", "not an id"), ("3-y", "not an id")]
)
def test_ids_refuse_the_reserved_problems_and_garbage(bad, why):
    from bench_agents import _ids

    with pytest.raises(ValueError, match=why):
        _ids(bad)


def test_ids_take_lists_and_ranges():
    from bench_agents import _ids

    assert _ids("10, 20,64-66") == [10, 20, 64, 65, 66]
    assert _ids("") == []


def test_examples_written_as_lines_are_criteria_when_there_is_no_doctest():
    prompt = '''def iscube(a):
    """Is a a cube?
    Examples:
    iscube(1) ==> True
    iscube(2) => false
    for iscube(64) == True.
    iscube(8)   # returns True
    iscube(180) -> 180 = 5 * 36
    myiscube(3) == 1
    """
'''
    assert criteria_of(prompt, "iscube") == (
        "iscube(1) returns True",
        "iscube(2) returns False",
        "iscube(64) returns True",
        "iscube(8) returns True",
    )
    doctest = prompt.replace("Examples:", ">>> iscube(27)\n    True\n")
    assert criteria_of(doctest, "iscube") == ("iscube(27) returns True",)
