"""The report's council section: what each council decided, with the evidence, from the timeline.

For every finished council (``council.result``) of a story: its evidence suite
(``council.suite``: the generated tests kept, and why others were dropped), the distrusted tests,
each proposal (author, round, its patch or plan, its test results and failing tests), the
critiques, the ballots, the winner, and, for a patch council, the change the workspace runner
committed for that task attempt (``workspace.report``) compared with the winner's diff (the
generated tests that ship rewritten to import the code left out: they differ by design).
Pure: reads ``(entry, FleetEvent)`` rows, returns dicts and Markdown lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fleet.contracts import Deliberation, FleetEvent, Proposal
from fleet.evidence.suite import EvidenceSuite, strip_paths

DIFF_SHOWN = 6_000  # characters of a losing candidate's diff in the report (the winner: all)
EVENT_DIFF = 20_000  # the workspace.report event keeps at most this much of the committed diff
_ATTEMPT = re.compile(r"\.a(\d+)(?:\.c\d+)?(?::retry\d+)?$")


def _kept(test_id: str, suite: dict[str, Any]) -> bool:
    """A keep test of the suite (``council.suite``'s ``keep`` prefixes)."""
    return any(test_id.startswith(k) for k in suite.get("keep", []))


def attempt_of(deliberation_id: str) -> int | None:
    """``s.p1-t1.a0`` / ``s.p1-t1.a1.c1:retry1`` -> the build attempt; None for other councils."""
    m = _ATTEMPT.search(deliberation_id)
    return int(m.group(1)) if m else None


def _proposal(p: Proposal, evidence: dict[str, Any], winner: str | None) -> dict[str, Any]:
    ev = evidence.get(p.id)
    out: dict[str, Any] = {
        "id": p.id,
        "author": p.author,
        "role": p.role,
        "round": p.round,
        "summary": p.content,
        "winner": p.id == winner,
        "diff": p.patch.diff if p.patch else None,
        "plan": [t.model_dump(include={"id", "description", "depends_on"}) for t in p.plan],
        "tested": ev is not None,
    }
    if ev is not None:
        out |= {
            "tests_passed": ev.tests_passed,
            "tests_failed": ev.tests_failed,
            "failing": [
                {"test": t.test_id, "excerpt": t.excerpt} for t in ev.tests if not t.passed
            ],
            "detail": "" if ev.tests else ev.detail,
            "observed": dict(ev.observed),
        }
    return out


def _generated(tests: Any) -> tuple[str, ...]:
    """The generated test files that ship importing the code (``workspace.report``'s
    ``generated_tests``: rewritten ``imports``, QA's examples ``merged`` into them)."""
    if not isinstance(tests, dict):
        return ()
    imports, merged = tests.get("imports"), tests.get("merged")
    return tuple(
        str(p)
        for p in (
            *(imports if isinstance(imports, list) else ()),
            *(merged if isinstance(merged, dict) else ()),
        )
    )


def _committed(d: Deliberation, reports: list[FleetEvent]) -> dict[str, Any] | None:
    """The change committed for this council's task attempt, and whether it is the winner's."""
    attempt = attempt_of(d.id)
    win = next((p for p in reversed(d.proposals) if p.id == d.winner), None)
    if attempt is None or win is None or win.patch is None:
        return None
    for ev in reversed(reports):
        data = ev.data
        if data.get("task_id") != d.task_id or data.get("attempt") != attempt:
            continue
        shipped = str(data.get("patch") or "")
        diff, clipped = win.patch.diff, len(shipped) == EVENT_DIFF
        made = _generated(data.get("generated_tests"))
        if made:  # the generated tests ship importing the code: the rest must be the winner's
            drop = EvidenceSuite(protected=made)
            shipped, diff = strip_paths(shipped, drop)[0], strip_paths(diff, drop)[0]
        same = shipped == diff or (clipped and diff.startswith(shipped))
        return {
            "commit": data.get("commit"),
            "branch": data.get("branch"),
            "status": data.get("status"),
            "equals_winner": bool(shipped) and same,
            "tests_import": bool(made),
        }
    return None


def councils(rows: Iterable[tuple[str, FleetEvent]]) -> list[dict[str, Any]]:
    """One dict per finished council of patches or plans, in the order they finished."""
    results: dict[str, Deliberation] = {}
    suites: dict[str, dict[str, Any]] = {}
    reports: list[FleetEvent] = []
    skipped: dict[str, list[str]] = {}
    rounds: dict[str, list[dict[str, Any]]] = {}  # deliberation id -> its round_completed data
    for _, ev in rows:
        if ev.type == "council.result" and isinstance(ev.payload, Deliberation):
            results.pop(ev.payload.id, None)
            results[ev.payload.id] = ev.payload
        elif ev.type == "council.suite":
            suites[str(ev.data.get("deliberation_id"))] = dict(ev.data)
        elif ev.type == "workspace.report":
            reports.append(ev)
        elif ev.type == "council.round_completed":
            rounds.setdefault(str(ev.data.get("deliberation_id")), []).append(dict(ev.data))
            if isinstance(reasons := ev.data.get("skipped"), list):
                why = [f"round {ev.data.get('round')}, {w}" for w in reasons]
                skipped.setdefault(str(ev.data.get("deliberation_id")), []).extend(why)
    out = []
    for d in results.values():
        if not any(p.patch is not None or p.plan for p in d.proposals):
            continue  # a council of short text answers: the graph's table shows it
        evidence = {e.proposal_id: e for e in d.evidence}
        names = {p.id: p.author for p in d.proposals}
        suite = suites.get(d.id, {})
        out.append(
            {
                "id": d.id,
                "task_id": d.task_id,
                "attempt": attempt_of(d.id),
                "members": list(d.members),
                "rule": d.tally.rule if d.tally else None,
                "tie_break": d.tally.tie_break if d.tally else None,
                "early_stop": bool(d.tally and d.tally.early_stop),
                "winner": d.winner,
                "winner_author": names.get(d.winner or ""),
                "suite_tests": [t for t in suite.get("tests", []) if not _kept(t, suite)],
                "keep_tests": [t for t in suite.get("tests", []) if _kept(t, suite)],
                "suite_notes": list(suite.get("notes", [])),
                "distrusted": list(d.distrusted),
                "proposals": [_proposal(p, evidence, d.winner) for p in d.proposals],
                "critiques": [
                    {
                        "author": c.author,
                        "role": c.role,
                        "round": c.round,
                        "target": names.get(c.target, c.target),
                        "severity": c.severity,
                        "content": c.content,
                    }
                    for c in d.critiques
                ],  # fmt: skip
                "ballots": [
                    {
                        "voter": b.voter,
                        "round": b.round,
                        "ranking": [names.get(x, x) for x in b.ranking],
                    }
                    for b in d.ballots
                ],  # fmt: skip
                "votes_skipped": skipped.get(d.id, []),
                **_stages(suite, rounds.get(d.id, [])),
                "committed": _committed(d, reports),
            }
        )
    return out


def _stages(suite: dict[str, Any], rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """What the suite step and the rounds recorded about how the council worked: the located
    functions (best first), each developer's debugging, the distinguishing inputs run, and why a
    member gave no answer (``<round>:<step>:<member>`` -> reason)."""
    debugging = next((r["debugging"] for r in rounds if isinstance(r.get("debugging"), dict)), None)
    return {
        "located": [x for x in suite.get("located") or [] if isinstance(x, dict)][:3],
        "debugging": debugging,
        "distinguished": [d for r in rounds for d in r.get("distinguished") or []],
        "failures": {k: v for r in rounds for k, v in (r.get("failures") or {}).items()},
    }


def _stages_md(c: dict[str, Any]) -> list[str]:
    """The located functions, debugging, distinguishing inputs and missing answers, as a list."""
    out = []
    if c.get("located"):
        where = "; ".join(
            f"`{x.get('path')}::{x.get('function')}` ({', '.join(x.get('why') or [])})"
            for x in c["located"]
        )
        out.append(f"- located (best first): {_one_line(where, 600)}")
    debugging = c.get("debugging")
    if debugging:
        each = "; ".join(
            f"{m}: {d.get('versions', 0)} new version(s), {d.get('stopped', '?')}"
            for m, d in (debugging.get("developers") or {}).items()
        )
        out.append(f"- debugging (up to {debugging.get('bound')} versions each): {each or 'none'}")
    for d in c.get("distinguished", []):
        who = ", ".join(str(x).rsplit(":", 1)[-1] for x in d.get("candidates", []))
        inputs = d.get("inputs") or []
        told = (
            "none written: the ballots decided"
            if not inputs
            else f"{', '.join(f'`{i}`' for i in inputs[:8])}; differ on "
            + (", ".join(f"`{i}`" for i in d.get("differ") or []) or "none")
        )
        before = d.get("before") or {}
        if was := [f"`{i}` {before[i]}" for i in d.get("differ") or [] if i in before]:
            told += f"; before the change: {', '.join(was)}"
        out.append(
            f"- distinguishing inputs (round {d.get('round')}, {d.get('asked')} asked to separate "
            f"{who} on {', '.join(d.get('functions') or [])}): {_one_line(told, 600)}"
        )
    for key, why in c.get("failures", {}).items():
        round_, step, member = (key.split(":", 2) + ["", ""])[:3]
        out.append(f"- no answer from {member} (round {round_}, {step}): {_one_line(why, 300)}")
    return ["How the council worked:", *out, ""] if out else []


def _one_line(text: str, n: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _results(p: dict[str, Any]) -> str:
    if not p["tested"]:
        return "not tested"
    total = p["tests_passed"] + p["tests_failed"]
    if not total:
        return f"no test results ({_one_line(p['detail'], 200)})"
    return f"passes {p['tests_passed']}/{total} evidence tests"


def _proposal_md(p: dict[str, Any]) -> list[str]:
    mark = " — **winner**" if p["winner"] else ""
    out = [f"- **{p['author']}**, round {p['round']} (`{p['id']}`){mark}: {_results(p)}"]
    out += [
        f"  - fails `{f['test']}`: {_one_line(f['excerpt'], 200)}" for f in p.get("failing", [])
    ]
    if p.get("observed"):
        seen = "; ".join(f"`{k}` {v}" for k, v in list(p["observed"].items())[:6])
        out.append(f"  - probes: {_one_line(seen, 400)}")
    for t in p["plan"]:
        after = f" (after {', '.join(t['depends_on'])})" if t["depends_on"] else ""
        out.append(f"  - task `{t['id']}`{after}: {_one_line(t['description'], 200)}")
    if p["diff"] is not None:
        diff = p["diff"] if p["winner"] else p["diff"][:DIFF_SHOWN]
        clipped = "" if diff == p["diff"] else "\n... (clipped)"
        out += ["", "  ````diff", *(f"  {ln}" for ln in (diff + clipped).splitlines()), "  ````"]
    return out


def council_markdown(c: dict[str, Any]) -> list[str]:
    """One council as Markdown: suite, proposals with results, critiques, ballots, winner, commit."""
    where = f" (task `{c['task_id']}`" + (
        f", attempt {c['attempt']})" if c["attempt"] is not None else ")"
    )
    out = [
        f"### Council `{c['id']}`{where if c['task_id'] else ''}",
        "",
        f"Members: {', '.join(c['members'])}; rule: {c['rule']}"
        + (f"; tie-break: {c['tie_break']}" if c["tie_break"] else "")
        + ("; stopped early" if c["early_stop"] else "")
        + f"; **winner: {c['winner_author'] or 'none'}** (`{c['winner']}`)",
        "",
    ]
    if c["suite_tests"] or c["suite_notes"]:
        out.append(
            f"Evidence suite (generated, failing on the base): {len(c['suite_tests'])} test(s)"
        )
        out += [f"- `{t}`" for t in c["suite_tests"]]
        if c.get("keep_tests"):
            out.append(
                f"Keep tests (QA's examples the base already passes: behaviour to keep): "
                f"{len(c['keep_tests'])}"
            )
            out += [f"- `{t}`" for t in c["keep_tests"]]
        out += [f"- note: {_one_line(n, 300)}" for n in c["suite_notes"]]
        out.append("")
    out += _stages_md(c)
    distrusted = ", ".join(f"`{t}`" for t in c["distrusted"]) or "none"
    out += [
        f"Distrusted tests (no candidate passes them; left out of the winner): {distrusted}",
        "",
    ]
    out += ["#### Proposals", ""]
    for p in c["proposals"]:
        out += _proposal_md(p)
    out += ["", "#### Critiques", ""]
    out += [
        f"- {x['author']} on {x['target']}'s proposal, round {x['round']} ({x['severity']}): "
        f"{_one_line(x['content'], 600)}"
        for x in c["critiques"]
    ] or ["- none"]
    out += ["", "#### Ballots", ""]
    out += [
        f"- round {b['round']}, {b['voter']}: {' > '.join(b['ranking'])}" for b in c["ballots"]
    ] or ["- none"]
    out += [f"- not asked in {why}" for why in c.get("votes_skipped", [])]
    done = c["committed"]
    if done is not None:
        verdict = (
            "equals the winner's patch"
            + (", its generated tests importing the code" if done.get("tests_import") else "")
            if done["equals_winner"]
            else "DIFFERS from the winner's patch"
        )
        out += [
            "",
            f"Committed change: commit `{done['commit']}` on `{done['branch']}` ({done['status']}): "
            f"**{verdict}** ({c['winner_author']}).",
        ]
    return [*out, ""]
