"""Rigor gating: a :class:`WorkspaceReport` judged against a profile (L0..L3) from ``rigor.yaml``.

Each dimension scores 0-100; the gate score is their weighted mean with the
profile's weights normalised to 1. A ``required`` dimension that scores 0
blocks whatever the total, because a high lint score must never hide a
broken build.
"""

from __future__ import annotations

from collections.abc import Callable

from fleet.config import DIMENSIONS, RigorConfig, RigorProfile
from fleet.contracts import DimensionScore, GateResult, WorkspaceReport
from fleet.errors import UnknownName

Scored = tuple[float, str, str | None]  # score, detail, failure (None when it did not fail)


def _build(r: WorkspaceReport, p: RigorProfile) -> Scored:
    if r.build_ok:
        return 100.0, "build ok", None
    if r.not_built:
        return 0.0, "not built", f"build: {r.not_built}"
    return 0.0, "build failed", "build: the workspace did not build"


def _pass_rate(name: str, passed: int, failed: int) -> Scored:
    total = passed + failed
    if total == 0:
        return 0.0, "no tests ran", f"{name}: no tests ran"
    score = 100.0 * passed / total
    detail = f"{passed} of {total} passed"
    return score, detail, (f"{name}: {failed} of {total} tests failed" if failed else None)


def _unit(r: WorkspaceReport, p: RigorProfile) -> Scored:
    return _pass_rate("unit", r.unit_passed, r.unit_failed)


def _e2e(r: WorkspaceReport, p: RigorProfile) -> Scored:
    return _pass_rate("e2e", r.e2e_passed, r.e2e_failed)


def _coverage(r: WorkspaceReport, p: RigorProfile) -> Scored:
    if r.coverage is None:  # a change not built has no coverage: the build's finding says why
        return 0.0, "not measured", None if r.not_built else "coverage: not measured"
    if p.coverage_target <= 0:
        return 100.0, f"{r.coverage:g}% (no target)", None
    score = min(100.0, 100.0 * r.coverage / p.coverage_target)
    detail = f"{r.coverage:g}% of target {p.coverage_target:g}%"
    failure = None
    if r.coverage < p.coverage_target:
        failure = f"coverage {r.coverage:g}% < target {p.coverage_target:g}%"
    return score, detail, failure


def _findings(name: str, found: int, limit: int) -> Scored:
    # Linear: 0 findings -> 100, `limit` or more -> 0; a limit of 0 tolerates nothing.
    score = 100.0 if found == 0 else max(0.0, 100.0 * (1 - found / limit)) if limit else 0.0
    detail = f"{found} findings (0 at {limit})"
    return score, detail, (f"{name}: {found} findings (scores 0 at {limit})" if found else None)


def _lint(r: WorkspaceReport, p: RigorProfile) -> Scored:
    return _findings("lint", r.lint_findings, p.max_lint_findings)


def _static(r: WorkspaceReport, p: RigorProfile) -> Scored:
    return _findings("static_analysis", r.static_findings, p.max_static_findings)


SCORERS: dict[str, Callable[[WorkspaceReport, RigorProfile], Scored]] = {
    "build": _build,
    "unit": _unit,
    "coverage": _coverage,
    "static_analysis": _static,
    "lint": _lint,
    "e2e": _e2e,
}
assert tuple(SCORERS) == DIMENSIONS  # a new dimension needs a scorer


def profile(config: RigorConfig, level: str) -> RigorProfile:
    """The profile for ``level``. Raises UnknownName listing the levels."""
    if level not in config.profiles:
        raise UnknownName(what="rigor level", name=level, valid=list(config.profiles))
    return config.profiles[level]


def evaluate(report: WorkspaceReport, level: str, config: RigorConfig) -> GateResult:
    """Score ``report`` against rigor profile ``level``: pass, warn or block, and why.

    Dimensions with weight 0 (or absent from the profile) are reported but do
    not count; only a ``required`` one can still block.

    Raises:
        UnknownName: ``level`` is not a profile in ``config``.
    """
    prof = profile(config, level)
    total_weight = sum(w for w in prof.weights.values() if w > 0)
    dims: list[DimensionScore] = []
    failures: list[str] = []
    weighted = 0.0
    for name in DIMENSIONS:
        raw = prof.weights.get(name, 0.0)
        weight = raw / total_weight if total_weight > 0 and raw > 0 else 0.0
        score, detail, failure = SCORERS[name](report, prof)
        dims.append(DimensionScore(name=name, weight=weight, score=score, detail=detail))
        if weight == 0:
            continue
        weighted += weight * score
        if failure:
            failures.append(failure)
    score = round(min(100.0, max(0.0, weighted)), 2)
    thresholds = prof.thresholds or config.thresholds
    blocking = [d.name for d in dims if d.name in prof.required and d.score == 0]
    for name in blocking:
        failures.append(f"{name} is required by {level} and scored 0")
    strict = [d.name for d in dims if d.name in prof.no_failures and d.score < 100]
    for name in strict:
        failures.append(f"{name} must not fail at {level}")
    blocking += strict
    if blocking or score < thresholds.warn_at:
        verdict = "block"
    elif score < thresholds.pass_at:
        verdict = "warn"
    else:
        verdict = "pass"
    if score < thresholds.pass_at:
        failures.append(
            f"score {score:g} < pass {thresholds.pass_at:g} (warn at {thresholds.warn_at:g})"
        )
    return GateResult(
        profile=level,
        score=score,
        verdict=verdict,
        dimensions=tuple(dims),
        failures=tuple(failures),
    )
