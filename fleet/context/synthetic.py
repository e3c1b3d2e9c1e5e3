"""A synthetic long story with known key facts, shared by the tests and the benchmark.

The story goes through planning, many council rounds (long proposals,
critiques, ballots), sandbox runs whose tests fail and get fixed, gate
results and usage records. Its key facts are what compression must keep:
every acceptance criterion, every decision and every test still failing at
its latest run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from fleet.contracts import (
    Alternative,
    Ballot,
    Critique,
    Decision,
    Deliberation,
    FleetEvent,
    GateResult,
    Proposal,
    Story,
    Task,
    TaskResult,
    UsageRecord,
    WorkspaceReport,
)  # fmt: skip

ROLES = ("developer", "qa", "devops", "data", "architect")
_TOPICS = (
    ("test", "Run the order service tests with pytest fixtures against a real Redis"),
    ("deployment", "Build the service image in CI and deploy it with a rolling release"),
    ("data", "Add a migration that creates the orders table with an index on customer_id"),
    ("general", "Validate request payloads at the API boundary and return typed errors"),
)
_WORDS = ("cache", "retry", "idempotent", "stream", "handler", "latency", "schema", "queue", "backoff", "timeout",
          "consumer", "partition", "checkpoint", "snapshot", "replica", "fallback", "budget", "ledger")  # fmt: skip


@dataclass
class KeyFacts:
    criteria: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)  # each decision's "what"
    failing_tests: list[str] = field(default_factory=list)  # failing at their latest run

    def all(self) -> list[str]:
        return [*self.criteria, *self.decisions, *self.failing_tests]


@dataclass
class SyntheticStory:
    story_id: str
    events: list[FleetEvent]
    facts: KeyFacts


class _Gen:
    def __init__(self, story_id: str, limit: int, seed: int) -> None:
        self.sid, self.limit, self.rng = story_id, limit, random.Random(seed)
        self.events: list[FleetEvent] = []
        self.at = 1_700_000_000_000

    def full(self, reserve: int = 0) -> bool:
        return len(self.events) + reserve >= self.limit

    def emit(self, type: str, payload: object = None, data: dict | None = None) -> None:
        if self.full():
            return
        self.at += 1000
        n = len(self.events)
        self.events.append(FleetEvent(id=f"{self.sid}:{type}:{n}", story_id=self.sid, type=type, at_ms=self.at,
                                      payload=payload, data=data or {}))  # fmt: skip

    def prose(self, n: int) -> str:
        return " ".join(self.rng.choice(_WORDS) for _ in range(n))


def _header(g: _Gen, n_criteria: int, n_tasks: int, facts: KeyFacts) -> list[str]:
    facts.criteria = [f"AC-{i}: the orders API rejects invalid request {i} with a 4{i % 10}0 error and logs it"
                      for i in range(1, n_criteria + 1)]  # fmt: skip
    g.emit("story.created", Story(id=g.sid, title="Orders API hardening", description="Harden the orders API: "
           + g.prose(60), acceptance_criteria=tuple(facts.criteria), rigor="L2", repo="/tmp/repo", state="DRAFT"))  # fmt: skip
    g.emit(
        "story.transition",
        data={"from": "DRAFT", "to": "DESIGN", "name": "approve_scope", "by": "po"},
    )
    tasks = [f"T{i}" for i in range(1, n_tasks + 1)]
    for i, tid in enumerate(tasks):
        deps = (tasks[i - 1],) if i else ()
        g.emit("task.planned", Task(id=tid, story_id=g.sid, role=ROLES[i % len(ROLES)], description=f"Task {tid}: "
               + g.prose(18), depends_on=deps))  # fmt: skip
    g.emit(
        "story.transition",
        data={"from": "DESIGN", "to": "BUILD", "name": "approve_design", "by": "po"},
    )
    return tasks


def _unit(
    g: _Gen, j: int, task: str, decide: str | None, tests: list[str], failing: set[str]
) -> None:
    did = f"del-{j}"
    members = [f"{r}-1" for r in ROLES[:3]]
    g.emit(
        "deliberation.started",
        data={"deliberation_id": did, "task_id": task, "members": members, "rounds": 2},
    )
    pids = []
    for rnd in (1, 2):
        for m in members:
            pid = f"{did}-{m}-r{rnd}"
            pids.append(pid)
            g.emit("council.proposal", Proposal(id=pid, deliberation_id=did, author=m, role=m[:-2], round=rnd,
                   content=f"Proposal from {m}: " + g.prose(70), rationale=g.prose(20)))  # fmt: skip
        g.emit("council.critique", Critique(id=f"{did}-c{rnd}", deliberation_id=did, author=members[rnd], role="qa",
               round=rnd, target=pids[-1], content="Concern: " + g.prose(25), severity="major"))  # fmt: skip
    for m in members:
        g.emit("council.ballot", Ballot(id=f"{did}-b-{m}", deliberation_id=did, voter=m, role=m[:-2],
               ranking=tuple(pids[-3:]), rationale=g.prose(15)))  # fmt: skip
    g.emit("council.result", Deliberation(id=did, story_id=g.sid, task_id=task, winner=pids[-1]))
    if decide:
        g.emit("decision.made", Decision(id=f"D{j}", story_id=g.sid, task_id=task, deliberation_id=did, what=decide,
               decided_by=tuple(members), why="The council preferred it: " + g.prose(12),
               alternatives=(Alternative(proposal_id=pids[-2], summary=g.prose(6), why_rejected=g.prose(5)),)))  # fmt: skip
    flaky = set(g.rng.sample(tests, 3))
    out = "\n".join(f"FAILED {t} - AssertionError: expected 400 got 500" if t in failing | flaky else f"PASSED {t}"
                    for t in tests)  # fmt: skip
    status = "failed" if failing | flaky else "passed"
    g.emit("sandbox.run", TaskResult(spec_id=f"run-{j}", status=status, exit_code=1 if status == "failed" else 0,
           stdout=out), data={"argv": ["pytest", "-rA"], "task_id": task})  # fmt: skip
    g.emit("model.usage", UsageRecord(story_id=g.sid, role="developer", model="smollm2", prompt_tokens=900,
           completion_tokens=120, latency_ms=800.0))  # fmt: skip


@dataclass(frozen=True)
class Shape:
    """How much of each kind a synthetic story holds besides its decisions."""

    criteria: int = 6
    tasks: int = 6
    failing: int = 4  # tests still failing at the end


def synthetic_story(
    n_events: int,
    *,
    story_id: str = "story-synth",
    n_decisions: int = 16,
    shape: Shape = Shape(),
    seed: int = 7,
) -> SyntheticStory:
    """A story of exactly ``n_events`` events (fewer facts when too short to hold them all)."""
    g, facts = _Gen(story_id, n_events, seed), KeyFacts()
    tasks = _header(g, shape.criteria, shape.tasks, facts)
    tests = [f"tests/test_orders.py::test_case_{i:02d}" for i in range(24)]
    open_failing = set(tests[: shape.failing])
    unit_size, tail = 21, 3
    units = max(1, (n_events - len(g.events) - tail) // unit_size)
    stride = max(1, units // max(1, n_decisions))
    j = 0
    while not g.full(reserve=tail + unit_size - 1) or j == 0:
        topic, text = _TOPICS[j % len(_TOPICS)]
        decide = (
            f"D{j}: {text} ({topic} decision {j})"
            if j % stride == 0 and len(facts.decisions) < n_decisions
            else None
        )
        before = len(g.events)
        # a decision belongs to the task of its topic (tests -> the qa task, deployment -> devops...)
        task = (
            tasks[1 + _TOPICS.index((topic, text)) if topic != "general" else 0]
            if decide
            else tasks[j % len(tasks)]
        )
        _unit(g, j, task, decide, tests, open_failing if j % 2 else set())
        if decide and any(
            e.type == "decision.made" and getattr(e.payload, "what", None) == decide
            for e in g.events[before:]
        ):
            facts.decisions.append(decide)
        j += 1
        if g.full():
            break
    _final_run(g, tests, open_failing, facts)
    while not g.full():  # pad with usage records up to the exact size
        g.emit("model.usage", UsageRecord(story_id=story_id, role="qa", model="smollm2", prompt_tokens=10,
               completion_tokens=2, latency_ms=5.0))  # fmt: skip
    return SyntheticStory(story_id, g.events, facts)


def _final_run(g: _Gen, tests: list[str], failing: set[str], facts: KeyFacts) -> None:
    out = "\n".join(f"FAILED {t} - AssertionError: orders API returned 500" if t in failing else f"PASSED {t}"
                    for t in tests)  # fmt: skip
    before = len(g.events)
    g.emit("sandbox.run", TaskResult(spec_id="run-final", status="failed", exit_code=1, stdout=out),
           data={"argv": ["pytest", "-rA"], "task_id": "T1"})  # fmt: skip
    if len(g.events) > before:
        facts.failing_tests = sorted(failing)
        g.emit("workspace.report", WorkspaceReport(build_ok=True, unit_passed=len(tests) - len(failing),
               unit_failed=len(failing), coverage=81.5), data={"task_id": "T1"})  # fmt: skip
        g.emit("gate.result", GateResult(profile="L2", score=62.0, verdict="block",
               failures=(f"unit: {len(failing)} failed",)), data={"task_id": "T1", "attempt": 1})  # fmt: skip
