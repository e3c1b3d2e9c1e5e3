"""A developer's pack lists the suite's failing tests, but not QA's own examples: they may be
wrong themselves (the council never counts them against a candidate), and a developer told
that ``cut_suffix('name.py', 'py')`` must return ``'name'`` would break the function to obey."""

from __future__ import annotations

from fleet.context.digest import StoryDigest
from fleet.context.sections import _test_results
from fleet.contracts import Story, TaskResult
from fleet.events import Envelope, make_event
from fleet.testing.fakes import FakeClock

OUT = (
    "FAILED tests/test_report_example.py::test_report_example_1 - AssertionError: assert '' == 'a.py'\n"
    "FAILED tests/test_t1_qa_examples.py::test_cut_suffix_2 - AssertionError: assert 'name.' == 'name'\n"
    "PASSED tests/test_strings.py::test_cut_prefix\n"
)


def _digest(advisory: tuple[str, ...] | None) -> StoryDigest:
    clock, d = FakeClock(), StoryDigest("s1")
    d.apply("1-0", make_event("s1", "story.created", clock=clock,
                              payload=Story(id="s1", title="cut_suffix wipes the string")))  # fmt: skip
    if advisory is not None:
        data = {"deliberation_id": "d1", "advisory": list(advisory)}
        d.apply("2-0", make_event("s1", "council.suite", clock=clock, data=data,
                                  envelope=Envelope(key="d1")))  # fmt: skip
    run = TaskResult(spec_id="baseline:evidence:1", status="failed", exit_code=1, stdout=OUT)
    d.apply("3-0", make_event("s1", "sandbox.run", clock=clock, payload=run,
                              data={"argv": ["pytest", "-rA"], "role": "qa"}))  # fmt: skip
    return d


def test_qas_own_examples_are_not_shown_as_failures_to_fix():
    shown = _test_results(_digest(("tests/test_t1_qa_examples.py",)), None)
    assert shown is not None
    text = "\n".join(shown.items)
    assert "FAILING tests/test_report_example.py::test_report_example_1" in text
    assert "qa_examples" not in text
    assert "1 tests/commands passing" in text


def test_without_a_suite_every_failing_test_is_shown():
    shown = _digest(None)
    text = "\n".join(_test_results(shown, None).items)  # type: ignore[union-attr]
    assert "test_report_example_1" in text and "test_cut_suffix_2" in text
