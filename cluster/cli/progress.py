"""The readable progress lines `fleet run` prints for a followed story: one per event, and a
status line (time per step, budget spent and left, estimate) at each step boundary."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from fleet import events
from fleet.contracts import FleetEvent
from fleet.errors import FleetError, InvalidInput
from fleet.progress import Progress, fold, sandbox_words
from fleet.progress_text import status_line

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # Ray colours its error texts for a terminal
RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Unavailable|Lost|Exceeded|Died)\b.*:")


def plain(text: str, limit: int | None = 200) -> str:
    """An error text as one readable line: colour codes dropped, and of a remote traceback (a
    Ray task error) its last ``Type: message`` line, which says what went wrong. Past ``limit``
    (None: whole) it ends at a word, with an ellipsis, never mid-word."""
    text = ANSI.sub("", str(text))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "Traceback" in text or "ray::" in text:
        raised = [ln for ln in lines if RAISED.match(ln)]
        lines = raised[-1:] or lines[:1]
    line = " ".join(" ".join(lines).split())
    if limit is None or len(line) <= limit:
        return line
    return line[: limit - 1].rsplit(" ", 1)[0] + "…"


def _rounds(n: int) -> str:
    """Rounds counted one way everywhere: revision rounds after the first proposals (the
    council's ``rounds``), so "up to 1 revision round" and "after 0 revision rounds" agree."""
    return f"{n} revision round{'' if n == 1 else 's'}"


def _scored(e: events.StoryScored) -> str:
    if not e.payload.ready:  # the story parks at dor next, and that line lists every suggestion
        return f"  coach: DoR {e.payload.dor}/100, NOT ready"
    tips = "; ".join(f.suggestion for f in e.payload.findings[:3])
    return f"  coach: DoR {e.payload.dor}/100, ready" + (f" ({tips})" if tips else "")


def _sandbox(e: events.SandboxRun) -> str:
    said = sandbox_words(e.payload.spec_id, e.payload.status)
    return f"    {said}" if said else f"    sandbox {' '.join(e.argv[:4])}: {e.payload.status}"


def _workspace(e: events.WorkspaceReported) -> str:
    p = e.payload
    return (
        f"  workspace {e.task_id}: build {'ok' if p.build_ok else 'FAILED'}, tests "
        f"{p.unit_passed} passed / {p.unit_failed} failed, coverage {p.coverage}"
    )


# event type -> its progress line (from the typed event, fleet.events); other types print nothing
LINES: dict[str, Callable[[Any], str]] = {
    "story.created": lambda e: f"story {e.story_id} created: {e.payload.title}",
    "story.scored": _scored,
    "story.transition": lambda e: f"==> {e.from_} -> {e.to} ({e.name})",
    "story.parked": lambda e: f"  || parked at {e.gate}: {plain(e.reason, None)}",
    "story.approved": lambda e: f"  PO {'approved' if e.approved else 'REJECTED'} {e.gate}",
    "story.rejected": lambda e: f"  PO REJECTED {e.gate}" + (f": {e.comment}" if e.comment else ""),
    "task.planned": lambda e: f"  task {e.payload.id} ({e.payload.role}): {e.payload.description}",
    "deliberation.started": lambda e: (
        f"  council {e.deliberation_id}: {len(e.members)} members, "
        f"up to {_rounds(e.rounds)} after the first proposals"
    ),
    "council.proposal": lambda e: (
        f"    round {e.payload.round}: {e.payload.author} proposes: {plain(e.payload.content, 100)}"
    ),
    "council.ballot": lambda e: (
        f"    vote by {e.payload.voter}: {' > '.join(e.payload.ranking[:3])}"
    ),
    "council.result": lambda e: (
        f"  council winner: {e.payload.winner} after {_rounds(e.payload.rounds)}, "
        f"{len(e.payload.ballots)} votes"
    ),
    "council.quorum_lost": lambda e: (
        f"  !! council {e.deliberation_id} lost its quorum in round {e.round} "
        f"({e.present} of {e.quorum} needed answered)"
        + "".join(
            f"\n     {k}: {plain(v)}" for k, v in (getattr(e, "failures", None) or {}).items()
        )
    ),
    "sandbox.run": _sandbox,
    "workspace.report": _workspace,
    "gate.result": lambda e: (
        f"  gate {e.payload.profile} {e.task_id}: {e.payload.verdict} ({e.payload.score:.0f}/100)"
    ),
    "model.fallback": lambda e: (
        f"  !! model {e.from_} failed, falling back to {e.to} ({e.role}): {e.reason}"
    ),
    "model.error": lambda e: f"  !! MODEL ERROR ({e.role}, {e.model}): {plain(e.reason, None)}",
    "budget.exceeded": lambda e: f"  budget spent: {e.scope}: {e.spent:g} of {e.limit:g} {e.unit}",
    "story.done": lambda e: f"story finished: {e.outcome}",
}


def describe(event: dict[str, Any]) -> str | None:
    """One readable progress line per interesting event (None: not worth a line)."""
    line = LINES.get(str(event.get("type")))
    if line is None:
        return None
    try:
        typed = events.typed(FleetEvent.model_validate(event))
    except (ValidationError, InvalidInput):
        return None  # a frame this version cannot read: no line rather than a crash
    return line(typed) if typed is not None else None


# a step boundary or a council's decision: worth a status line (time, budget, estimate)
STATUS_AFTER = ("story.transition", "story.parked", "council.result", "story.done")


class Tracker:
    """What ``fleet run`` prints per event: its line, and at a step boundary a status line
    (the step's time, the budget spent and left, the estimate) from the gateway's
    ``GET /stories/{id}/progress``; when the gateway cannot say, from the events seen here
    (no budget, no estimate). A failing evidence run adds a "now:" line (who revises, why)."""

    def __init__(
        self,
        fetch: Callable[[str | None], dict[str, Any]],
        *,
        time_left: Callable[[], float | None],
    ) -> None:
        self._fetch, self._time_left = fetch, time_left  # fetch(until entry): the gateway's view
        self._entry: str | None = None  # the stream entry of the last event printed
        self._seen: list[FleetEvent] = []
        self._said: tuple[Any, ...] = ()  # what the last status line showed

    def lines(self, event: dict[str, Any], entry: str | None = None) -> list[str]:
        self._entry = entry
        out = [line] if (line := describe(event)) else []
        try:
            self._seen.append(FleetEvent.model_validate(event))
        except ValidationError:
            return out
        kind = event.get("type")
        if kind == "council.evidence" and not (event.get("payload") or {}).get("passed", True):
            out.append(f"    now: {self._progress().now}")
        elif kind in STATUS_AFTER and not (kind == "story.transition" and self._ends(event)):
            p = self._progress()
            step = p.steps[-1].state if p.steps and p.steps[-1].ended_ms is None else p.state
            said = (step, p.tokens_spent, p.outcome)
            if said != self._said:  # a gate right after a step's start: said already
                self._said = said
                out.append(status_line(p))
        return out

    @staticmethod
    def _ends(event: dict[str, Any]) -> bool:
        return (event.get("data") or {}).get("to") == "DONE"  # story.done says it next

    def _progress(self) -> Progress:
        try:  # as of the last event printed: the gateway may be ahead of the stream
            p = Progress.model_validate(self._fetch(self._entry))
        except (FleetError, OSError, ValueError):  # an older gateway, or away: the events tell
            p = fold(self._seen, now_ms=int(time.time() * 1000))
        left = self._time_left()
        # the caller's time budget (--timeout) counts from now: as a limit on the story's clock
        limit = None if left is None else p.elapsed_s + left
        return p.model_copy(update={"time_limit_s": limit})
