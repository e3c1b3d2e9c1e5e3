"""A story's progress as a PO reads it: per step the time spent, what is happening now, the
budget spent and left, and an estimate of the time left from earlier stories' step durations.

Pure: :func:`fold` reads a story's events (the timeline is the truth) and the caller's clock
and history; ``fleet run``, the gateway (``GET /stories/{id}/progress``, the UI) and the report
render the :class:`Progress` it returns. Step durations leave out the time a story waited for
the PO at a gate, so an estimate made from them does not count a human's lunch break.

- ``model``: ``Progress``, ``Step`` and ``STEPS`` (the lifecycle's working states, in order).
- ``reader``: one pass over a story's events (``_Fold``): step boundaries, PO waits, tokens and
  cost, and what is happening now in words (``DOING``, ``sandbox_words``).
- ``timing``: working seconds per step, ``step_durations``, ``history_of`` and ``estimate``.
- ``snapshot``: ``fold`` (all of the above at ``now_ms``) and ``story_budget`` (models.yaml).

The words of a ``Progress`` (the ``fleet run`` status line, the report's section) live next
door in :mod:`fleet.progress_text`. Import from ``fleet.progress``; the modules are its parts.
"""

from __future__ import annotations

from fleet.progress.model import STEPS, Progress, Step
from fleet.progress.reader import DOING, sandbox_words
from fleet.progress.snapshot import fold, story_budget
from fleet.progress.timing import estimate, history_of, step_durations

__all__ = [
    "DOING",
    "STEPS",
    "Progress",
    "Step",
    "estimate",
    "fold",
    "history_of",
    "sandbox_words",
    "step_durations",
    "story_budget",
]
