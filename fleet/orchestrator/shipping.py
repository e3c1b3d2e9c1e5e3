"""Whether a council's winner may be built: no shipping on no evidence, no repeated failures.

A council always names a winner, even when every candidate failed the story's own acceptance
tests (the only candidate wins 5/5). Building and gating such a winner spends minutes to learn
what the evidence already said, and a retry council that lands on the same change loops.
"""

from __future__ import annotations

import re

from fleet.contracts import Deliberation, Proposal, WorkspaceReport
from fleet.orchestrator.view import StoryView

NOT_BUILT = "not built: no candidate passes the story's acceptance tests"


def unbuilt_report(deliberation: Deliberation) -> WorkspaceReport | None:
    """The report of a task attempt whose winner fails the story's acceptance tests (the gate
    blocks it and the next attempt's council is told each failing test), or None to build it."""
    if not deliberation.unproven:
        return None
    failed = tuple(f"failed: {t}" for t in deliberation.unproven[:8])
    return WorkspaceReport(
        build_ok=False,
        unit_failed=len(deliberation.unproven),
        notes=(f"{NOT_BUILT} ({len(deliberation.unproven)} failing)", *failed),
        not_built=NOT_BUILT,
    )


def repeated(view: StoryView, task_id: str, attempt: int, winner: Proposal | None) -> int | None:
    """The earlier attempt of ``task_id`` whose blocked winner made exactly this change."""
    if winner is None or winner.patch is None:
        return None
    for (tid, n), gate in sorted(view.gates.items()):
        if tid != task_id or n >= attempt or gate.verdict != "block":
            continue
        for d in view.deliberations.values():
            if d.task_id != task_id or not re.search(rf"\.a{n}(\.c\d+)?(:retry\d+)?$", d.id):
                continue
            earlier = next((p for p in reversed(d.proposals) if p.id == d.winner), None)
            if earlier is not None and earlier.patch and earlier.patch.diff == winner.patch.diff:
                return n
    return None
