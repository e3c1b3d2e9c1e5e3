"""A small client of the gateway for the CLI: submit, follow the SSE stream, approve, report.

Exit codes of a followed story (``fleet run``, ``fleet demo``):

====  ==========================================================================
0     DONE
3     parked at a PO gate (scope, design, acceptance) or below the Definition of Ready
4     blocked: the rigor gate blocked after every allowed build attempt
5     failed: an error, a spent budget, or the PO rejected it
6     ``--timeout`` passed before the story reached a terminal state (or while the fleet was away)
====  ==========================================================================

An outage of the fleet (nothing listens, a 5xx, or a 404 that is not the gateway's own
answer: the Serve proxy is up but the gateway app is not deployed yet) is a wait while
following, never an error; the follow is bounded by a wall-clock deadline.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource

from cluster.cli.progress import LINES, Tracker, describe
from fleet.errors import FleetError

__all__ = ["LINES", "Client", "GatewayError", "describe", "exit_code", "follow"]

EXIT_DONE, EXIT_PARKED, EXIT_BLOCKED, EXIT_FAILED, EXIT_TIMEOUT = 0, 3, 4, 5, 6
PO_GATES = ("scope", "design", "acceptance")
FINAL_READ_S = 10.0  # the one read of the story's state after the deadline
PROGRESS_READ_S = 5.0  # a status line is not worth waiting long for (the events tell the rest)


class GatewayError(FleetError):
    """The gateway refused a call (``status`` is its HTTP status) or could not be reached (0).

    ``outage``: the fleet is (for now) unavailable rather than refusing this request: no answer,
    a 5xx, or a 404 from the Serve proxy while the gateway app is not deployed."""

    def __init__(self, *, status: int, message: str, outage: bool | None = None) -> None:
        # ``detail``, not ``message``: FleetError's first argument is already called message
        text = f"gateway answered HTTP {status}: {message}" if status else message
        # any 5xx: a replica or actor dying in a stack restart answers 500 too; what a follower
        # repeats is a read or an approval (409 once applied), so waiting is safe
        outage = (status == 0 or status >= 500) if outage is None else outage
        super().__init__(text, status=status, detail=message, outage=outage)
        self.status: int = status  # typed for callers (FleetError sets it from the fields too)
        self.outage: bool = outage


def _refusal(r: httpx.Response) -> GatewayError:
    """The error for an HTTP error answer. The gateway always answers with its error model
    (``{"error", "message"}``); a 404 without it comes from the Serve proxy, which routes
    nothing to the gateway yet (a stack (re)starting): an outage, not a missing story."""
    message, own = _error_message(r)
    if r.status_code == 404 and not own:
        return GatewayError(
            status=404, message=f"the gateway app is not deployed (yet): {message}", outage=True
        )
    return GatewayError(status=r.status_code, message=message)


class Waits:
    """Says once per outage that a follower waits for the fleet (shared by its stream and calls)."""

    def __init__(self, notify: Callable[[str], None] | None) -> None:
        self._notify, self._waiting, self._lock = notify, False, threading.Lock()

    def failed(self, exc: Exception) -> None:
        with self._lock:
            first, self._waiting = not self._waiting, True
        if first and self._notify:
            self._notify(f"  (waiting for the fleet: {_one_line(exc)}; will resume)")

    def ok(self) -> None:
        with self._lock:
            self._waiting = False


@dataclass
class Client:
    base_url: str
    token: str | None
    timeout: float = 30.0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, *, timeout: float | None = None, **kw: Any) -> Any:
        try:
            r = httpx.request(
                method,
                f"{self.base_url}{path}",
                headers=self._headers(),
                timeout=timeout or self.timeout,
                **kw,
            )
        except httpx.HTTPError as exc:
            raise GatewayError(
                status=0, message=f"cannot reach {self.base_url}: {exc} (is `fleet up` running?)"
            ) from None
        if r.status_code >= 400:
            raise _refusal(r)
        return r.json() if "json" in r.headers.get("content-type", "") else r.text

    def events(
        self,
        story_id: str,
        *,
        after: str = "0",
        deadline: float | None = None,
        notify: Callable[[str], None] | None = None,
        waits: Waits | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """SSE frames as (entry id, event) until the story is done or ``deadline`` (monotonic).

        A reader thread holds the stream and reconnects with Last-Event-ID after a dropped
        stream or across an outage; this generator waits on it with the time left, so the
        deadline holds while the story is silent (keep-alives) or the fleet is away."""
        inbox: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read_stream,
            args=(story_id, after, inbox, stop, waits or Waits(notify)),
            name=f"fleet-follow-{story_id}",
            daemon=True,  # blocked in a read at the deadline: it must not hold the CLI's exit
        )
        reader.start()
        try:
            while deadline is None or time.monotonic() < deadline:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    item = inbox.get(timeout=left)
                except queue.Empty:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item[1].get("type") == "story.done":
                    return
        finally:
            stop.set()

    def _read_stream(
        self, story_id: str, last: str, inbox: queue.Queue[Any], stop: threading.Event, waits: Waits
    ) -> None:
        try:
            while not stop.is_set():
                try:
                    for item in self._stream(story_id, last, stop, waits):
                        last = item[0]
                        inbox.put(item)
                        if item[1].get("type") == "story.done":
                            return
                except (httpx.TransportError, GatewayError) as exc:
                    if isinstance(exc, GatewayError) and not exc.outage:
                        raise
                    waits.failed(exc)
                stop.wait(1.0)  # the gateway restarted or the stream ended: resume from `last`
        except Exception as exc:  # handed to the follower, which raises it
            inbox.put(exc)

    def _stream(
        self, story_id: str, last: str, stop: threading.Event, waits: Waits
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        headers = {**self._headers(), "Last-Event-ID": last, "Accept": "text/event-stream"}
        with httpx.stream(
            "GET",
            f"{self.base_url}/stories/{story_id}/events",
            headers=headers,
            timeout=httpx.Timeout(30.0, read=60.0),  # keep-alives come every 15 s
        ) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise _refusal(resp)
            waits.ok()
            for sse in EventSource(resp).iter_sse():
                if stop.is_set():  # the follower gave up (its deadline): drop the stream
                    return
                if sse.id and sse.data:  # not the retry hint or a keep-alive
                    yield sse.id, json.loads(sse.data)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def call_through_outages(
    client: Client,
    method: str,
    path: str,
    *,
    deadline: float,
    waits: Waits | None = None,
    **kw: Any,
) -> Any:
    """``client.call``, retried while the fleet is unavailable until ``deadline`` (monotonic);
    each try is bounded by the time left (at least ``FINAL_READ_S``)."""
    while True:
        left = deadline - time.monotonic()
        try:
            answer = client.call(
                method, path, timeout=min(client.timeout, max(left, FINAL_READ_S)), **kw
            )
        except GatewayError as exc:
            if not exc.outage or time.monotonic() >= deadline:
                raise
            if waits:
                waits.failed(exc)
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            continue
        if waits:
            waits.ok()
        return answer


def _error_message(r: httpx.Response) -> tuple[str, bool]:
    """The gateway's ``message`` (its error model), else the start of the body, on one line;
    and whether the answer is the gateway's own error model."""
    try:
        body = r.json()
    except ValueError:
        body = None
    own = isinstance(body, dict) and "error" in body
    text = body.get("message") if isinstance(body, dict) else None
    return " ".join(str(text or r.text or r.reason_phrase).split())[:300], own


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
    """Print progress until the story ends or waits for someone; approve PO gates if asked.

    Returns the story as the gateway shows it. Following stops at ``timeout_s`` (wall clock);
    when the fleet is unavailable then, the story is ``{"id", "state": "unknown",
    "unavailable": why}`` (exit code 6)."""
    deadline = time.monotonic() + timeout_s

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    waits = Waits(say)

    def call(method: str, path: str, **kw: Any) -> Any:
        return call_through_outages(client, method, path, deadline=deadline, waits=waits, **kw)

    tracker = Tracker(
        lambda until: client.call(
            "GET",
            f"/stories/{story_id}/progress",
            params={"until": until} if until else None,
            timeout=PROGRESS_READ_S,
        ),
        time_left=lambda: max(0.0, deadline - time.monotonic()),
    )
    try:
        for entry, event in client.events(story_id, deadline=deadline, waits=waits):
            for line in tracker.lines(event, entry):
                say(line)
            if event["type"] == "story.parked":
                gate = event["data"].get("gate")
                if auto_approve and gate in PO_GATES:
                    _approve(call, story_id, gate)
                    continue
                story = call("GET", f"/stories/{story_id}")
                if story.get("parked"):
                    return dict(story)
        return dict(call("GET", f"/stories/{story_id}"))
    except GatewayError as exc:
        if not exc.outage:
            raise
        return {"id": story_id, "state": "unknown", "unavailable": _one_line(exc)}


def _approve(call: Callable[..., Any], story_id: str, gate: str) -> None:
    body = {"gate": gate, "approved": True, "comment": "auto-approved"}
    try:
        call("POST", f"/stories/{story_id}/approvals", json=body)
    except GatewayError as exc:  # 409: approved already (an answer lost in an outage)
        if exc.status != 409:
            raise
