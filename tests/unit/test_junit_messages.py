"""The failure message of each failed test, read from pytest's junit report."""

from __future__ import annotations

from fleet.workspace import failure_messages, junit_problem, parse_junit

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_acc" name="test_prefixes_1"><failure message="assert ['', 'a'] == ['a', 'ab']&#10;  At index 0 diff">long traceback</failure></testcase>
<testcase classname="tests.test_acc" name="test_boom"><error message="">ImportError: no module named calc
more</error></testcase>
<testcase classname="tests.test_acc" name="test_ok"/>
</testsuite></testsuites>"""


def test_each_failed_test_has_the_first_line_of_its_message():
    why = failure_messages(JUNIT)
    assert why == {
        "tests/test_acc.py::test_prefixes_1": "assert ['', 'a'] == ['a', 'ab']",
        "tests/test_acc.py::test_boom": "ImportError: no module named calc",
    }
    assert set(why) == set(parse_junit(JUNIT)[2])


def test_a_long_message_is_cut():
    long = JUNIT.replace("assert ['', 'a']", "assert " + "x" * 900)
    assert len(failure_messages(long)["tests/test_acc.py::test_prefixes_1"]) == 240


PASSING = (
    '<testsuites><testsuite name="pytest"><testcase classname="t" name="test_a"/>'
    '<testcase classname="t" name="test_b"/></testsuite></testsuites>'
)


def test_a_report_is_believed_only_when_the_run_tells_the_same_story():
    honest = "collected 2 items\n\nt.py ..\n\n===== 2 passed in 0.01s =====\n"
    assert junit_problem(PASSING, honest, 0) is None
    # the repository deselects a test (addopts -m): the report lists the selected ones
    selected = honest.replace("2 items", "3 items / 1 deselected / 2 selected").replace(
        "2 passed", "2 passed, 1 deselected"
    )
    assert junit_problem(PASSING, selected, 0) is None
    # a report rewritten after a run that failed, or that collected more than it lists
    assert "failed" in (
        junit_problem(PASSING, honest.replace("2 passed", "1 failed, 1 passed"), 1) or ""
    )
    assert "collection found 3" in (
        junit_problem(PASSING, honest.replace("2 items", "3 items"), 0) or ""
    )
    assert "exited with 1" in (junit_problem(PASSING, honest, 1) or "")


def test_a_quiet_run_is_checked_by_its_summary_line():
    """A repository whose addopts make pytest quiet (-q): no "collected" line, a bare summary."""
    quiet = "..                                                  [100%]\n2 passed in 0.04s\n"
    assert junit_problem(PASSING, quiet, 0) is None
    assert junit_problem(PASSING, quiet.replace("2 passed", "1 passed, 1 deselected"), 0)
    assert "failed" in (junit_problem(PASSING, "F.\n1 failed, 1 passed in 0.1s\n", 1) or "")
    # no summary at all (-qq), or a second one printed by the code under test: not believed
    assert "summary" in (junit_problem(PASSING, "..\n", 0) or "")
    assert "summary" in (junit_problem(PASSING, "2 passed in 0.0s\n" + quiet, 0) or "")
