"""The failure message of each failed test, read from pytest's junit report."""

from __future__ import annotations

from fleet.workspace import failure_messages, parse_junit

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
