"""The technical report of a story: a JSON model and its Markdown rendering.

``build_report`` joins the timeline (Redis, archive included) with the story subgraph;
``report_markdown`` renders it. Both are deterministic for the same inputs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from fleet.contracts import Contract, FleetEvent
from fleet.errors import NotFound
from fleet.memory.council_report import council_markdown, councils
from fleet.memory.graph_read import topo_order


class TimelineItem(Contract):
    kind: Literal["timeline_item"] = "timeline_item"
    entry: str
    at_ms: int
    type: str
    actor: str
    summary: str


class Report(Contract):
    """Everything the Markdown report shows, as JSON (``GET /stories/{id}/report?format=json``)."""

    kind: Literal["report"] = "report"
    story: dict[str, Any]
    timeline: tuple[TimelineItem, ...] = ()
    plan: tuple[dict[str, Any], ...] = ()
    deliberations: tuple[dict[str, Any], ...] = ()
    decisions: tuple[dict[str, Any], ...] = ()
    executions: tuple[dict[str, Any], ...] = ()
    gates: tuple[dict[str, Any], ...] = ()
    approvals: tuple[dict[str, Any], ...] = ()
    councils: tuple[dict[str, Any], ...] = Field(
        (),
        description="councils of patches or plans: proposals with their test results, "
        "critiques, ballots, winner, and the committed change compared with the winner's diff",
    )
    delivery: dict[str, Any] | None = Field(
        None, description="where the finished change is (story.delivered, without the diff)"
    )
    projected: bool = True
    progress: dict[str, Any] | None = Field(
        None,
        description="fleet.progress at the story's last event: per step its working time, "
        "what was happening, the budget spent and left",
    )


def delivery_of(rows: Any) -> dict[str, Any] | None:
    """The last ``story.delivered`` facts of a timeline, without the (long) diff."""
    found = [dict(ev.data) for _, ev in rows if ev.type == "story.delivered"]
    return {k: v for k, v in found[-1].items() if k != "diff"} if found else None


def summarize(ev: FleetEvent) -> str:
    """One line per event for the timeline."""
    p, d = ev.payload, ev.data
    if ev.type == "story.transition":
        return f"{d.get('from')} -> {d.get('to')} ({d.get('name')}) by {d.get('by') or ev.actor}"
    for attr in ("title", "what", "description", "content"):
        value = getattr(p, attr, None)
        if isinstance(value, str) and value:
            return _short(value)
    if p is not None and hasattr(p, "status"):
        return f"{getattr(p, 'spec_id', '')}: {p.status} (exit {getattr(p, 'exit_code', None)})"
    if p is not None and hasattr(p, "verdict"):
        return f"{p.profile} {p.verdict} score {p.score:g}"  # type: ignore[union-attr]
    if p is not None and hasattr(p, "winner"):
        return f"winner {p.winner}"
    return _short(", ".join(f"{k}={v}" for k, v in sorted(d.items()))) if d else ""


def _short(text: str, n: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def build_report(event_log: Any, graph: Any, story_id: str) -> Report:
    """Assemble the report model for one story.

    Raises:
        NotFound: the story has neither events nor a graph node.
        StorageUnavailable: Redis or the graph cannot be reached.
    """
    rows = event_log.read(story_id)
    progress = _progress(rows)
    timeline = tuple(
        TimelineItem(entry=e, at_ms=ev.at_ms, type=ev.type, actor=ev.actor, summary=summarize(ev))
        for e, ev in rows
    )
    try:
        sub = graph.story_graph(story_id)
    except NotFound:
        if not rows:
            raise
        story = next(
            (ev.payload.model_dump() for _, ev in rows if ev.type == "story.created"),
            {"id": story_id},
        )
        return Report(
            story=story,
            timeline=timeline,
            councils=tuple(councils(rows)),
            delivery=delivery_of(rows),
            projected=False,
            progress=progress,
        )
    by_id = {t["id"]: t for t in sub["tasks"]}
    plan = tuple(by_id[tid] for tid in topo_order(sub["tasks"]))
    return Report(
        story=sub["story"],
        timeline=timeline,
        plan=plan,
        deliberations=tuple(sub["deliberations"]),
        decisions=tuple(sub["decisions"]),
        executions=tuple(sub["executions"]),
        gates=tuple(sub["gates"]),
        approvals=tuple(sub["approvals"]),
        councils=tuple(councils(rows)),
        delivery=delivery_of(rows),
        progress=progress,
    )


def _progress(rows: Any) -> dict[str, Any] | None:
    """The story's progress as of its last event (so the report stays deterministic)."""
    from fleet.progress import fold, story_budget

    if not rows:
        return None
    p = fold([ev for _, ev in rows], now_ms=rows[-1][1].at_ms, budget=story_budget())
    return p.model_dump(mode="json")


def _when(ms: Any) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime((ms or 0) / 1000)) + " UTC"


def _cell(value: Any) -> str:
    return _short(str(value if value is not None else ""), 80).replace("|", "\\|")


