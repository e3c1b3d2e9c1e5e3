"""One pass over a story's events: :class:`_Fold` keeps the running state (the step
boundaries, the time parked at a PO gate, tokens and cost since the budget last started) and
says what is happening now, in words (``DOING``, :func:`sandbox_words`). :func:`read` folds a
whole story; :mod:`fleet.progress.timing` and :mod:`fleet.progress.snapshot` read its result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fleet import events
from fleet.contracts import FleetEvent
from fleet.errors import InvalidInput
from fleet.progress.model import STEPS

DOING = {
    "BACKLOG": "the story is queued",
    "DRAFT": "the story coach scores the story",
    "DESIGN": "the planning council plans the tasks",
    "BUILD": "QA writes the evidence suite; the council prepares a change",
    "TEST": "the rigor gate judges the change",
    "DOCS": "the documentation is written",
    "DONE": "finished",
}


def sandbox_words(spec_id: str, status: str) -> str | None:
    """Words for the runs whose outcome is not what it seems: QA's suite on the base commit
    (the red step of test-first) must fail; failing there is the expected result, not an error.
    None: an ordinary run."""
    if not spec_id.startswith("baseline:"):
        return None
    if status == "failed":
        return "QA's tests fail on the base commit, as they must"
    if status == "passed":
        return "QA's tests pass on the base commit already (they cannot show the change)"
    return f"QA's tests on the base commit: {status}"


def _typed(raw: FleetEvent) -> Any:
    try:
        return events.typed(raw)
    except InvalidInput:
        return None  # a frame this version cannot read tells nothing about progress


class _Fold:
    """The running state of one story's fold (one pass over its events)."""

    def __init__(self) -> None:
        self.story_id, self.state = "", "BACKLOG"
        self.outcome: str | None = None
        self.created_ms = 0
        self.steps: list[dict[str, Any]] = []
        self.parked_at: int | None = None
        self.tokens, self.cost = 0, 0.0
        self.now = DOING["BACKLOG"]
        self.council: dict[str, Any] = {}  # deliberation id -> {rounds, members, ballots}
        self.authors: dict[str, str] = {}  # proposal id -> author
        self.rounds: dict[str, int] = {}  # proposal id -> its round
        self.owner: dict[str, str] = {}  # proposal id -> its deliberation

    def add(self, ev: Any) -> None:
        self.story_id = self.story_id or ev.story_id
        self.created_ms = self.created_ms or ev.at_ms
        handler = getattr(self, "_" + ev.type.replace(".", "_"), None)
        if handler is not None:
            handler(ev)

    def _story_transition(self, ev: events.StoryTransition) -> None:
        self._unpark(ev.at_ms)
        if self.steps and self.steps[-1]["ended_ms"] is None:
            self.steps[-1]["ended_ms"] = ev.at_ms
        self.state = ev.to
        if ev.to in STEPS:
            self.steps.append({"state": ev.to, "started_ms": ev.at_ms, "ended_ms": None, "wait": 0})
        self.now = DOING.get(ev.to, ev.to)

    def _story_parked(self, ev: events.StoryParked) -> None:
        self.parked_at = ev.at_ms if self.parked_at is None else self.parked_at
        why = " ".join(ev.reason.split())
        self.now = f"waiting at the {ev.gate} gate" + (f": {why}" if why else "")

    def _story_approved(self, ev: events.StoryApproved) -> None:
        self._unpark(ev.at_ms)
        if ev.gate == "budget" and ev.approved:  # the ledger's rule: a fresh budget
            self.tokens, self.cost = 0, 0.0
        self.now = f"the PO {'approved' if ev.approved else 'rejected'} the {ev.gate} gate"

    def _story_rejected(self, ev: events.StoryRejected) -> None:
        """``story.rejected`` (the PO's no; older logs say ``story.approved`` with approved=False)."""
        self._unpark(ev.at_ms)
        self.now = f"the PO rejected the {ev.gate} gate"

    def _story_done(self, ev: events.StoryDone) -> None:
        self._unpark(ev.at_ms)
        if self.steps and self.steps[-1]["ended_ms"] is None:
            self.steps[-1]["ended_ms"] = ev.at_ms
        self.outcome, self.now = ev.outcome, f"finished: {ev.outcome}"

    def _unpark(self, at_ms: int) -> None:
        if self.parked_at is not None and self.steps:
            self.steps[-1]["wait"] += max(0, at_ms - self.parked_at)
        self.parked_at = None

    def _model_usage(self, ev: events.ModelUsed) -> None:
        self.tokens += ev.payload.prompt_tokens + ev.payload.completion_tokens
        self.cost += ev.payload.cost

    def _deliberation_started(self, ev: events.DeliberationStarted) -> None:
        self.council[ev.deliberation_id] = {
            "rounds": ev.rounds,
            "members": len(ev.members),
            "ballots": 0,
            "task": ev.task_id or "the plan",
        }
        self.now = (
            f"council for {self._task(ev.deliberation_id)}: {len(ev.members)} members propose "
            f"(first proposals, then up to {ev.rounds} revision round{_s_(ev.rounds)})"
        )

    def _council_proposal(self, ev: events.CouncilProposal) -> None:
        p = ev.payload
        self.authors[p.id], self.rounds[p.id] = p.author, p.round
        self.owner[p.id] = p.deliberation_id
        c = self.council.get(p.deliberation_id, {})
        stage = (
            "first proposal"
            if p.round == 0
            else f"revision, round {p.round} of {c.get('rounds', p.round)}"
        )
        self.now = f"{p.author} proposed a change for {self._task(p.deliberation_id)} ({stage})"

    def _council_evidence(self, ev: events.CouncilEvidence) -> None:
        e = ev.payload
        author = self.authors.get(e.proposal_id, e.proposal_id)
        if e.passed:
            self.now = f"{author}'s change passes the evidence suite ({e.tests_passed} tests)"
            return
        did = self.owner.get(e.proposal_id, "")
        rounds, done = self.council.get(did, {}).get("rounds", 0), self.rounds.get(e.proposal_id, 0)
        failing = f"{e.tests_failed} failing test{_s_(e.tests_failed)}"
        if done < rounds:
            self.now = f"{author} revising after {failing}, round {done + 1} of {rounds}"
        else:
            self.now = f"{author}'s change has {failing}; no revision round left"

    def _council_ballot(self, ev: events.CouncilBallot) -> None:
        did = ev.payload.deliberation_id
        c = self.council.setdefault(did, {"rounds": 0, "members": 0, "ballots": 0, "task": "?"})
        c["ballots"] += 1
        of = f" of {c['members']}" if c["members"] else ""
        self.now = f"council for {self._task(did)} votes: {c['ballots']}{of} ballots in"

    def _council_result(self, ev: events.CouncilResult) -> None:
        d = ev.payload
        winner = self.authors.get(d.winner or "", d.winner or "no one")
        self.now = f"council for {self._task(d.id)} chose {winner}'s proposal"

    def _sandbox_run(self, ev: events.SandboxRun) -> None:
        said = sandbox_words(ev.payload.spec_id, ev.payload.status)
        if said:
            self.now = said
            return
        who = ev.role or "the fleet"
        self.now = f"{who} runs {' '.join(ev.argv[:3])} in the sandbox: {ev.payload.status}"

    def _workspace_report(self, ev: events.WorkspaceReported) -> None:
        p = ev.payload
        build = "built" if p.build_ok else "build FAILED"
        self.now = f"task {ev.task_id} {build}: {p.unit_passed} passed / {p.unit_failed} failed"

    def _gate_result(self, ev: events.GateJudged) -> None:
        self.now = f"the rigor gate says {ev.payload.verdict} for task {ev.task_id}"

    def _task(self, deliberation_id: str) -> str:
        task = self.council.get(deliberation_id, {}).get("task")
        return "the plan" if task in (None, "the plan") else f"task {task}"


def _s_(n: int) -> str:
    return "" if n == 1 else "s"


def read(story_events: Iterable[FleetEvent]) -> _Fold:
    """A story's events folded in one pass (frames this version cannot read are skipped)."""
    fold = _Fold()
    for raw in story_events:
        ev = _typed(raw)
        if ev is not None:
            fold.add(ev)
    return fold
