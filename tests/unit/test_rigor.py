"""Rigor gating for every profile in config/rigor.yaml: pass, warn, block, required, overrides."""

from __future__ import annotations

import pytest

from fleet.config import DIMENSIONS, RigorConfig, load
from fleet.contracts import WorkspaceReport
from fleet.errors import UnknownName
from fleet.rigor import evaluate

CFG: RigorConfig = load("rigor.yaml")


def report(**kw) -> WorkspaceReport:
    base = dict(
        build_ok=True,
        unit_passed=10,
        unit_failed=0,
        coverage=95.0,
        static_findings=0,
        lint_findings=0,
        e2e_passed=3,
        e2e_failed=0,
    )
    return WorkspaceReport(**{**base, **kw})


def dim(result, name):
    return next(d for d in result.dimensions if d.name == name)


@pytest.mark.parametrize("level", ["L0", "L1", "L2", "L3"])
def test_perfect_report_passes_every_profile(level):
    res = evaluate(report(), level, CFG)
    assert res.verdict == "pass" and res.score == pytest.approx(100)
    assert res.failures == ()
    assert [d.name for d in res.dimensions] == list(DIMENSIONS)
    assert sum(d.weight for d in res.dimensions) == pytest.approx(1.0)


@pytest.mark.parametrize("level", ["L0", "L1", "L2", "L3"])
def test_broken_build_blocks_every_profile(level):
    res = evaluate(report(build_ok=False), level, CFG)
    assert res.verdict == "block"
    assert "build: the workspace did not build" in res.failures
    assert f"build is required by {level} and scored 0" in res.failures


# --- L0: build .6, unit .3, lint .1; pass 70 / warn 50 (profile override)


def test_l0_tests_are_welcome_not_required():
    res = evaluate(report(unit_passed=0, lint_findings=0), "L0", CFG)
    assert res.score == pytest.approx(70) and res.verdict == "pass"
    assert "unit: no tests ran" in res.failures


def test_l0_warn():
    res = evaluate(report(unit_passed=0, lint_findings=40), "L0", CFG)
    assert res.score == pytest.approx(62) and res.verdict == "warn"
    assert dim(res, "lint").score == pytest.approx(20)
    assert "lint: 40 findings (scores 0 at 50)" in res.failures
    assert "score 62 < pass 70 (warn at 50)" in res.failures


def test_l0_ignores_unweighted_dimensions():
    res = evaluate(report(coverage=None, e2e_passed=0, static_findings=99), "L0", CFG)
    assert res.verdict == "pass" and res.failures == ()
    assert dim(res, "coverage").weight == 0 and dim(res, "coverage").score == 0


# --- L1: build .3, unit .4, coverage .1 (target 60), static .05, lint .15; global 90/70


def test_l1_pass_with_coverage_above_target():
    res = evaluate(report(coverage=61, e2e_passed=0), "L1", CFG)
    assert res.verdict == "pass" and res.score == pytest.approx(100)


def test_l1_warn_on_coverage_below_target():
    res = evaluate(report(coverage=10, lint_findings=8), "L1", CFG)
    assert 70 <= res.score < 90 and res.verdict == "warn"
    assert "coverage 10% < target 60%" in res.failures


def test_l1_a_failing_unit_test_blocks_whatever_the_score():
    # no_failures: [unit] in rigor.yaml: a broken test is never merely a warning at L1
    res = evaluate(report(unit_passed=8, unit_failed=2, coverage=30), "L1", CFG)
    assert res.score == pytest.approx(87) and res.verdict == "block"
    assert "unit must not fail at L1" in res.failures
    assert "unit: 2 of 10 tests failed" in res.failures
    assert "coverage 30% < target 60%" in res.failures
    assert dim(res, "unit").score == pytest.approx(80)


def test_l1_block_by_score():
    res = evaluate(report(unit_passed=5, unit_failed=5, coverage=0, lint_findings=20), "L1", CFG)
    assert res.score == pytest.approx(55) and res.verdict == "block"
    assert not any("required" in f for f in res.failures)


