"""Bug reports are stories too: written in users' words, with examples, they are ready.

The coach reads them as bug reports (what I did, what I expected, what happened, an example)
instead of demanding "As a <role> I want ... so that ...", and "depends only on" in prose is no
dependency on other work.
"""

from __future__ import annotations

import pytest

from fleet.coach import DIMENSIONS, score_story
from fleet.contracts import Story
from fleet.story_kind import infer_kind, kind_of

BUGS = [
    Story(
        id="csv-semicolon",
        title="CSV export breaks rows when a note contains a semicolon",
        description="I exported the March invoices with export_csv(month='2024-03') and opened "
        "the file in a spreadsheet. Every invoice whose note contains a semicolon is split "
        "over two columns, e.g. the note 'paid; thanks' ends up as 'paid' and ' thanks'. I "
        "expected the note to stay in one cell, quoted like any other field with a separator.",
        acceptance_criteria=(
            "export_csv writes the note 'paid; thanks' as one quoted field",
            "a row with a semicolon in its note has the same number of fields as the header",
        ),
    ),
    Story(
        id="round-half",
        title="round_price returns 2.67 for 2.675 instead of 2.68",
        description="We charge customers with round_price() and a customer complained: "
        "round_price(2.675) gives 2.67, but prices should round half up to two decimals, "
        "so it should be 2.68. Same for round_price(0.125), which returns 0.12.",
        acceptance_criteria=(
            "round_price(2.675) returns 2.68",
            "round_price(0.125) returns 0.13",
            "round_price(1.005) returns 1.01",
        ),
    ),
    Story(
        id="cli-verbose",
        title="--verbose flag is ignored by the sync command",
        description="When I run `sync --verbose ./photos` I get exactly the same output as "
        "without the flag: one summary line. I expected one line per copied file, like the "
        "copy command prints with --verbose.",
        acceptance_criteria=(
            "sync --verbose prints one line per copied file with its path",
            "sync without --verbose prints only the summary line",
        ),
    ),
    Story(
        id="empty-cart",
        title="Checkout crashes with an empty cart",
        description="Steps to reproduce: log in, open the cart without adding anything and "
        "click Checkout. The page shows a 500 error and the log has ZeroDivisionError in "
        "average_item_price. An empty cart should show the message 'Your cart is empty' "
        "and stay on the cart page.",
        acceptance_criteria=(
            "Checkout with an empty cart shows the message 'Your cart is empty'",
            "Checkout with an empty cart returns status 200, not 500",
        ),
    ),
    Story(
        id="tz-dst",
        title="Meeting times shift by one hour after the DST change",
        description="I created a weekly meeting for Mondays at 09:00 Europe/Berlin in "
        "February. Since the clocks changed on 31 March, next_occurrence() returns 10:00 "
        "local time. A weekly meeting is supposed to stay at 09:00 local time all year.",
        acceptance_criteria=(
            "next_occurrence for a 09:00 Europe/Berlin meeting on 1 April returns 09:00 local",
            "next_occurrence across the October change also returns 09:00 local",
        ),
    ),
    Story(
        id="negative-page",
        title="GET /orders?page=-1 returns every order",
        description="By mistake I called GET /orders?page=-1&size=20 and got all 4,000 orders "
        "in one response, which took 9 seconds. I expected a 400 with a message saying the "
        "page must be 1 or more, the same as for page=0.",
        acceptance_criteria=(
            "GET /orders?page=-1 returns status 400 with the message 'page must be >= 1'",
            "GET /orders?page=1&size=20 still returns 20 orders",
        ),
    ),
    Story(
        id="yaml-env",
        title="Config loader drops keys that contain a dot",
        description="My settings file has the key 'db.host: localhost'. load_config('app.yaml') "
        "returns a dict without it, silently, and the app then connects to the default "
        "host. The loader should keep the key as written, or fail with an error naming it.",
        acceptance_criteria=(
            "load_config of a file with 'db.host: x' returns a dict whose 'db.host' is 'x'",
            "load_config returns every key of the file, the ones with a dot included",
        ),
    ),
    Story(
        id="abs-sign",
        title="format_delta shows '+-3' for negative changes",
        description="I use format_delta to print the change of a stock price. For a drop, "
        "format_delta(-3) returns '+-3' but it should return '-3'. The sign should depend "
        "only on the value: '+' for positive, '-' for negative, nothing for zero.",
        acceptance_criteria=(
            "format_delta(-3) returns '-3'",
            "format_delta(3) returns '+3'",
            "format_delta(0) returns '0'",
        ),
    ),
]


@pytest.mark.parametrize("story", BUGS, ids=lambda s: s.id)
def test_real_world_bug_reports_are_read_as_bugs_and_ready(story):
    assert infer_kind(story) == "bug"
    s = score_story(story)
    assert s.ready and s.dor >= 85, [f.reason for f in s.findings]
    assert s.invest["independent"] == 100 and s.invest["valuable"] == 100, s.findings
    assert not any("As a <role>" in f.suggestion for f in s.findings)


@pytest.mark.parametrize("story", BUGS, ids=lambda s: s.id)
def test_bug_report_points_lost_add_up(story):
    s = score_story(story)
    scores = {"dor": s.dor, **s.invest}
    for dim in DIMENSIONS:
        assert scores[dim] == 100 - sum(f.points_lost for f in s.findings if f.criterion == dim)


