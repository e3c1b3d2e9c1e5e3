"""A realistic, deterministic story timeline for tests, benchmarks and demos.

A story is created, scored, approved through the scope and design gates, planned into a
task DAG, and each finished task goes through a council (proposals, critiques, ballots,
evidence, result), a decision with rejected alternatives, a sandbox run and a rigor gate.
"""

from __future__ import annotations

from fleet.contracts import (
    Alternative,
    Ballot,
    Critique,
    Decision,
    Deliberation,
    Evidence,
    FleetEvent,
    GateResult,
    Proposal,
    Story,
    StoryScore,
    Tally,
    Task,
    TaskResult,
)
from fleet.events import Envelope, make_event
from fleet.ports import Clock

MEMBERS = ("developer-1", "qa-1", "architect-1")


def _ev(clock: Clock, story: str, type: str, *, key: str | None = None, **kw: object) -> FleetEvent:
    clock_advance = getattr(clock, "advance", None)
    if clock_advance:
        clock_advance(1000)
    envelope = Envelope(key=key)
    return make_event(story, type, clock=clock, envelope=envelope, **kw)  # type: ignore[arg-type]


def _council(clock: Clock, sid: str, task: Task, rounds: int, *, finish: bool) -> list[FleetEvent]:
    did = f"{task.id}-council"
    out = [
        _ev(
            clock,
            sid,
            "deliberation.started",
            key=did,
            data={
                "deliberation_id": did,
                "task_id": task.id,
                "members": list(MEMBERS),
                "rounds": rounds,
                "rule": "borda",
            },
        )
    ]
    props: list[Proposal] = []
    crits: list[Critique] = []
    for r in range(rounds if finish else 1):
        round_props = [
            Proposal(
                id=f"{did}-{m}-r{r}",
                deliberation_id=did,
                author=m,
                role=m.split("-")[0],
                round=r,
                content=f"{m} approach to {task.description} (round {r})",
                rationale=f"because {m}",
            )
            for m in MEMBERS
        ]
        out += [_ev(clock, sid, "council.proposal", payload=p) for p in round_props]
        if r > 0:
            c = Critique(
                id=f"{did}-crit-r{r}",
                deliberation_id=did,
                author=MEMBERS[1],
                role="qa",
                round=r,
                target=props[0].id,
                content="missing edge cases",
                severity="major",
            )
            crits.append(c)
            out.append(_ev(clock, sid, "council.critique", payload=c))
        props += round_props
        out.append(
            _ev(
                clock,
                sid,
                "council.round_completed",
                key=f"{did}:{r}",
                data={"deliberation_id": did, "round": r, "missing": []},
            )
        )
    if not finish:
        return out
    final = props[-len(MEMBERS) :]
    ballots = [
        Ballot(
            id=f"{did}-ballot-{m}",
            deliberation_id=did,
            voter=m,
            role=m.split("-")[0],
            ranking=tuple(
                p.id for p in sorted(final, key=lambda p: (p.author != MEMBERS[0], p.id))
            ),
            rationale="tests pass",
        )
        for m in MEMBERS
    ]
    out += [_ev(clock, sid, "council.ballot", payload=b) for b in ballots]
    evidence = Evidence(proposal_id=final[0].id, passed=True, tests_passed=5)
    out.append(_ev(clock, sid, "council.evidence", payload=evidence, key=f"{did}:{final[0].id}"))
    winner = final[0].id
    delib = Deliberation(
        id=did,
        story_id=sid,
        task_id=task.id,
        members=MEMBERS,
        rounds=rounds,
        proposals=tuple(props),
        critiques=tuple(crits),
        ballots=tuple(ballots),
        evidence=(evidence,),
        tally=Tally(rule="borda", scores={winner: 6.0}, winner=winner),
        winner=winner,
    )
    out.append(_ev(clock, sid, "council.result", payload=delib))
    out.append(
        _ev(clock, sid, "decision.made", payload=decision(clock, sid, task, did, winner, final[1:]))
    )
    run = TaskResult(
        spec_id=f"{task.id}-run",
        status="passed",
        exit_code=0,
        stdout="5 passed",
        duration_s=1.5,
        backend="bwrap",
    )
    out.append(
        _ev(
            clock,
            sid,
            "sandbox.run",
            payload=run,
            data={
                "argv": ["pytest", "-q"],
                "role": "developer",
                "phase": "build",
                "task_id": task.id,
            },
        )
    )
    gate = GateResult(profile="L1", score=88.0, verdict="pass")
    out.append(
        _ev(
            clock,
            sid,
            "gate.result",
            payload=gate,
            key=f"{task.id}:1",
            data={"task_id": task.id, "attempt": 1},
        )
    )
    return out


def decision(
    clock: Clock,
    sid: str,
    task: Task,
    did: str | None,
    winner: str,
    losers: list[Proposal],
) -> Decision:
    """The decision a council's result implies."""
    return Decision(
        id=f"{task.id}-decision",
        story_id=sid,
        task_id=task.id,
        deliberation_id=did,
        what=f"adopt {winner} for {task.id}",
        decided_by=MEMBERS,
        why="highest Borda score and passing evidence",
        at_ms=clock.now_ms(),
        alternatives=tuple(
            Alternative(proposal_id=p.id, summary=p.content[:60], why_rejected="fewer votes")
            for p in losers
        ),
    )


def sample_story(
    story_id: str, *, clock: Clock, tasks: int = 3, finished: int | None = None, rounds: int = 2
) -> list[FleetEvent]:
    """Events of one story: ``finished`` tasks (default all) done, the next one mid-council."""
    finished = tasks if finished is None else finished
    sid = story_id
    story = Story(
        id=sid,
        title=f"Story {sid}",
        description="Add rate limiting to the API",
        acceptance_criteria=("429 after 100 req/min",),
        state="DRAFT",
        created_ms=clock.now_ms(),
    )
    out = [
        _ev(clock, sid, "story.created", payload=story),
        _ev(
            clock,
            sid,
            "story.scored",
            payload=StoryScore(story_id=sid, dor=85, ready=True),
            key="score",
        ),
    ]
    for gate, frm, to, name in (
        ("scope", "DRAFT", "DESIGN", "approve_scope"),
        ("design", "DESIGN", "BUILD", "approve_design"),
    ):
        out.append(
            _ev(
                clock,
                sid,
                "story.parked",
                key=gate,
                data={"gate": gate, "reason": "needs PO approval"},
            )
        )
        out.append(
            _ev(
                clock,
                sid,
                "story.approved",
                key=gate,
                data={"gate": gate, "by": "po", "approved": True},
            )
        )
        out.append(
            _ev(
                clock,
                sid,
                "story.transition",
                key=name,
                data={"from": frm, "to": to, "name": name, "by": "po"},
            )
        )
        if gate == "scope":
            plan = [
                Task(
                    id=f"{sid}-t{i}",
                    story_id=sid,
                    role="developer",
                    description=f"step {i}",
                    depends_on=tuple(f"{sid}-t{j}" for j in range(max(1, i - 1), i)),
                )
                for i in range(1, tasks + 1)
            ]
            out += [_ev(clock, sid, "task.planned", payload=t) for t in plan]
    for i, task in enumerate(plan):
        if i > finished:
            break
        out += _council(clock, sid, task, rounds, finish=i < finished)
    return out
