"""The end of a followed story (``fleet run | follow | demo``): the outcome line with its exit
code, the saved report, and where the change is."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cluster.cli.gateway_client import Client, GatewayError, exit_code
from fleet.config import fleet_config


def finish(client: Client, story: dict[str, Any], started: float, *, timeout_s: float) -> int:
    code = exit_code(story)
    print(
        f"\noutcome: {_outcome(story, timeout_s)} "
        f"(state {story['state']}, {time.monotonic() - started:.0f} s, exit code {code})"
    )
    if story.get("unavailable"):
        print(f"the fleet did not answer: {story['unavailable']}")
        return code
    parked = story.get("parked") or {}
    if parked:
        print(f"reason: {parked.get('reason')}")
    try:
        path = _save_report(client, story["id"])
        print(f"report: {path}\n        {client.base_url}/stories/{story['id']}/report")
        _where(client, story["id"])
    except GatewayError as exc:  # gone again after the story's state was read: the code stands
        if not exc.outage:
            raise
        print(f"(the fleet stopped answering: {exc}; `fleet show {story['id']}` tells the rest)")
    return code


def _outcome(story: dict[str, Any], timeout_s: float) -> str:
    """The outcome line's head: the outcome, the gate it waits at, or the deadline that passed."""
    if story.get("outcome"):
        return str(story["outcome"])
    if story.get("parked"):
        return f"parked at {story['parked'].get('gate')}"
    return f"not finished within --timeout {timeout_s:g} s"


def _save_report(client: Client, story_id: str) -> Path:
    reports = Path(fleet_config().data_dir).expanduser() / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / f"{story_id}.md"
    path.write_text(client.call("GET", f"/stories/{story_id}/report"))
    return path


def _where(client: Client, story_id: str) -> None:
    """Where the change is: the delivered branch (or the workspace branch) and the diff command."""
    try:
        out = client.call("GET", f"/stories/{story_id}/diff", params={"format": "json"})
    except GatewayError as exc:
        if exc.outage:
            raise
        print("change: none committed")
        return
    state = "delivered" if out.get("delivered") else "committed (not delivered)"
    print(f"change: {state}: branch {out.get('branch')} in {out.get('repo')}")
    if out.get("patch_file"):
        print(f"        patch file {out['patch_file']}")
    delivery = client.call("GET", f"/stories/{story_id}").get("delivery") or {}
    if delivery.get("push"):
        pushed = "pushed" if delivery.get("pushed") else f"NOT pushed: {delivery.get('error')}"
        print(f"        push to {delivery['push']}: {pushed}")
    print(f"        fleet diff {story_id}")
