"""Pure helpers of the workspace runner: e2e tests by convention."""

from __future__ import annotations


def test_e2e_tests_are_counted_by_their_directory():
    from fleet.workspace import e2e_counts, is_e2e

    xml = """<testsuites><testsuite>
    <testcase classname="tests.e2e.test_flow" name="test_ok"/>
    <testcase classname="tests.e2e.test_flow" name="test_bad"><failure message="x"/></testcase>
    <testcase classname="tests.e2e.test_flow" name="test_skip"><skipped/></testcase>
    <testcase classname="tests.test_ops" name="test_add"/>
    <testcase classname="e2e_helpers" name="test_not_e2e"/>
    </testsuite></testsuites>"""
    assert e2e_counts(xml) == (1, 1)
    assert is_e2e("tests.e2e.test_flow") and not is_e2e("tests.test_e2e") and not is_e2e("e2e")
