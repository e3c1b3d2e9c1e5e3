"""One copy of each test: QA's 1.5B repeats its reproduction test as ``test_1`` ... ``test_16``
until the token limit; the copies are left out of the suite, and tests of one module failing
alike are one line of a developer's pack."""

from __future__ import annotations

from fleet.context.digest import StoryDigest
from fleet.context.sections import _test_results
from fleet.contracts import Story, TaskResult
from fleet.events import make_event
from fleet.evidence.distinct import distinct_tests
from fleet.testing.fakes import FakeClock

REPEATED = '''import pytest

from funcy.flow import retry


def test_1():
    """Test that the function returns None after three tries."""
    with pytest.raises(ValueError):
        retry(3, ValueError)(always_fails)()

def test_2():
    """Test that the function sleeps once more after the last try."""
    with pytest.raises(ValueError):
        retry(3, ValueError)(always_fails)()


@pytest.mark.slow
def test_3():
    with pytest.raises(ValueError):
        retry(3, ValueError)(always_fails)()

def test_4():
    with pytest.raises(ValueError):
        retry(2, ValueError)(always_fails)()

def test_5():
    with pytest.raises(ValueError):
        retry(3, ValueError)(always_fails)()
'''


def _tests(source: str) -> list[str]:
    return [ln.split("(")[0].removeprefix("def ") for ln in source.splitlines()
            if ln.startswith("def test_")]  # fmt: skip


def test_a_repeated_test_is_kept_once_docstring_and_name_aside():
    text, dropped = distinct_tests(REPEATED)
    assert dropped == ["test_2", "test_5"]
    # a decorator or another argument is another test
    assert _tests(text) == ["test_1", "test_3", "test_4"]
    assert "@pytest.mark.slow\ndef test_3" in text and "sleeps once more" not in text
    compile(text, "t.py", "exec")


def test_a_module_without_repeats_or_that_does_not_parse_is_unchanged():
    once = "def test_a():\n    assert f(1) == 2\n\ndef test_b():\n    assert f(2) == 3\n"
    assert distinct_tests(once) == (once, [])
    broken = REPEATED + "def test_6(:\n"
    assert distinct_tests(broken) == (broken, [])


def test_a_copy_the_module_refers_to_is_kept():
    source = "def test_a():\n    assert f(1)\n\ndef test_b():\n    assert f(1)\n\nALL = [test_b]\n"
    assert distinct_tests(source) == (source, [])


def _digest(lines: str) -> StoryDigest:
    clock, d = FakeClock(), StoryDigest("s1")
    d.apply("1-0", make_event("s1", "story.created", clock=clock,
                              payload=Story(id="s1", title="retry swallows the error")))  # fmt: skip
    run = TaskResult(spec_id="baseline:evidence:1", status="failed", exit_code=1, stdout=lines)
    d.apply("2-0", make_event("s1", "sandbox.run", clock=clock, payload=run,
                              data={"argv": ["pytest", "-rA"], "role": "qa"}))  # fmt: skip
    return d


def test_tests_of_one_module_failing_alike_are_one_line_of_the_pack():
    out = "".join(
        f"FAILED tests/test_qa.py::test_{i} - Failed: DID NOT RAISE ValueError\n"
        for i in range(1, 17)
    )
    out += "FAILED tests/test_qa.py::test_other - AssertionError: assert 1 == 2\n"
    out += "FAILED tests/test_more.py::test_x - Failed: DID NOT RAISE ValueError\n"
    shown = _test_results(_digest(out), None)
    assert shown is not None
    failing = [x for x in shown.items if x.startswith("FAILING")]
    assert failing == [
        "FAILING tests/test_qa.py::test_1, tests/test_qa.py::test_2, tests/test_qa.py::test_3, "
        "tests/test_qa.py::test_4 and 12 more: Failed: DID NOT RAISE ValueError",
        "FAILING tests/test_qa.py::test_other: AssertionError: assert 1 == 2",
        "FAILING tests/test_more.py::test_x: Failed: DID NOT RAISE ValueError",
    ]
