"""``fleet run``'s submission: once, even through a stack restart.

The CLI names the story itself, so a submission retried after an outage (nothing listening, a
5xx, the Serve proxy's 404 while the gateway deploys) cannot create a second story: when an
earlier try was recorded although its answer was lost, the retry gets 409 for that id, and the
run follows the story the first try created.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from cluster.cli.gateway_client import Client, GatewayError, Waits

CONFLICT = 409


def story_id() -> str:
    """A fresh id the gateway accepts (``protocol.STORY_ID``): time, then randomness."""
    return f"run-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"


def submit_once(
    client: Client, body: dict[str, Any], *, wait_s: float, out: Any = None
) -> dict[str, Any]:
    """POST the story, retried while the fleet is unavailable for up to ``wait_s``; the story
    as the gateway shows it.

    Raises:
        GatewayError: the gateway refused the story (400, 409 on the first try...), or the
            fleet stayed unavailable for ``wait_s``.
    """
    body = {**body, "id": body.get("id") or story_id()}
    waits = Waits(lambda line: print(line, file=out, flush=True))
    deadline, tried = time.monotonic() + wait_s, False
    while True:
        try:
            story = client.call("POST", "/stories", json=body)
        except GatewayError as exc:
            if exc.status == CONFLICT and tried:  # an earlier try was recorded: that story
                story = client.call("GET", f"/stories/{body['id']}")
            elif exc.outage and time.monotonic() < deadline:
                tried = True
                waits.failed(exc)
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                continue
            else:
                raise
        waits.ok()
        return dict(story)
