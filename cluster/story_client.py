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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from fleet.errors import FleetError

EXIT_DONE, EXIT_PARKED, EXIT_BLOCKED, EXIT_FAILED, EXIT_TIMEOUT = 0, 3, 4, 5, 6
PO_GATES = ("scope", "design", "acceptance")


class GatewayError(FleetError):
    """The gateway refused a call (``status`` is its HTTP status) or could not be reached (0)."""

    def __init__(self, *, status: int, message: str) -> None:
        # ``detail``, not ``message``: FleetError's first argument is already called message
        text = f"gateway answered HTTP {status}: {message}" if status else message
        super().__init__(text, status=status, detail=message)


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

    def events(self, story_id: str, *, after: str = "0") -> Iterator[tuple[str, dict[str, Any]]]:
        """SSE frames as (entry id, event), reconnecting with Last-Event-ID on a dropped stream."""
        last = after
        while True:
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
                        last = frame["id"]
                        event = json.loads(frame["data"])
                        yield last, event
                        if event["type"] == "story.done":
                            return
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ConnectError):
                time.sleep(1.0)  # the gateway restarted or the stream idled out: resume from `last`


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


def describe(event: dict[str, Any]) -> str | None:
    """One readable progress line per interesting event (None: not worth a line)."""
    t, d, p = event["type"], event.get("data", {}), event.get("payload") or {}
    if t == "story.created":
        return f"story {event['story_id']} created: {p.get('title')}"
    if t == "story.scored":
        tips = "; ".join(f["suggestion"] for f in p.get("findings", [])[:3])
        return f"  coach: DoR {p.get('dor')}/100, {'ready' if p.get('ready') else 'NOT ready'}" + (
            f" ({tips})" if tips else ""
        )
    if t == "story.transition":
        return f"==> {d.get('from')} -> {d.get('to')} ({d.get('name')})"
    if t == "story.parked":
        return f"  || parked at {d.get('gate')}: {d.get('reason')}"
    if t == "story.approved":
        return f"  PO {'approved' if d.get('approved') else 'REJECTED'} {d.get('gate')}"
    if t == "task.planned":
        return f"  task {p.get('id')} ({p.get('role')}): {p.get('description')}"
    if t == "deliberation.started":
        return f"  council {d.get('deliberation_id')}: {len(d.get('members', []))} members, {d.get('rounds')} rounds"
    if t == "council.proposal":
        return (
            f"    round {p.get('round')}: {p.get('author')} proposes: {str(p.get('content'))[:80]}"
        )
    if t == "council.ballot":
        return f"    vote by {p.get('voter')}: {' > '.join(p.get('ranking', [])[:3])}"
    if t == "council.result":
        return f"  council winner: {p.get('winner')} after {p.get('rounds')} rounds, {len(p.get('ballots', []))} votes"
    if t == "sandbox.run":
        return f"    sandbox {d.get('argv', [''])[:1] and ' '.join(map(str, d.get('argv', [])[:4]))}: {p.get('status')}"
    if t == "workspace.report":
        return (
            f"  workspace {d.get('task_id')}: build {'ok' if p.get('build_ok') else 'FAILED'}, tests "
            f"{p.get('unit_passed')} passed / {p.get('unit_failed')} failed, coverage {p.get('coverage')}"
        )
    if t == "gate.result":
        return f"  gate {p.get('profile')} {d.get('task_id')}: {p.get('verdict')} ({p.get('score', 0):.0f}/100)"
    if t == "model.fallback":
        return f"  !! model {d.get('from')} failed, falling back to {d.get('to')} ({d.get('role')}): {d.get('reason')}"
    if t == "model.error":
        return f"  !! MODEL ERROR ({d.get('role')}, {d.get('model')}): {d.get('reason')}"
    if t == "budget.exceeded":
        return f"  budget spent: {d}"
    if t == "story.done":
        return f"story finished: {d.get('outcome')}"
    return None


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
    for _, event in client.events(story_id):
        line = describe(event)
        if line:
            print(line, file=out, flush=True)
        if event["type"] == "story.parked":
            gate = event["data"].get("gate")
            if auto_approve and gate in PO_GATES:
                client.call(
                    "POST",
                    f"/stories/{story_id}/approvals",
                    json={"gate": gate, "approved": True, "comment": "auto-approved"},
                )
                continue
            story = client.call("GET", f"/stories/{story_id}")
            if story.get("parked"):
                return story
        if event["type"] == "story.done" or time.monotonic() > deadline:
            break
    return client.call("GET", f"/stories/{story_id}")
