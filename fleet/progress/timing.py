"""Time per step and the time left: a step's working seconds leave out the time the story
waited for the PO at a gate (so an estimate made from them does not count a human's lunch
break); :func:`estimate` adds up the median durations of earlier stories' steps."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

from fleet.contracts import FleetEvent
from fleet.progress.model import STEPS, Step
from fleet.progress.reader import _Fold, read


def _s(ms: int) -> float:
    return round(max(0, ms) / 1000.0, 3)


def _steps(fold: _Fold, now_ms: int) -> tuple[Step, ...]:
    out = []
    for s in fold.steps:
        end = s["ended_ms"] if s["ended_ms"] is not None else now_ms
        wait = s["wait"]
        if s["ended_ms"] is None and fold.parked_at is not None:
            wait += max(0, now_ms - fold.parked_at)  # waiting now, at this step's gate
        out.append(
            Step(
                state=s["state"],
                started_ms=s["started_ms"],
                ended_ms=s["ended_ms"],
                work_s=_s(end - s["started_ms"] - wait),
                waited_s=_s(wait),
            )
        )
    return tuple(out)


def step_durations(story_events: Iterable[FleetEvent]) -> dict[str, list[float]]:
    """Finished steps' working seconds by state, from one story's events (an estimate's input)."""
    fold = read(story_events)
    out: dict[str, list[float]] = {}
    for step in _steps(fold, 0):
        if step.ended_ms is not None:
            out.setdefault(step.state, []).append(step.work_s)
    return out


def history_of(stories: Iterable[Iterable[FleetEvent]]) -> dict[str, list[float]]:
    """Every story's finished step durations, pooled by state."""
    pooled: dict[str, list[float]] = {}
    for story in stories:
        for state, durations in step_durations(story).items():
            pooled.setdefault(state, []).extend(durations)
    return pooled


def estimate(
    state: str, in_step_s: float, history: Mapping[str, Sequence[float]]
) -> tuple[float | None, str]:
    """Seconds left: the median of the current step less the time already in it (at least 0),
    plus the median of each later step. None when a step to come has no recorded duration."""
    if state not in STEPS:
        return (0.0, "finished") if state == "DONE" else (None, "no estimate yet")
    to_come = STEPS[STEPS.index(state) :]
    if any(not history.get(s) for s in to_come):
        missing = ", ".join(s for s in to_come if not history.get(s))
        return None, f"no estimate yet (no finished {missing} step recorded)"
    medians = {s: statistics.median(history[s]) for s in to_come}
    left = max(0.0, medians[state] - in_step_s) + sum(medians[s] for s in to_come[1:])
    runs = min(len(history[s]) for s in to_come)
    return round(left, 1), f"median step durations of earlier stories (≥{runs} per step)"