@pytest.mark.parametrize(
    "prose",
    [
        "The suffix should depend only on the absolute value.",
        "The result depends on the input and the locale.",
        "Whether it rounds up depends only on the third decimal.",
    ],
)
def test_depends_only_on_in_prose_loses_nothing_for_independence(prose):
    story = BUGS[7].model_copy(update={"description": f"{BUGS[7].description} {prose}"})
    assert score_story(story).invest["independent"] == 100


@pytest.mark.parametrize(
    "reference",
    [
        "This is blocked by the login rewrite.",
        "It can only start after #12 is merged.",
        "It depends on STORY-12.",
        "It depends on the new billing API.",
        "We are waiting for the payments team.",
    ],
)
def test_references_to_other_work_are_dependencies(reference):
    story = BUGS[0].model_copy(update={"description": f"{BUGS[0].description} {reference}"})
    s = score_story(story)
    assert s.invest["independent"] <= 50
    assert any("depends on other work" in f.reason for f in s.findings)


def test_a_bug_report_missing_its_parts_is_told_what_to_add():
    thin = Story(
        id="thin",
        title="Search is broken",
        description="The search page is broken and nobody can find anything in it anymore.",
        acceptance_criteria=("search works",),
    )
    s = score_story(thin)
    assert kind_of(thin) == "bug" or s.findings
    assert not s.ready
    text = "\n".join(s.suggestions)
    assert "expected behaviour" in text and "with an input" in text


def test_the_po_marks_the_kind_and_it_wins_over_inference():
    story = BUGS[1]
    as_feature = story.model_copy(update={"work_kind": "feature"})
    assert kind_of(as_feature) == "feature"
    # scored against the user-story sentence, the same text loses the template's points
    assert score_story(as_feature).dor < score_story(story).dor
    assert any("As a <role>" in f.suggestion for f in score_story(as_feature).findings)


def test_a_change_needs_a_reason_not_a_role():
    change = Story(
        id="rename",
        title="Rename the --out option to --output",
        description="Rename the --out option of the export command to --output because every "
        "other command of the tool spells it --output and users keep typing it wrong.",
        acceptance_criteria=(
            "export --output x.csv writes x.csv",
            "export --out x.csv still works and prints a deprecation warning",
        ),
    )
    assert infer_kind(change) == "change"
    assert score_story(change).ready and score_story(change).invest["valuable"] == 100
    no_reason = change.model_copy(update={"description": "Rename --out to --output please."})
    assert any("without a reason" in f.reason for f in score_story(no_reason).findings)


def test_feature_stories_stay_features():
    from tests.unit.test_coach import BORDERLINE, DEPENDENT, GOOD, VAGUE

    for story in (*GOOD, BORDERLINE, DEPENDENT, VAGUE):
        assert infer_kind(story) == "feature", story.id


def test_a_report_with_its_example_and_expected_result_needs_no_written_criteria():
    """The example and the expected result are the criterion (the suite step asserts them), and
    "and" in a report's title joins where the symptom shows, not two features."""
    report = Story(
        id="pad-short",
        title="pad_left drops characters for short and empty strings",
        description="With textkit 2.0, `pad_left('ab', 4)` returns `'b'` and "
        "`pad_left('', 2)` returns `''`. I expected `'  ab'` and `'  '`. Longer strings "
        "come out right.",
    )
    score = score_story(report)
    assert kind_of(report) == "bug" and score.ready and score.dor == 100, score.findings
    vague = report.model_copy(update={"description": "pad_left is wrong for short strings."})
    vague = vague.model_copy(update={"work_kind": "bug"})
    tips = score_story(vague).suggestions
    assert "add the expected result as a criterion, e.g. 'f(x) returns y'" in tips
    feature = Story(
        id="f",
        title="Export invoices and send reminders",
        description=report.description,
        work_kind="feature",
    )
    assert any("mixes two features" in f.reason for f in score_story(feature).findings)


def test_each_reason_is_suggested_once():
    """A reason costs points in several dimensions, each with its own wording of the fix: the PO
    reads one."""
    story = Story(id="s", title="Import and export", description="Make import and export work.")
    score = score_story(story)
    reasons = [f.reason for f in score.findings]
    assert len(reasons) > len(set(reasons))  # the same reason in several dimensions
    assert len(score.suggestions) == len(set(score.suggestions)) <= len(set(reasons))


def test_a_change_with_its_example_and_expected_result_needs_no_written_criteria():
    """As a report's: the suite step's first test of a change is its example (the story path
    refused such changes that the benchmark's councils were measured on)."""
    change = Story(
        id="ignore-default",
        title="ignore() should let me choose the value returned on an error",
        description="`ignore(errors)` makes a function return None when it raises one of the "
        "given errors. None is ambiguous for me; I want to choose the value. Please add a "
        "keyword argument `default`. `ignore(ZeroDivisionError, default=0)(lambda: 1 / 0)()` "
        "should return 0.",
        work_kind="change",
    )
    assert score_story(change).ready, score_story(change).findings
    vague = change.model_copy(update={"description": "Please let ignore() return another value."})
    assert not score_story(vague).ready
    assert any("no acceptance criteria" in f.reason for f in score_story(vague).findings)
