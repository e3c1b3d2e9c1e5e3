"""Shape flat Cypher rows into the nested answers the report and API need.

Queries return flat rows (portable across engines, no map projections); grouping and
ordering happen here, deterministically, so both adapters answer identically.
"""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]

# STORY_NODES relationship -> story_graph section
SECTIONS = {
    "HAS_TASK": "tasks",
    "HAS_DELIBERATION": "deliberations",
    "HAS_DECISION": "decisions",
    "HAS_EXECUTION": "executions",
    "HAS_GATE": "gates",
    "HAS_TRANSITION": "transitions",
    "HAS_APPROVAL": "approvals",
    "HAS_REPORT": "workspace_reports",
    "HAS_POLICY_CHECK": "policy_checks",
}


def _order(item: Row) -> tuple[Any, ...]:
    at = item.get("at_ms", item.get("started_ms", item.get("completed_ms", 0))) or 0
    return (at, str(item.get("id", "")))


def group_decisions(rows: list[Row], superseded: list[Row]) -> list[Row]:
    """One dict per decision: what, who, when, why, rejected alternatives, superseded_by."""
    out: dict[str, Row] = {}
    for row in rows:
        d = dict(row["d"])
        item = out.setdefault(
            d["id"],
            {
                **d,
                "decided_by": list(d.get("decided_by", [])),
                "alternatives": [],
                "superseded_by": [],
            },
        )
        if row.get("alt") is not None:
            item["alternatives"].append(
                {
                    "proposal_id": row["alt"],
                    "author": row.get("alt_author"),
                    "content": row.get("alt_content"),
                    "summary": row.get("summary"),
                    "why_rejected": row.get("why_rejected"),
                }
            )
    for row in superseded:
        if row["old"] in out:
            out[row["old"]]["superseded_by"].append(row["new"])
    for item in out.values():
        item["alternatives"].sort(key=lambda a: str(a["proposal_id"]))
        item["superseded_by"].sort()
    return sorted(out.values(), key=_order)


def _votes(proposals: list[Row], ballots: list[Row]) -> None:
    """Add first-choice counts and Borda points per proposal (what the report shows as votes)."""
    n = max((len(b.get("ranking", [])) for b in ballots), default=0)
    for p in proposals:
        first = borda = 0
        voters = []
        for b in ballots:
            ranking = list(b.get("ranking", []))
            if p["id"] in ranking:
                pos = ranking.index(p["id"])
                borda += n - 1 - pos
                if pos == 0:
                    first += 1
                    voters.append(b.get("voter"))
        p["first_choice_votes"], p["borda_points"], p["first_choice_voters"] = (
            first,
            borda,
            sorted(voters),
        )


def group_deliberations(heads: list[Row], parts: list[Row]) -> list[Row]:
    """Deliberation dicts with proposals (and their votes), critiques, ballots and rounds."""
    key = {
        "HAS_PROPOSAL": "proposals",
        "HAS_CRITIQUE": "critiques",
        "HAS_BALLOT": "ballots",
        "HAS_ROUND": "rounds_log",
    }
    out: dict[str, Row] = {
        h["id"]: {**h, "proposals": [], "critiques": [], "ballots": [], "rounds_log": []}
        for h in heads
    }
    for row in parts:
        d = out.setdefault(
            row["did"],
            {"id": row["did"], "proposals": [], "critiques": [], "ballots": [], "rounds_log": []},
        )
        d[key[row["rel"]]].append(dict(row["x"]))
    for d in out.values():
        for name in ("proposals", "critiques", "ballots", "rounds_log"):
            d[name].sort(key=lambda x: (x.get("round", 0) or 0, str(x.get("id"))))
        _votes(d["proposals"], d["ballots"])
    return sorted(out.values(), key=_order)


def assemble(
    story: Row, neighbours: list[Row], depends: list[Row], decisions: list[Row], parts: list[Row]
) -> Row:
    """The whole story subgraph as one dict (the report's graph half)."""
    graph: Row = {"story": story, **{name: [] for name in SECTIONS.values()}}
    for row in neighbours:
        section = SECTIONS.get(row["rel"])
        if section and section != "decisions":
            graph[section].append(dict(row["n"]))
    deps: dict[str, list[str]] = {}
    for row in depends:
        deps.setdefault(row["task"], []).append(row["dep"])
    for task in graph["tasks"]:
        task["depends_on"] = sorted(deps.get(task["id"], task.get("depends_on", [])))
    graph["tasks"].sort(key=lambda t: str(t["id"]))
    graph["deliberations"] = group_deliberations(graph["deliberations"], parts)
    graph["decisions"] = decisions
    for section in (
        "executions",
        "gates",
        "transitions",
        "approvals",
        "workspace_reports",
        "policy_checks",
    ):
        graph[section].sort(key=_order)
    return graph


def topo_order(tasks: list[Row]) -> list[str]:
    """Task ids in dependency order (Kahn's algorithm, ties by id); cycles appended at the end."""
    ids = {t["id"] for t in tasks}
    deps = {t["id"]: {d for d in t.get("depends_on", []) if d in ids} for t in tasks}
    order: list[str] = []
    ready = sorted(t for t, d in deps.items() if not d)
    while ready:
        tid = ready.pop(0)
        order.append(tid)
        for other, d in deps.items():
            if tid in d:
                d.discard(tid)
                if not d and other not in order and other not in ready:
                    ready.append(other)
        ready.sort()
    return order + sorted(ids - set(order))
