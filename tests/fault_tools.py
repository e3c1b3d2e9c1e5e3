"""Helpers of the fault-injection tests (tests/integration/test_faults_*.py, bench_chaos):
bounded waits (never a blind sleep), real processes found by their title, PO gate approvals."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

FSM_PATH = [
    ("BACKLOG", "DRAFT"),
    ("DRAFT", "DESIGN"),
    ("DESIGN", "BUILD"),
    ("BUILD", "TEST"),
    ("TEST", "DOCS"),
    ("DOCS", "DONE"),
]
GATES = ("scope", "design", "acceptance")


def until(predicate: Any, timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = predicate()
        except Exception:  # the thing polled may itself be restarting
            got = None
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def pids_titled(prefix: str) -> list[int]:
    """PIDs of processes whose command line starts with ``prefix`` (Ray names its workers
    ``ray::<Class>`` / ``ray::ServeReplica:<app>:<deployment>``). Use a unique prefix."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith(prefix):
            out.append(int(proc.name))
    return sorted(out)


def sigkill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def story(client: Any, stack: Any, story_id: str) -> dict[str, Any]:
    r = client.get(f"{stack.base_url}/stories/{story_id}", headers=stack.headers("viewer"))
    r.raise_for_status()
    return r.json()


def approve_until_done(client: Any, stack: Any, story_id: str, timeout: float = 300.0) -> dict:
    """Approve the PO gates until the story is done or parked elsewhere; fail after ``timeout``."""

    def step() -> dict[str, Any] | None:
        body = story(client, stack, story_id)
        if body["outcome"]:
            return body
        gate = (body["parked"] or {}).get("gate")
        if gate in GATES:
            client.post(
                f"{stack.base_url}/stories/{story_id}/approvals",
                json={"approved": True},
                headers=stack.headers(),
            )
        elif gate:
            return body
        return None

    return until(step, timeout, f"story {story_id} to finish", every=0.5)


def event_ids(client: Any, stack: Any, story_id: str) -> list[str]:
    r = client.get(
        f"{stack.base_url}/stories/{story_id}/events",
        params={"follow": "false"},
        headers=stack.headers("viewer"),
    )
    r.raise_for_status()
    frames = [f for f in r.text.split("\n\n") if f.startswith("id:")]
    return [json.loads(f.split("data: ", 1)[1])["id"] for f in frames]