def _deliberation_md(d: dict[str, Any]) -> list[str]:
    out = [
        f"### Deliberation `{d['id']}`" + (f" (task `{d['task_id']}`)" if d.get("task_id") else ""),
        f"Members: {', '.join(d.get('members', [])) or '?'}; revision rounds: {d.get('rounds', d.get('planned_rounds', '?'))}; "
        f"rule: {d.get('rule', '?')}; **winner: `{d.get('winner', 'none')}`**",
        "",
        "| proposal | author | round | 1st-choice votes | Borda | evidence | content |",
        "|---|---|---|---|---|---|---|",
    ]
    voted = bool(d.get("ballots"))  # settled by the evidence alone: no vote to count
    for p in d["proposals"]:
        ev = "" if "evidence_passed" not in p else ("pass" if p["evidence_passed"] else "fail")
        mark = " ✔" if p["id"] == d.get("winner") else ""
        votes, borda = (p["first_choice_votes"], p["borda_points"]) if voted else ("—", "—")
        out.append(
            f"| `{p['id']}`{mark} | {p.get('author')} | {p.get('round', 0)} | {votes} | "
            f"{borda} | {ev} | {_cell(p.get('content'))} |"
        )
    for c in d["critiques"]:
        out.append(
            f"- critique by {c.get('author')} on `{c.get('target')}` ({c.get('severity')}): {_cell(c.get('content'))}"
        )
    for b in d["ballots"]:
        out.append(
            f"- ballot of {b.get('voter')}: {' > '.join(b.get('ranking', []))}"
            + (f" — {_cell(b.get('rationale'))}" if b.get("rationale") else "")
        )
    return [*out, ""]


def report_markdown(report: Report) -> str:
    """The report as Markdown: story, timeline, plan DAG, deliberations, decisions, runs, gates."""
    s = report.story
    out = [
        f"# Story `{s.get('id')}`: {s.get('title', '')}",
        "",
        f"State **{s.get('state', '?')}**, rigor {s.get('rigor', '?')}, PO {s.get('po', '?')}"
        + (f", outcome {s['outcome']}" if s.get("outcome") else ""),
        "",
    ]
    if s.get("description"):
        out += [s["description"], ""]
    out += _delivery(report.delivery)
    if report.progress:
        from fleet.progress import Progress
        from fleet.progress_text import markdown

        out += markdown(Progress.model_validate(report.progress))
    if not report.projected:
        out += [
            "> The decision graph has not projected this story yet; only the timeline is shown.",
            "",
        ]
    out += (
        ["## Plan", ""]
        + [
            f"{i}. `{t['id']}` ({t.get('role')}, {t.get('phase')}): {_cell(t.get('description'))}"
            + (
                f" — after {', '.join(f'`{x}`' for x in t['depends_on'])}"
                if t.get("depends_on")
                else ""
            )
            for i, t in enumerate(report.plan, 1)
        ]
        + [""]
    )
    out += ["## Deliberations", ""] + [
        line for d in report.deliberations for line in _deliberation_md(d)
    ]
    if report.councils:
        out += ["## Councils: proposals, evidence, votes", ""]
        out += [line for c in report.councils for line in council_markdown(c)]
    out += ["## Decisions", ""]
    for d in report.decisions:
        out.append(
            f"- **{_cell(d.get('what'))}** — by {', '.join(d.get('decided_by', []))} at {_when(d.get('at_ms'))}"
            f"; why: {_cell(d.get('why'))}"
            + (f"; superseded by {', '.join(d['superseded_by'])}" if d.get("superseded_by") else "")
        )
        for a in d.get("alternatives", []):
            out.append(
                f"  - rejected `{a['proposal_id']}` ({a.get('author') or '?'}): {_cell(a.get('summary'))} — {_cell(a.get('why_rejected'))}"
            )
    out += [
        "",
        "## Tool executions",
        "",
        "| run | role | argv | status | exit | seconds |",
        "|---|---|---|---|---|---|",
    ]
    out += [
        f"| `{x['id']}` | {x.get('role')} | {_cell(' '.join(x.get('argv', [])))} | {x.get('status')} | "
        f"{x.get('exit_code', '')} | {x.get('duration_s', 0):.2f} |"
        for x in report.executions
    ]
    out += [
        "",
        "## Gate results",
        "",
        "| task | attempt | profile | score | verdict | failures |",
        "|---|---|---|---|---|---|",
    ]
    out += [
        f"| {g.get('task_id', '')} | {g.get('attempt', '')} | {g.get('profile')} | {g.get('score')} | "
        f"{g.get('verdict')} | {_cell('; '.join(g.get('failures', [])))} |"
        for g in report.gates
    ]
    out += ["", "## Timeline", ""] + [
        f"- {_when(t.at_ms)} `{t.type}` ({t.actor}) {t.summary}" for t in report.timeline
    ]
    return "\n".join(out) + "\n"


def render_report(event_log: Any, graph: Any, story_id: str) -> str:
    """``report_markdown(build_report(...))``."""
    return report_markdown(build_report(event_log, graph, story_id))


def _delivery(d: dict[str, Any] | None) -> list[str]:
    if not d:
        return []
    if not d.get("delivered"):
        return ["## Delivery", "", f"Not delivered: {d.get('error', '?')}", ""]
    return [
        "## Delivery",
        "",
        f"Branch `{d.get('branch')}` in `{d.get('repo')}` at commit `{d.get('commit')}`; "
        f"patch file `{d.get('patch_file')}` (`fleet diff <id>` prints it).",
        "",
    ] + _pushed(d)


def _pushed(d: dict[str, Any]) -> list[str]:
    if not d.get("push"):
        return []
    if d.get("pushed"):
        return [f"Pushed to `{d['push']}`: {d.get('push_result', '')}".rstrip(), ""]
    return [f"Not pushed to `{d['push']}`: {d.get('push_error', '?')}", ""]
