"""``GET /stories/{id}/progress``: the story's progress (``fleet.progress``) for the UI and
``fleet run``: per step its working time, what is happening now, the budget spent and left,
and an estimate of the time left from the step durations of the fleet's earlier stories."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query

from fleet import progress
from fleet.orchestrator import commands
from serve_apps.gateway.protocol import STORY_ID

MAX_HISTORY = 200  # stories read for the estimate (each finished one once per process)
RECHECK_S = 60.0  # how often a story not finished yet is read again for the history


class History:
    """Step durations of finished stories, pooled by state; a finished story is read once."""

    def __init__(self) -> None:
        self._done: dict[str, dict[str, list[float]]] = {}
        self._open: dict[str, float] = {}  # story id -> when it was last seen unfinished
        self._lock = threading.Lock()

    def of(self, log: Any, *, skip: str) -> dict[str, list[float]]:
        now = time.monotonic()
        with self._lock:
            for sid in log.stories()[-MAX_HISTORY:]:
                if sid == skip or sid in self._done or now - self._open.get(sid, -1e9) < RECHECK_S:
                    continue
                rows = [ev for _, ev in log.read(sid)]
                if any(ev.type == "story.done" and ev.data.get("outcome") == "done" for ev in rows):
                    self._done[sid] = progress.step_durations(rows)
                    self._open.pop(sid, None)
                else:  # unfinished, or ended without a change: not a run to estimate from
                    self._open[sid] = now
            pooled: dict[str, list[float]] = {}
            for durations in self._done.values():
                for state, seconds in durations.items():
                    pooled.setdefault(state, []).extend(seconds)
            return pooled


def story_progress(
    log: Any,
    story_id: str,
    *,
    history: History,
    time_limit_s: float | None = None,
    until: str | None = None,
) -> progress.Progress:
    commands.load_view(log, story_id)  # 404 for unknown stories
    rows = log.read(story_id)
    return progress.fold(
        [ev for entry, ev in rows if until is None or _entry(entry) <= _entry(until)],
        now_ms=int(time.time() * 1000),
        history=history.of(log, skip=story_id),
        budget=progress.story_budget(),
        time_limit_s=time_limit_s,
    )


def _entry(entry_id: str) -> tuple[int, ...]:
    """A stream entry id (``<ms>-<seq>``) as numbers, for ordering."""
    return tuple(int(part) for part in str(entry_id).split("-"))


def install_progress_api(app: FastAPI, service: Callable[[], Any]) -> None:
    """Add ``GET /stories/{id}/progress`` (viewer) to ``app``."""
    viewer = app.state.need("viewer")
    history = History()

    @app.get("/stories/{story_id}/progress", response_model=progress.Progress, tags=["stories"])
    def story_progress_route(
        story_id: Annotated[str, Path(pattern=STORY_ID)],
        principal: Any = viewer,
        time_limit_s: Annotated[float | None, Query(gt=0)] = None,
        until: Annotated[str | None, Query(pattern=r"^\d+(-\d+)?$")] = None,
    ) -> progress.Progress:
        """Per step the working time (waits for the PO left out), what is happening now, the
        story's token budget spent and left (``time_limit_s``: a time budget of the caller's,
        e.g. ``fleet run --timeout``), and the time left estimated from earlier stories.
        ``until``: as of the events up to that stream entry id (a follower's last event; events
        of one millisecond stay apart), the clock still running to now."""
        return story_progress(
            service().log, story_id, history=history, time_limit_s=time_limit_s, until=until
        )
