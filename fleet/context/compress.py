"""Compression: how much smaller a pack is than the raw history, and what it kept.

The default compression is extractive and lives in the digest (decisions,
criteria and open failing tests kept in full; closed deliberations reduced to
their winner; older events to counts and milestones). ``llm_summary`` adds an
optional model-written summary of the older history through the ChatModel port.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from fleet.context.digest import StoryDigest
from fleet.context.lines import event_line
from fleet.context.redact import redact
from fleet.contracts import ChatMessage, ContextPack, FleetEvent
from fleet.errors import FleetError
from fleet.ports import ChatModel, Tokenizer
from fleet.prompts import render

SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "maxLength": 800}},
    "required": ["summary"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class CompressionReport:
    raw_tokens: int
    pack_tokens: int
    ratio: float  # 1 - pack / raw
    retention: float  # share of key facts found verbatim in the pack
    missing: tuple[str, ...]


def raw_history(events: Sequence[FleetEvent]) -> str:
    """The uncompressed baseline: every event as a full line, nothing dropped or shortened."""
    return "\n".join(event_line(e, full=True) for e in events)


def measure(
    events: Sequence[FleetEvent], pack: ContextPack, facts: Sequence[str], tok: Tokenizer
) -> CompressionReport:
    """Compression ratio of ``pack`` against the raw history, and which ``facts`` it kept."""
    raw = tok.count(raw_history(events))
    text = pack.render()
    missing = tuple(f for f in facts if f not in text)
    retention = 1.0 - len(missing) / len(facts) if facts else 1.0
    return CompressionReport(
        raw, pack.token_count, 1.0 - pack.token_count / raw if raw else 0.0, retention, missing
    )


def llm_summary(chat: ChatModel, digest: StoryDigest, *, max_tokens: int = 200) -> bool:
    """Ask the model for a short summary of the story so far; store it in the digest.

    Returns False (and keeps the extractive history) when the model fails:
    a summary is a nicety, never a reason to fail a pack.
    """
    s = digest.s
    lines = (
        [f"{n} {t}" for t, n in sorted(s["by_type"].items())]
        + s["milestones"][-20:]
        + s["recent"][-10:]
    )
    decisions = [f"{k}: {v['what']}" for k, v in s["decisions"].items()][-20:]
    prompt = render("context.summary_request", history="\n".join(lines + decisions))
    messages = [ChatMessage(role="system", content=render("context.summary_system")),
                ChatMessage(role="user", content=redact(prompt)[0])]  # fmt: skip
    try:
        resp = chat.complete(
            messages, schema=SUMMARY_SCHEMA, temperature=0.0, seed=0, max_tokens=max_tokens
        )
        summary = str(json.loads(resp.text)["summary"]).strip()
    except (FleetError, ValueError, KeyError, TypeError):
        return False
    if not summary:
        return False
    s["summary"], s["summary_at"] = redact(" ".join(summary.split()))[0], s["events"]
    return True
