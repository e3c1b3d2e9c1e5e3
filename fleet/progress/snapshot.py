"""The story's progress at a moment: :func:`fold` puts the pass over its events, the time per
step, the estimate and the budget together into a :class:`Progress`; :func:`story_budget` reads
the budget from models.yaml."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fleet.contracts import FleetEvent
from fleet.progress.model import Progress
from fleet.progress.reader import read
from fleet.progress.timing import _s, _steps, estimate


def fold(
    story_events: Iterable[FleetEvent],
    *,
    now_ms: int,
    history: Mapping[str, Sequence[float]] | None = None,
    budget: Any = None,
    time_limit_s: float | None = None,
) -> Progress:
    """The story's progress at ``now_ms``. ``budget``: models.yaml ``budgets.story`` (a
    :class:`fleet.config.models.Budget`, or None); ``history``: :func:`history_of` other stories."""
    f = read(story_events)
    steps = _steps(f, now_ms)
    end_ms = steps[-1].ended_ms if f.outcome and steps and steps[-1].ended_ms else now_ms
    in_step = steps[-1].work_s if steps and steps[-1].ended_ms is None else 0.0
    state = "DONE" if f.outcome else f.state
    est, note = estimate(state, in_step, history or {})
    return Progress(
        story_id=f.story_id,
        state=f.state,
        outcome=f.outcome,
        now=f.now,
        elapsed_s=_s(end_ms - f.created_ms) if f.created_ms else 0.0,
        steps=steps,
        tokens_spent=f.tokens,
        tokens_limit=getattr(budget, "tokens", None),
        cost_spent=round(f.cost, 6),
        cost_limit=getattr(budget, "cost", None),
        time_limit_s=time_limit_s,
        estimate_s=None if f.outcome and f.outcome != "done" else est,
        estimate_note=note,
    )


def story_budget() -> Any:
    """models.yaml ``budgets.story`` (None: no story budget, or no readable config)."""
    from fleet.config import load
    from fleet.errors import FleetError

    try:
        return load("models.yaml").budgets.get("story")
    except (FleetError, OSError):
        return None