def test_l1_required_dimension_blocks_despite_warn_score():
    res = evaluate(report(build_ok=False), "L1", CFG)
    assert res.score == pytest.approx(70)  # would be a warn on score alone
    assert res.verdict == "block"


def test_l1_no_unit_tests_blocks():
    res = evaluate(report(unit_passed=0), "L1", CFG)
    assert res.verdict == "block" and "unit is required by L1 and scored 0" in res.failures


# --- L2: build .2, unit .3, coverage .2 (target 80), static .15, lint .1, e2e .05; max 5/5


def test_l2_pass_without_e2e_because_not_required():
    res = evaluate(report(e2e_passed=0), "L2", CFG)
    assert res.score == pytest.approx(95) and res.verdict == "pass"
    assert "e2e: no tests ran" in res.failures


def test_l2_warn():
    res = evaluate(report(coverage=60, lint_findings=2, static_findings=1, e2e_passed=0), "L2", CFG)
    assert res.score == pytest.approx(83) and res.verdict == "warn"
    assert dim(res, "static_analysis").score == pytest.approx(80)


def test_l2_block():
    res = evaluate(
        report(
            unit_passed=6,
            unit_failed=4,
            coverage=40,
            lint_findings=5,
            static_findings=9,
            e2e_passed=0,
        ),
        "L2",
        CFG,
    )
    assert res.score == pytest.approx(48) and res.verdict == "block"
    assert dim(res, "static_analysis").score == 0  # clamped, not negative


# --- L3: all six dimensions, coverage target 90, max 1/1, pass 95 / warn 80, e2e required


def test_l3_warn_on_a_single_lint_finding():
    res = evaluate(report(lint_findings=1), "L3", CFG)
    assert res.score == pytest.approx(90) and res.verdict == "warn"
    assert "score 90 < pass 95 (warn at 80)" in res.failures


def test_l3_block_without_e2e():
    res = evaluate(report(e2e_passed=0), "L3", CFG)
    assert res.score == pytest.approx(85)
    assert res.verdict == "block" and "e2e is required by L3 and scored 0" in res.failures


def test_l3_failed_e2e_counted_as_pass_rate():
    res = evaluate(report(e2e_passed=1, e2e_failed=3), "L3", CFG)
    assert dim(res, "e2e").score == pytest.approx(25)
    assert "e2e: 3 of 4 tests failed" in res.failures
    # 15 + 25 + 20 + 15 + 10 + 0.15 * 25 = 88.75 would warn, but L3 tolerates no e2e failure
    assert res.score == pytest.approx(88.75) and res.verdict == "block"
    assert "e2e must not fail at L3" in res.failures


def test_l0_tolerates_a_failing_test():
    res = evaluate(report(unit_passed=9, unit_failed=1), "L0", CFG)
    assert res.verdict != "block"


def test_profile_thresholds_override_global():
    res = evaluate(report(lint_findings=1), "L3", CFG)
    assert res.verdict == "warn"
    relaxed = CFG.model_copy(
        update={
            "profiles": {
                **CFG.profiles,
                "L3": CFG.profiles["L3"].model_copy(update={"thresholds": None}),
            }
        }
    )
    again = evaluate(report(lint_findings=1), "L3", relaxed)
    assert again.score == res.score and again.verdict == "pass"  # global pass is 90


def test_unknown_level():
    with pytest.raises(UnknownName, match="unknown rigor level 'L9'; valid: L0, L1, L2, L3"):
        evaluate(report(), "L9", CFG)


def test_deterministic_and_wire_safe():
    from fleet.contracts import WIRE, from_wire, to_wire

    res = evaluate(report(unit_failed=3, coverage=50), "L2", CFG)
    assert res == evaluate(report(unit_failed=3, coverage=50), "L2", CFG)
    assert from_wire(to_wire(res)) == res
    assert WIRE is not None
