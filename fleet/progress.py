"""A story's progress as a PO reads it: per step the time spent, what is happening now, the
budget spent and left, and an estimate of the time left from earlier stories' step durations.

Pure: :func:`fold` reads a story's events (the timeline is the truth) and the caller's clock
and history; ``fleet run``, the gateway (``GET /stories/{id}/progress``, the UI) and the report
render the :class:`Progress` it returns. Step durations leave out the time a story waited for
the PO at a gate, so an estimate made from them does not count a human's lunch break.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from fleet import events
from fleet.contracts import FleetEvent
from fleet.errors import InvalidInput

STEPS = ("DRAFT", "DESIGN", "BUILD", "TEST", "DOCS")  # the lifecycle's working states, in order
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


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Model):
    """One visit of a lifecycle state (TEST -> BUILD loops visit BUILD again)."""

    state: str
    started_ms: int
    ended_ms: int | None = Field(None, description="None: the story is in this step now")
    work_s: float = Field(description="seconds spent, without the time waiting for the PO")
    waited_s: float = Field(0.0, description="seconds spent waiting at a PO gate")


class Progress(_Model):
    """What ``fold`` makes of a story's events (the JSON of ``GET /stories/{id}/progress``)."""

    # the computed fields (tokens_left, time_left_s) come back when a client reads the JSON
    model_config = ConfigDict(frozen=True, extra="ignore")

    story_id: str
    state: str
    outcome: str | None = None
    now: str = Field(description="what is happening now, in words")
    elapsed_s: float = Field(description="since the story was created")
    steps: tuple[Step, ...] = ()
    tokens_spent: int = Field(0, description="prompt + completion since the budget last started")
    tokens_limit: int | None = Field(None, description="budgets.story.tokens; None: no limit")
    cost_spent: float = 0.0
    cost_limit: float | None = None
    time_limit_s: float | None = Field(
        None, description="a time budget when the caller has one (fleet run --timeout); None: none"
    )
    estimate_s: float | None = Field(
        None, description="time left, from the median step durations of earlier stories"
    )
    estimate_note: str = Field("no estimate yet", description="how the estimate was made")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tokens_left(self) -> int | None:
        return None if self.tokens_limit is None else max(0, self.tokens_limit - self.tokens_spent)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def time_left_s(self) -> float | None:
        if self.time_limit_s is None:
            return None
        return max(0.0, self.time_limit_s - self.elapsed_s)


def _typed(raw: FleetEvent) -> Any:
    try:
        return events.typed(raw)
    except InvalidInput:
        return None  # a frame this version cannot read tells nothing about progress


def _s(ms: int) -> float:
    return round(max(0, ms) / 1000.0, 3)


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


def _steps(fold: _Fold, now_ms: int) -> tuple[Step, ...]:
    out = []
    for s in fold.steps:
        end = s["ended_ms"] if s["ended_ms"] is not None else now_ms
        wait = s["wait"]
        if s["ended_ms"] is None and fold.parked_at is not None:
            wait += max(0, now_ms - fold.parked_at)  # waiting now, at this step's gate
        out.append(
            Step(
                state=s["state"],
                started_ms=s["started_ms"],
                ended_ms=s["ended_ms"],
                work_s=_s(end - s["started_ms"] - wait),
                waited_s=_s(wait),
            )
        )
    return tuple(out)


def step_durations(story_events: Iterable[FleetEvent]) -> dict[str, list[float]]:
    """Finished steps' working seconds by state, from one story's events (an estimate's input)."""
    fold = _Fold()
    for raw in story_events:
        ev = _typed(raw)
        if ev is not None:
            fold.add(ev)
    out: dict[str, list[float]] = {}
    for step in _steps(fold, 0):
        if step.ended_ms is not None:
            out.setdefault(step.state, []).append(step.work_s)
    return out


def history_of(stories: Iterable[Iterable[FleetEvent]]) -> dict[str, list[float]]:
    """Every story's finished step durations, pooled by state."""
    pooled: dict[str, list[float]] = {}
    for story in stories:
        for state, durations in step_durations(story).items():
            pooled.setdefault(state, []).extend(durations)
    return pooled


def estimate(
    state: str, in_step_s: float, history: Mapping[str, Sequence[float]]
) -> tuple[float | None, str]:
    """Seconds left: the median of the current step less the time already in it (at least 0),
    plus the median of each later step. None when a step to come has no recorded duration."""
    if state not in STEPS:
        return (0.0, "finished") if state == "DONE" else (None, "no estimate yet")
    to_come = STEPS[STEPS.index(state) :]
    if any(not history.get(s) for s in to_come):
        missing = ", ".join(s for s in to_come if not history.get(s))
        return None, f"no estimate yet (no finished {missing} step recorded)"
    medians = {s: statistics.median(history[s]) for s in to_come}
    left = max(0.0, medians[state] - in_step_s) + sum(medians[s] for s in to_come[1:])
    runs = min(len(history[s]) for s in to_come)
    return round(left, 1), f"median step durations of earlier stories (≥{runs} per step)"


def fold(
    story_events: Iterable[FleetEvent],
    *,
    now_ms: int,
    history: Mapping[str, Sequence[float]] | None = None,
    budget: Any = None,
    time_limit_s: float | None = None,
) -> Progress:
    """The story's progress at ``now_ms``. ``budget``: models.yaml ``budgets.story`` (a
    :class:`fleet.config.models.Budget`, or None); ``history``: :func:`history_of` other stories."""
    f = _Fold()
    for raw in story_events:
        ev = _typed(raw)
        if ev is not None:
            f.add(ev)
    steps = _steps(f, now_ms)
    end_ms = steps[-1].ended_ms if f.outcome and steps and steps[-1].ended_ms else now_ms
    in_step = steps[-1].work_s if steps and steps[-1].ended_ms is None else 0.0
    state = "DONE" if f.outcome else f.state
    est, note = estimate(state, in_step, history or {})
    return Progress(
        story_id=f.story_id,
        state=f.state,
        outcome=f.outcome,
        now=f.now,
        elapsed_s=_s(end_ms - f.created_ms) if f.created_ms else 0.0,
        steps=steps,
        tokens_spent=f.tokens,
        tokens_limit=getattr(budget, "tokens", None),
        cost_spent=round(f.cost, 6),
        cost_limit=getattr(budget, "cost", None),
        time_limit_s=time_limit_s,
        estimate_s=None if f.outcome and f.outcome != "done" else est,
        estimate_note=note,
    )


def story_budget() -> Any:
    """models.yaml ``budgets.story`` (None: no story budget, or no readable config)."""
    from fleet.config import load
    from fleet.errors import FleetError

    try:
        return load("models.yaml").budgets.get("story")
    except (FleetError, OSError):
        return None
