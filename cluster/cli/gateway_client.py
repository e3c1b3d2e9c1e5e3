"""A small client of the gateway for the CLI: submit, follow the SSE stream, approve, report.

Exit codes of a followed story (``fleet run``, ``fleet demo``):

====  ==========================================================================
0     DONE
3     parked at a PO gate (scope, design, acceptance) or below the Definition of Ready
4     blocked: the rigor gate blocked after every allowed build attempt
5     failed: an error, a spent budget, or the PO rejected it
6     the follow timed out before the story reached a terminal state
====  ==========================================================================
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from fleet import events
from fleet.contracts import FleetEvent
from fleet.errors import FleetError, InvalidInput

EXIT_DONE, EXIT_PARKED, EXIT_BLOCKED, EXIT_FAILED, EXIT_TIMEOUT = 0, 3, 4, 5, 6
PO_GATES = ("scope", "design", "acceptance")


class GatewayError(FleetError):
    """The gateway refused a call (``status`` is its HTTP status) or could not be reached (0)."""

    def __init__(self, *, status: int, message: str) -> None:
        # ``detail``, not ``message``: FleetError's first argument is already called message
        text = f"gateway answered HTTP {status}: {message}" if status else message
        super().__init__(text, status=status, detail=message)
        self.status: int = status  # typed for callers (FleetError sets it from the fields too)


@dataclass
class Client:
    base_url: str
    token: str | None
    timeout: float = 30.0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = httpx.request(
                method,
                f"{self.base_url}{path}",
                headers=self._headers(),
                timeout=self.timeout,
                **kw,
            )
        except httpx.HTTPError as exc:
            raise GatewayError(
                status=0, message=f"cannot reach {self.base_url}: {exc} (is `fleet up` running?)"
            ) from None
        if r.status_code >= 400:
            raise GatewayError(status=r.status_code, message=_error_message(r))
        return r.json() if "json" in r.headers.get("content-type", "") else r.text

    def events(
        self,
        story_id: str,
        *,
        after: str = "0",
        deadline: float | None = None,
        notify: Any = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """SSE frames as (entry id, event), reconnecting with Last-Event-ID on a dropped stream
        and across a gateway or storage outage (502/503/504, refused connections) until
        ``deadline`` (monotonic); ``notify(line)`` hears once per outage that it waits."""
        last, waiting = after, False
        while deadline is None or time.monotonic() < deadline:
            headers = {**self._headers(), "Last-Event-ID": last, "Accept": "text/event-stream"}
            try:
                with httpx.stream(
                    "GET",
                    f"{self.base_url}/stories/{story_id}/events",
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=60.0),
                ) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        raise GatewayError(status=resp.status_code, message=_error_message(resp))
                    for frame in _frames(resp.iter_lines()):
                        last, waiting = frame["id"], False
                        event = json.loads(frame["data"])
                        yield last, event
                        if event["type"] == "story.done":
                            return
            except (httpx.TransportError, GatewayError) as exc:
                status = getattr(exc, "status", 0)
                if status not in OUTAGE_STATUS:
                    raise
                if notify and not waiting:
                    notify(f"  (waiting for the fleet: {_one_line(exc)}; will resume)")
                waiting = True
                time.sleep(1.0)  # the gateway restarted or the stream idled out: resume from `last`


OUTAGE_STATUS = (0, 502, 503, 504)  # 0: no answer at all; 503: the fleet's storage is down


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def call_through_outages(
    client: Client, method: str, path: str, *, deadline: float, **kw: Any
) -> Any:
    """``client.call``, retried while the gateway or its storage is briefly unavailable."""
    while True:
        try:
            return client.call(method, path, **kw)
        except GatewayError as exc:
            if exc.status not in OUTAGE_STATUS or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _error_message(r: httpx.Response) -> str:
    """The gateway's ``message`` (its error model), else the start of the body, on one line."""
    try:
        body = r.json()
    except ValueError:
        body = None
    text = body.get("message") if isinstance(body, dict) else None
    return " ".join(str(text or r.text or r.reason_phrase).split())[:300]


