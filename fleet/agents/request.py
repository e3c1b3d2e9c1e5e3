"""The request for a change, as every author reads it: the single developer and council members.

Small models follow what they read last, so the request comes after the context and the edit
format (``author_messages``) and ends with the instruction. It names the task, its acceptance
criteria and the functions that have no body yet (a 0.5B model otherwise tends to copy such a
stub back unchanged), then what the caller adds (the council's decision, a member's own patch
with its test results and critiques, the last attempt's findings), then what to write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from fleet.agents.stubs import stubs

AUTHOR = (
    "You are a careful Python developer. Make the smallest change that satisfies the task and its "
    "acceptance criteria, in whichever files it belongs (create new files when needed), and keep "
    "existing code working."
)
"""The system prompt of a request for a change (a member adds its name and its own style)."""

WRITE = (
    "Now write the edits that implement the task in the repository above: every function you "
    "change with its complete new body (not the current code repeated)."
)


def change_request(
    task: str,
    criteria: Sequence[str],
    files: Mapping[str, str] | None = None,
    *,
    notes: Sequence[str] = (),
    findings: Sequence[str] = (),
    write: str = WRITE,
) -> str:
    """The instruction that ends an author's prompt (``files``: the repository, for its stubs)."""
    lines = [f"Task: {task}"]
    if criteria:
        lines += ["Acceptance criteria:", *(f"- {c}" for c in criteria)]
    empty = [f"{s.path}: {s.name}" for s in stubs(files or {})]
    if empty:
        lines.append("Functions that have no body yet: " + "; ".join(empty[:10]))
    lines += notes
    if findings:
        lines += ["The last attempt failed; fix this:", *(f"- {f[:300]}" for f in findings[:8])]
    lines.append(write)
    return "\n".join(lines)


def asked_for(texts: Sequence[str], files: Mapping[str, str]) -> list[str]:
    """The body-less functions ``texts`` (the task, its criteria) name, in repository order: the
    ones a reply with no usable edit is asked to continue (``write_change(focus=...)``)."""
    words = set(re.findall(r"[A-Za-z_]\w*", " ".join(texts)))
    return [s.name for s in stubs(files) if s.name in words]
