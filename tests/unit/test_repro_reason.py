"""Whether a reproduction test fails for the reported reason (fleet/pipeline/repro.py:
wrong_reason), judged on real pytest runs of small tests (junit report read by the evidence
runner's own reader, fleet.evidence.suite.outcomes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet.evidence.report_examples import report_test
from fleet.evidence.suite import outcomes
from fleet.pipeline.repro import wrong_reason

CODE = "def cut(s, suffix):\n    return s[: -len(suffix)] if s.endswith(suffix) else s\n"
REPORT = "cut('name.py', '') gives '' instead of 'name.py'"
RAISES = "cut('a', 'a') should raise a ValueError (nothing is left) but gives ''"


def _run(tmp_path: Path, body: str) -> object:
    (tmp_path / "strs.py").write_text(CODE)
    (tmp_path / "test_r.py").write_text(f"import pytest\nfrom strs import cut\n\n\n{body}")
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=r.xml",
         "-o", "junit_family=xunit1", "test_r.py"],
        cwd=tmp_path, capture_output=True, timeout=120,
    )  # fmt: skip
    (outcome,) = outcomes((tmp_path / "r.xml").read_text())
    return outcome


@pytest.mark.parametrize(
    ("report", "body", "why"),
    [
        # the reported reason: the user's expectation fails
        (REPORT, "def test_r():\n    assert cut('name.py', '') == 'name.py'\n", ""),
        # the exception the user expected is not raised
        (RAISES, "def test_r():\n    with pytest.raises(ValueError):\n        cut('a', 'a')\n", ""),
        # the report's call wrapped in pytest.raises(AssertionError): fails on any code
        (
            REPORT,
            "def test_r():\n    with pytest.raises(AssertionError):\n        cut('name.py', '')\n",
            "it expects AssertionError to be raised",
        ),
        # a test broken in itself
        (
            REPORT,
            "def test_r():\n    assert cutt('name.py', '') == 'name.py'\n",
            "the test itself is broken",
        ),
        # an exception the report does not describe
        (
            REPORT,
            "def test_r():\n    assert cut('name.py', 3) == 'name.py'\n",
            "it raised TypeError, which is not what the report describes",
        ),
        # it fails, but on an input of its own, not on the report's example
        (
            REPORT,
            "def test_r():\n    assert cut('name.py', '') == ''\n    assert cut('ab', 'b') == 'ab'\n",
            "it fails, but not on the report's example",
        ),
        # it does not show the bug at all
        (
            REPORT,
            "def test_r():\n    assert cut('ab', 'b') == 'a'\n",
            "it passed on the current code",
        ),
    ],
)
def test_a_reproduction_test_counts_only_when_it_fails_for_the_reported_reason(
    tmp_path, report, body, why
):
    got = wrong_reason(_run(tmp_path, body), report)
    assert got.startswith(why) and bool(got) == bool(why), got


def test_a_call_with_a_tuple_argument_and_a_long_repr_diff_is_still_the_reports_example(tmp_path):
    """A report's call may hold parentheses (``f((0, 0, 128))``), and a long object's repr diff
    fills the failure's excerpt: the line pytest marks is kept so the call can be recognised."""
    body = (
        "from collections import namedtuple\n\nRGB = namedtuple('RGB', 'red green blue')\n\n\n"
        "def pct(t):\n    return RGB(*(f'{v / 255 * 100:.2f}%' for v in t))\n\n\n"
        "def test_r():\n    assert pct((0, 0, 128)) == RGB(red='0.00%', green='0.00%', blue='50%')\n"
    )
    report = ("`pct((0, 0, 128))` returns `RGB(red='0.00%', green='0.00%', blue='50.20%')`. "
              "I expected `RGB(red='0.00%', green='0.00%', blue='50%')`.")  # fmt: skip
    outcome = _run(tmp_path, body)
    assert "> assert pct((0, 0, 128)) == RGB(" in outcome.excerpt and len(outcome.excerpt) <= 300
    assert wrong_reason(outcome, report) == ""
    # the report's only call with the failing input is the one holding parentheses
    other = "`pct((0, 0, 128))` gives blue 50.20% where I expected 50%; `pct([0, 0, 0])` is fine."
    assert wrong_reason(outcome, other) == ""


CHANGE = "Please add a keyword `keep_empty` to cut: `cut('name.py', '', keep_empty=True)` should return 'name.py'."
NEW_OPTION = "def test_r():\n    assert cut('name.py', '', keep_empty=True) == 'name.py'\n"


def test_a_change_storys_first_test_may_fail_because_the_option_it_asks_for_does_not_exist(
    tmp_path,
):
    """On the base the option the story asks for is missing: the call's TypeError names it, and
    that is the reason a change story's test fails there; a bug report's is not."""
    outcome = _run(tmp_path, NEW_OPTION)
    assert "unexpected keyword argument 'keep_empty'" in outcome.excerpt
    assert wrong_reason(outcome, CHANGE, "change") == ""
    assert wrong_reason(outcome, CHANGE).startswith(
        "it raised TypeError, which is not what the report"
    )


def test_an_unexpected_keyword_the_change_story_does_not_name_is_a_wrong_reason(tmp_path):
    body = "def test_r():\n    assert cut('name.py', '', keepempty=True) == 'name.py'\n"
    got = wrong_reason(_run(tmp_path, body), CHANGE, "change")
    assert got.startswith("it raised TypeError, which is not what the story describes"), got


def test_a_change_storys_test_that_passes_on_the_base_shows_nothing(tmp_path):
    got = wrong_reason(
        _run(tmp_path, "def test_r():\n    assert cut('ab', 'b') == 'a'\n"), CHANGE, "change"
    )
    assert got == "it passed on the current code, so it does not show that the change is missing"


def test_a_raise_the_report_writes_is_kept_only_where_the_base_does_not_raise_it(tmp_path):
    """The report's own "`f(x)` raises `E`" as a test, by code: a change story's new option
    is missing on the base (kept); a bug report's "raises" the base already does (not kept)."""
    change = "Add `keep_empty`: `cut('name.py', '', keep_empty=True)` raises `ValueError: empty`."
    _, source = report_test({"strs.py": CODE}, change)
    assert "with pytest.raises(ValueError):" in source
    assert wrong_reason(_run(tmp_path, source), change, "change") == ""
    bug = "`cut(None, 'a')` raises `AttributeError`, I expected None."
    _, source = report_test({"strs.py": CODE}, bug)
    got = wrong_reason(_run(tmp_path, source), bug)
    assert got == "it passed on the current code, so it does not show the bug"


def test_a_prose_plural_in_the_story_is_not_its_example(tmp_path):
    """``semicolon(s)`` reads like a call: taken for the story's example, it rejected the right
    test of sqlparse-split-strip-semicolon ("it fails, but not on the story's example")."""
    story = (
        "Please add a keyword `keep_empty` to `strs.cut`, so that the name of a file(s) stays: "
        "`strs.cut('name.py', '', keep_empty=True)` should return 'name.py'."
    )
    assert wrong_reason(_run(tmp_path, NEW_OPTION), story, "change") == ""