def _frames(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    frame: dict[str, str] = {}
    for line in lines:
        if not line:
            if "id" in frame and "data" in frame:
                yield frame
            frame = {}
        elif not line.startswith(":") and ":" in line:
            key, _, value = line.partition(":")
            frame[key] = value.removeprefix(" ")


def _scored(e: events.StoryScored) -> str:
    tips = "; ".join(f.suggestion for f in e.payload.findings[:3])
    ready = "ready" if e.payload.ready else "NOT ready"
    return f"  coach: DoR {e.payload.dor}/100, {ready}" + (f" ({tips})" if tips else "")


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
    "story.parked": lambda e: f"  || parked at {e.gate}: {e.reason}",
    "story.approved": lambda e: f"  PO {'approved' if e.approved else 'REJECTED'} {e.gate}",
    "task.planned": lambda e: f"  task {e.payload.id} ({e.payload.role}): {e.payload.description}",
    "deliberation.started": lambda e: (
        f"  council {e.deliberation_id}: {len(e.members)} members, {e.rounds} rounds"
    ),
    "council.proposal": lambda e: (
        f"    round {e.payload.round}: {e.payload.author} proposes: {e.payload.content[:80]}"
    ),
    "council.ballot": lambda e: (
        f"    vote by {e.payload.voter}: {' > '.join(e.payload.ranking[:3])}"
    ),
    "council.result": lambda e: (
        f"  council winner: {e.payload.winner} after {e.payload.rounds} rounds, "
        f"{len(e.payload.ballots)} votes"
    ),
    "council.quorum_lost": lambda e: (
        f"  !! council {e.deliberation_id} lost its quorum in round {e.round} "
        f"({e.present} of {e.quorum} needed answered)"
        + "".join(f"\n     {k}: {v[:200]}" for k, v in (getattr(e, "failures", None) or {}).items())
    ),
    "sandbox.run": lambda e: f"    sandbox {' '.join(e.argv[:4])}: {e.payload.status}",
    "workspace.report": _workspace,
    "gate.result": lambda e: (
        f"  gate {e.payload.profile} {e.task_id}: {e.payload.verdict} ({e.payload.score:.0f}/100)"
    ),
    "model.fallback": lambda e: (
        f"  !! model {e.from_} failed, falling back to {e.to} ({e.role}): {e.reason}"
    ),
    "model.error": lambda e: f"  !! MODEL ERROR ({e.role}, {e.model}): {e.reason}",
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


def exit_code(story: dict[str, Any]) -> int:
    """The CLI exit code for a story's current state (see the module docstring)."""
    if story.get("outcome") == "done":
        return EXIT_DONE
    if story.get("outcome"):
        return EXIT_FAILED
    gate = (story.get("parked") or {}).get("gate")
    if gate in (*PO_GATES, "dor"):
        return EXIT_PARKED
    if gate == "blocked":
        return EXIT_BLOCKED
    if gate in ("error", "budget"):
        return EXIT_FAILED
    return EXIT_TIMEOUT


def follow(
    client: Client, story_id: str, *, auto_approve: bool, timeout_s: float, out: Any
) -> dict[str, Any]:
    """Print progress until the story ends or waits for someone; approve PO gates if asked."""
    deadline = time.monotonic() + timeout_s

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    def call(method: str, path: str, **kw: Any) -> Any:
        return call_through_outages(client, method, path, deadline=deadline, **kw)

    for _, event in client.events(story_id, deadline=deadline, notify=say):
        line = describe(event)
        if line:
            say(line)
        if event["type"] == "story.parked":
            gate = event["data"].get("gate")
            if auto_approve and gate in PO_GATES:
                try:
                    call(
                        "POST",
                        f"/stories/{story_id}/approvals",
                        json={"gate": gate, "approved": True, "comment": "auto-approved"},
                    )
                except GatewayError as exc:  # 409: approved already (an answer lost in an outage)
                    if exc.status != 409:
                        raise
                continue
            story = call("GET", f"/stories/{story_id}")
            if story.get("parked"):
                return story
        if event["type"] == "story.done" or time.monotonic() > deadline:
            break
    return call("GET", f"/stories/{story_id}")
