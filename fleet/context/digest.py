"""An incrementally maintained per-story digest: the timeline folded into what packs need.

``StoryDigest.apply(entry_id, event)`` updates it from one event; the digest
remembers the last entry id it has seen, so a service only reads the events
that arrived since (one short range read) instead of re-reading and
re-tokenizing a 10,000-event timeline per pack. The digest is plain JSON, so it
can be stored next to the timeline and a restarted service resumes from it.

Everything is redacted on the way in, and long texts are capped: the digest is
bounded by the number of decisions, tasks, tests and open deliberations, not by
the length of the timeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fleet import events
from fleet.context.lines import cap, event_line
from fleet.context.redact import redact
from fleet.contracts import FleetEvent
from fleet.errors import InvalidInput

VERSION = 1
RECENT = 30  # events kept verbatim (shortened) in the history tail
MILESTONES = 60
CLOSED_KEPT = 3  # closed deliberations kept (winner only); older ones live on in their decisions
_TEST_LINE = re.compile(
    r"^(?:(FAILED|ERROR|PASSED)\s+(\S+::\S+)(?:\s+-\s+(.*))?|(\S+::\S+)\s+(PASSED|FAILED|ERROR)\b)",
    re.M,
)
_MILESTONE_TYPES = {
    "story.transition",
    "story.parked",
    "story.approved",
    "story.rejected",
    "gate.result",
    "budget.exceeded",
    "story.done",
}
TAGS = {
    "test": re.compile(
        r"(?i)\b(tests?|testing|pytest|coverage|qa|assert\w*|fixtures?|e2e|regression|flaky)\b"
    ),
    "deployment": re.compile(
        r"(?i)\b(deploy\w*|docker\w*|images?|ci|pipeline|builds?|dependenc\w+|packag\w+|kubernetes|k8s|helm"
        r"|release\w*|infra\w*|containers?|rollout|environment)\b"
    ),
    "data": re.compile(
        r"(?i)\b(schemas?|databases?|migrations?|tables?|columns?|sql|data|index\w*|queries|query|records?)\b"
    ),
}
_ROLE_TAG = {"qa": "test", "devops": "deployment", "data": "data"}


class StoryDigest:
    """The folded state of one story's timeline (see module docstring)."""

    def __init__(self, story_id: str, state: dict[str, Any] | None = None) -> None:
        self.story_id = story_id
        self.s: dict[str, Any] = state or {
            "v": VERSION, "last_id": "0", "events": 0, "by_type": {}, "story": None, "tasks": {},
            "decisions": {}, "tests": {}, "gates": [], "reports": [], "delibs": {},
            "milestones": [], "recent": [], "redacted": 0,
        }  # fmt: skip

    @property
    def last_id(self) -> str:
        return str(self.s["last_id"])

    def to_json(self) -> str:
        return json.dumps({"story_id": self.story_id, **self.s}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> StoryDigest | None:
        """The stored digest, or ``None`` when it is from another format version."""
        raw = json.loads(text)
        if raw.get("v") != VERSION:
            return None
        return cls(raw.pop("story_id"), raw)

    def apply_all(self, entries: list[tuple[str, FleetEvent]]) -> int:
        """Fold many ``(entry_id, event)``; returns how many were applied."""
        return sum(self.apply(entry, ev) for entry, ev in entries)

    def apply(self, entry_id: str, event: FleetEvent) -> bool:
        """Fold one event; events of other stories are ignored (nobody sees another story)."""
        if (
            event.story_id != self.story_id
            or getattr(event.payload, "story_id", self.story_id) != self.story_id
        ):
            return False
        s = self.s
        s["last_id"], s["events"] = entry_id, s["events"] + 1
        s["by_type"][event.type] = s["by_type"].get(event.type, 0) + 1
        step = _HANDLERS.get(event.type)
        typed = _typed(event) if step else None
        if step and typed is not None:
            step(self, typed)
        line = event_line(event)
        s["recent"] = (s["recent"] + [line])[-RECENT:]
        if event.type in _MILESTONE_TYPES:
            s["milestones"] = (s["milestones"] + [line])[-MILESTONES:]
        return True

    def merge_graph_decisions(self, rows: list[dict[str, Any]]) -> int:
        """Add decisions known only to the graph (the timeline expired or was trimmed)."""
        added = 0
        for row in rows:
            did = str(row.get("id") or "")
            if not did or did in self.s["decisions"]:
                continue
            what, n1 = cap(str(row.get("what", "")), "description")
            why, n2 = cap(str(row.get("why", "")), "why")
            self._count(n1 + n2)
            by = [str(b) for b in row.get("decided_by") or []]
            alts = [
                cap(f"{a.get('summary')} (rejected: {a.get('why_rejected')})", "detail")[0]
                for a in row.get("alternatives") or []
            ]
            tags = self._tags(what, row.get("task_id"))
            self.s["decisions"][did] = {"what": what, "why": why, "by": by, "task_id": row.get("task_id"),
                                        "alternatives": alts, "at_ms": int(row.get("at_ms") or 0), "tags": tags}  # fmt: skip
            added += 1
        return added

    def _tags(self, what: str, task_id: str | None) -> list[str]:
        """Which role-specific views a decision belongs to: by what it says and by its task's role.

        Only ``what`` counts: a rationale that mentions tests in passing is not a test decision.
        """
        task = self.s["tasks"].get(task_id or "")
        by_role = {_ROLE_TAG[task["role"]]} if task and task["role"] in _ROLE_TAG else set()
        return sorted({t for t, rx in TAGS.items() if rx.search(what)} | by_role)

    def _count(self, n: int) -> None:
        self.s["redacted"] += n

    # ------------------------------------------------------------------ handlers

    def _story(self, ev: events.StoryCreated | events.StoryUpdated) -> None:
        p: Any = ev.payload
        desc, n = cap(p.description, "description")
        crit = [redact(c) for c in p.acceptance_criteria]
        self._count(n + sum(c[1] for c in crit))
        title, m = redact(p.title)
        self._count(m)
        self.s["story"] = {"title": title, "description": desc, "criteria": [c[0] for c in crit],
                           "rigor": p.rigor, "state": p.state}  # fmt: skip

    def _transition(self, ev: events.StoryTransition) -> None:
        if self.s["story"] is not None:
            self.s["story"]["state"] = ev.to

    def _task(self, ev: events.TaskPlanned) -> None:
        p: Any = ev.payload
        desc, n = cap(p.description, "description")
        self._count(n)
        self.s["tasks"][p.id] = {
            "role": p.role,
            "phase": p.phase,
            "description": desc,
            "depends_on": list(p.depends_on),
        }

    def _decision(self, ev: events.DecisionMade) -> None:
        p: Any = ev.payload
        what, n1 = cap(p.what, "description")
        why, n2 = cap(p.why, "why")
        self._count(n1 + n2)
        tags = self._tags(p.what, p.task_id)
        alts = [
            cap(f"{a.summary} (rejected: {a.why_rejected})", "detail")[0] for a in p.alternatives
        ]
        self.s["decisions"][p.id] = {"what": what, "why": why, "by": list(p.decided_by), "task_id": p.task_id,
                                     "alternatives": alts, "at_ms": p.at_ms, "tags": tags}  # fmt: skip

    def _run(self, ev: events.SandboxRun) -> None:
        p: Any = ev.payload
        found = False
        for m in _TEST_LINE.finditer(f"{p.stdout}\n{p.stderr}"):
            status = (m.group(1) or m.group(5)).lower()
            test_id = m.group(2) or m.group(4)
            detail, n = cap(m.group(3) or "", "detail")
            self._count(n)
            self.s["tests"][test_id] = {"status": "passed" if status == "passed" else "failed", "detail": detail,
                                        "task_id": ev.task_id, "entry": self.last_id}  # fmt: skip
            found = True
        if not found:  # a command without per-test output: the command itself is the "test"
            key = "cmd: " + (" ".join(ev.argv) if ev.argv else p.spec_id)
            tail = (p.stderr or p.stdout or p.reason).strip().splitlines()[-1:] or [""]
            detail, n = cap(f"{p.status} exit={p.exit_code} {tail[0]}", "detail")
            self._count(n)
            status = "passed" if p.status == "passed" else "failed"
            self.s["tests"][key] = {
                "status": status,
                "detail": detail,
                "task_id": ev.task_id,
                "entry": self.last_id,
            }

    def _gate(self, ev: events.GateJudged) -> None:
        p: Any = ev.payload
        fails = [cap(f, "detail")[0] for f in p.failures]
        g = {
            "task_id": ev.task_id,
            "verdict": p.verdict,
            "score": round(p.score, 1),
            "profile": p.profile,
            "failures": fails,
        }
        self.s["gates"] = (self.s["gates"] + [g])[-5:]

    def _report(self, ev: events.WorkspaceReported) -> None:
        p: Any = ev.payload
        r = {"task_id": ev.task_id, "build_ok": p.build_ok, "passed": p.unit_passed,
             "failed": p.unit_failed, "coverage": p.coverage, "lint": p.lint_findings}  # fmt: skip
        self.s["reports"] = (self.s["reports"] + [r])[-5:]

    def _delib(self, delib_id: str, task_id: str | None = None) -> dict[str, Any]:
        d: dict[str, Any] = self.s["delibs"].setdefault(delib_id, {"task_id": task_id, "open": True, "winner": None,
                                                   "proposals": {}, "critiques": [], "ballots": 0, "rounds": 0})  # fmt: skip
        if task_id and not d["task_id"]:
            d["task_id"] = task_id
        return d

    def _delib_started(self, ev: events.DeliberationStarted) -> None:
        self._delib(ev.deliberation_id, ev.task_id)

    def _proposal(self, ev: events.CouncilProposal) -> None:
        p: Any = ev.payload
        content, n = cap(p.content, "proposal")
        self._count(n)
        d = self._delib(p.deliberation_id)
        d["rounds"] = max(d["rounds"], p.round)
        # a revision supersedes the author's earlier proposal: only the latest is worth reading
        d["proposals"][p.author] = {
            "id": p.id,
            "role": p.role,
            "round": p.round,
            "content": content,
        }

    def _critique(self, ev: events.CouncilCritique) -> None:
        p: Any = ev.payload
        content, n = cap(p.content, "critique")
        self._count(n)
        d = self._delib(p.deliberation_id)
        c = {
            "author": p.author,
            "target": p.target,
            "round": p.round,
            "severity": p.severity,
            "content": content,
        }
        d["critiques"] = (d["critiques"] + [c])[-12:]

    def _ballot(self, ev: events.CouncilBallot) -> None:
        self._delib(ev.payload.deliberation_id)["ballots"] += 1

    def _result(self, ev: events.CouncilResult) -> None:
        p: Any = ev.payload
        d = self._delib(p.id, p.task_id)
        won = next((x for x in d["proposals"].values() if x["id"] == p.winner), None)
        # a closed deliberation keeps only its winner: the decision carries the rest
        d.update(
            open=False, winner=p.winner, critiques=[], proposals={"winner": won} if won else {}
        )
        closed = [k for k, v in self.s["delibs"].items() if not v["open"]]
        for k in closed[:-CLOSED_KEPT]:
            del self.s["delibs"][k]

    def _suite(self, ev: events.CouncilSuite) -> None:
        """The latest reproduction test (a bug story's): what localisation reads; and which
        tests are QA's own examples (advisory: they may be wrong themselves)."""
        self.s["advisory"] = list(ev.advisory)
        repro = _repro(ev)
        if repro is not None:
            self._count(repro.pop("redacted"))
            self.s["repro"] = repro


def _repro(ev: Any) -> dict[str, Any] | None:
    """The reproduction test of a ``council.suite`` event (``fleet/pipeline/suite.py``), capped:
    its source and failure are localisation's evidence (``fleet/context/located.py``)."""
    repro = getattr(ev, "repro", None)
    if not isinstance(repro, dict):
        return None
    source, n = cap(str(repro.get("source", "")), "description")
    excerpt, m = cap(str(repro.get("excerpt", "")), "description")
    return {"reproduced": bool(repro.get("reproduced")), "source": source, "excerpt": excerpt,
            "redacted": n + m}  # fmt: skip


def _typed(event: FleetEvent) -> Any:
    """The typed event, or None when it does not fit its type (an older writer): skipped."""
    try:
        return events.typed(event)
    except InvalidInput:
        return None


# event type -> how it changes the digest; each handler gets the typed event (fleet.events)
_HANDLERS: dict[str, Callable[[StoryDigest, Any], None]] = {
    "story.created": StoryDigest._story,
    "story.updated": StoryDigest._story,
    "story.transition": StoryDigest._transition,
    "task.planned": StoryDigest._task,
    "decision.made": StoryDigest._decision,
    "sandbox.run": StoryDigest._run,
    "gate.result": StoryDigest._gate,
    "workspace.report": StoryDigest._report,
    "deliberation.started": StoryDigest._delib_started,
    "council.proposal": StoryDigest._proposal,
    "council.critique": StoryDigest._critique,
    "council.ballot": StoryDigest._ballot,
    "council.result": StoryDigest._result,
    "council.suite": StoryDigest._suite,
}
