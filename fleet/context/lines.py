"""One-line, redacted, length-capped renderings of timeline events and texts.

The digest and the compression baseline both render events this way, so a pack and the raw
history it is measured against read alike.
"""

from __future__ import annotations

import json
from typing import Any

from fleet.context.redact import redact
from fleet.contracts import FleetEvent

CAPS = {  # characters kept per kind of text
    "description": 2000,
    "proposal": 1200,
    "critique": 400,
    "why": 400,
    "line": 240,
    "detail": 300,
}


def cap(text: str, kind: str) -> tuple[str, int]:
    """Redact, flatten whitespace for one-line kinds, then cap the length."""
    text, n = redact(text or "")
    limit = CAPS[kind]
    if kind in {"line", "critique", "why", "detail"}:
        text = " ".join(text.split())
    return (text if len(text) <= limit else text[: limit - 1] + "…"), n


def event_line(event: FleetEvent, *, full: bool = False) -> str:
    """One readable line for an event (``full`` keeps every text whole: the raw baseline)."""
    p: Any = event.payload
    d = event.data
    kind = getattr(p, "kind", None)
    if kind == "story":
        body = f"{p.title}: {p.description} criteria: {'; '.join(p.acceptance_criteria)}"
    elif kind == "task":
        body = f"task {p.id} ({p.role}/{p.phase}): {p.description}"
    elif kind in {"proposal", "critique"}:
        body = f"{p.author} r{p.round}: {p.content}"
    elif kind == "ballot":
        body = f"{p.voter} ranks {' > '.join(p.ranking)}: {p.rationale}"
    elif kind == "decision":
        body = f"decision {p.id} by {', '.join(p.decided_by)}: {p.what} because {p.why}"
    elif kind == "task_result":
        body = f"run {p.spec_id} {p.status} exit={p.exit_code}: {p.stdout} {p.stderr}"
    elif kind == "gate_result":
        body = f"gate {p.profile} {p.verdict} score={p.score:.0f} {'; '.join(p.failures)}"
    elif kind == "workspace_report":
        body = f"build_ok={p.build_ok} unit {p.unit_passed} passed {p.unit_failed} failed coverage={p.coverage}"
    elif kind == "deliberation":
        body = f"deliberation {p.id} winner {p.winner}"
    elif p is not None:
        body = p.model_dump_json()
    else:
        body = json.dumps(d, sort_keys=True, default=str)
    line = f"[{event.type}] {body}"
    return line if full else cap(line, "line")[0]
