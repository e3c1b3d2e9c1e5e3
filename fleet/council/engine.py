"""The council driver: runs the plan step by step, checkpoints, resumes, enforces quorum.

Pure: members are reached through an injected ``Gather`` function (in-process threads in unit
tests, Ray ``.remote()`` + ``ray.wait`` in ``actors/council.py``), state goes through the
``EventLog`` port. After every step the state is checkpointed (compare-and-set), so a council
restarted with the same request resumes after the last completed step: no step is repeated,
no ballot counted twice. Event ids are deterministic, so re-emitting an event after a crash
is a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from fleet.contracts import Deliberation, Proposal, RunContext
from fleet.council import stages
from fleet.council.debugging import next_id
from fleet.council.outcome import count, decide, gather_evidence, record, ship
from fleet.council.protocol import CouncilState, make_ballot, make_critique, make_proposal, plan
from fleet.council.recording import Recording
from fleet.council.schemas import Brief, DeliberationRequest, Step
from fleet.council.seeds import mix
from fleet.council.selection import settled
from fleet.council.stages import Call, Evidencer, Gather
from fleet.council.writer import Writer
from fleet.errors import QuorumLost, SandboxUnavailable, UserError
from fleet.evidence.agreement import agree
from fleet.ports import Clock, EventLog, Sandbox

__all__ = ["Call", "Council", "Evidencer", "Gather", "checkpoint_key"]


def checkpoint_key(deliberation_id: str) -> str:
    return f"council:{deliberation_id}"


@dataclass(eq=False)
class Council(Recording):
    """Runs deliberations; one instance may run several concurrently (no per-run fields).

    ``on_step``: a test/observability hook, called after each checkpoint. ``write_behind``
    (``fleet/council/writer.py``): one writer thread per run keeps a step's events before its
    checkpoint."""

    gather: Gather
    events: EventLog
    _: KW_ONLY
    clock: Clock
    sandbox: Sandbox | None = None
    evidencer: Evidencer | None = None
    actor: str = "council"
    on_step: Callable[[CouncilState], None] | None = None
    write_behind: bool = False
    # the current run's writer (runs may be concurrent)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def deliberate(self, request: DeliberationRequest) -> Deliberation:
        """Run (or resume, or return the stored result of) ``request``.

        Raises:
            QuorumLost: fewer than ``request.needed`` members answered a step.
            ControlSignal: a member's call was refused by a control signal (``BudgetExceeded``):
                the whole council stops before checkpointing that step, so the same request
                resumes there once the PO has answered (a spent budget is not a missing member).
            UserError: a different request was already run under the same id.
            SandboxUnavailable: the evidence rule needs a sandbox and none was given.
        """
        writer = Writer() if self.write_behind else None
        try:
            return self._deliberate(request, writer)
        finally:
            if writer is not None:
                writer.close()

    def _deliberate(self, request: DeliberationRequest, writer: Writer | None) -> Deliberation:
        self._local.writer = writer
        key = checkpoint_key(request.id)
        version, raw = self.events.checkpoint_get(key)
        state = CouncilState.model_validate(raw) if raw else CouncilState(request=request)
        if state.request != request:
            raise UserError(
                f"deliberation {request.id!r} already exists with a different request; use a new id"
            )
        if state.status == "done":
            return Deliberation.model_validate(state.outcome["deliberation"])
        if state.status == "quorum_lost":
            raise QuorumLost(**state.outcome)
        if state.done == 0:
            self.publish(
                [
                    self.event(
                        request, "deliberation.started", key=request.id, data=_started(request)
                    )
                ]
            )
        steps = plan(request)
        skipped: dict[int, list[str]] = {}
        while state.done < len(steps) and not state.stopped_early:
            round_, step = steps[state.done]
            try:
                version = self._advance(key, state, version, (round_, step), skipped)
            except QuorumLost as lost:
                return self._lose(key, state, version, lost)
            state.done += 1
            if step == "vote" and round_ < request.rounds:
                state.stopped_early = settled(state)
            if state.stopped_early or state.done == len(steps) or steps[state.done][0] != round_:
                data = {
                    "deliberation_id": request.id,
                    "round": round_,
                    "missing": state.missing.get(str(round_), []),
                    "failures": {
                        k: v for k, v in state.failures.items() if k.startswith(f"{round_}:")
                    },
                }
                if round_ in skipped:
                    data["skipped"] = skipped[round_]
                data.update(stages.round_notes(state, round_))
                self.publish(
                    [
                        self.event(
                            request,
                            "council.round_completed",
                            key=f"{request.id}:r{round_}",
                            data=data,
                        )
                    ]
                )
            version = self._save(key, state, version)
        return self._finish(key, state, version)

    # ------------------------------------------------------------------ one step

    def _advance(
        self,
        key: str,
        state: CouncilState,
        version: int,
        at: tuple[int, Step],
        skipped: dict[int, list[str]],
    ) -> int:
        """One step of the plan, or (resumed) the evidence its proposals still need; the
        checkpoint's version after it."""
        round_, step = at
        if state.unjudged:  # resumed after this step's proposals, before their evidence
            self._judge(state)
            return version
        why = (
            stages.vote_skipped(self, state, round_)
            if step == "vote"
            else stages.critique_skipped(state)
            if step == "critique"
            else None
        )
        if why:  # no ballot could change or end anything here; no critique would carry evidence
            skipped.setdefault(round_, []).append(why)
            return version
        afresh = stages.resampling(state) if step == "revise" else None
        if afresh:  # the step runs, as fresh proposals: said with the round's skipped steps
            skipped.setdefault(round_, []).append(afresh)
        self._step(state, round_, step)
        if state.unjudged:  # the proposals kept first: an evidence run that fails (the sandbox
            version = self._save(key, state, version)  # was lost) asks no one for them again
            self._judge(state)
        return version

    def _step(self, state: CouncilState, round_: int, step: Step) -> None:
        req = state.request
        current = state.current()
        calls, targets = self._calls(state, round_, step, current)
        asked = req.authors if step in ("propose", "debug", "revise") else req.members
        # a reviser that gave no answer (timed out, model down) keeps its last proposal in the
        # running: it still counts towards the quorum (it is marked missing all the same)
        kept = {p.author for p in current} if step in ("debug", "revise") else set()
        counted = {m for m, _, _ in calls} - kept  # the members whose answers the quorum needs
        needed = req.needed_of(step) - sum(1 for m in asked if m not in counted)
        results = self.gather(calls, req.phase_timeout_s, needed) if calls else []
        self.release_writes()  # a Gather that did not release them while its calls ran
        stages.raise_signal(results)
        why = {
            m: stages.reason(res)
            for (m, _, _), res in zip(calls, results, strict=True)
            if stages.failed(res)
        }
        failed = set(why)
        built: list[tuple[str, Any]] = []
        for (member, _, _), res, target in zip(calls, results, targets, strict=True):
            if member in failed:
                continue
            try:
                if step == "critique":
                    built += [
                        (member, make_critique(req, member, round_, t, r))
                        for t, r in zip(target, res, strict=True)
                    ]
                elif step == "debug":  # a new version of the member's first proposal
                    new = make_proposal(req, member, 0, res)
                    built.append((member, new.model_copy(update={"id": next_id(state, member)})))
                else:
                    built.append((member, self._build(req, member, round_, step, res, current)))
            except (ValueError, TypeError, IndexError) as exc:  # a malformed draft: no answer
                failed.add(member)
                why[member] = stages.reason(exc)
        state.failures.update({f"{round_}:{step}:{m}": r for m, r in why.items()})
        present = [m for m in asked if m not in failed or m in kept]
        state.mark_missing(round_, sorted(failed, key=req.members.index))
        if len(present) < req.needed_of(step):
            raise QuorumLost(
                deliberation_id=req.id,
                round=round_,
                present=len(present),
                quorum=req.needed_of(step),
                missing=tuple(sorted(failed, key=req.members.index)),
                why=tuple(f"{m}: {why[m][:160]}" for m in sorted(why, key=req.members.index)),
            )
        made = [obj for member, obj in built if member not in failed]
        kind = {
            "propose": "council.proposal",
            "debug": "council.proposal",
            "revise": "council.proposal",
            "critique": "council.critique",
            "vote": "council.ballot",
        }[step]
        buckets: dict[str, list[Any]] = {
            "council.proposal": state.proposals,
            "council.critique": state.critiques,
            "council.ballot": state.ballots,
        }
        buckets[kind].extend(made)
        self.publish([self.event(req, kind, payload=obj) for obj in made])
        if kind == "council.proposal" and req.suite is not None:
            state.unjudged = [p.id for p in made]  # their evidence: ``_judge``, once kept

    def _judge(self, state: CouncilState) -> None:
        """Run the evidence of the step's proposals not judged yet."""
        waiting = set(state.unjudged)
        self._evidence(state, [p for p in state.proposals if p.id in waiting])
        state.unjudged = []

    def _evidence(self, state: CouncilState, proposals: list[Proposal]) -> None:
        """Run the evidence suite on new proposals' patches; record the results as events."""
        req = state.request
        if not proposals:
            return
        if self.evidencer is None or req.suite is None or not req.source:
            raise SandboxUnavailable(
                backend="none",
                reason="a patch council runs its evidence suite; give the council an evidencer",
            )
        ctx = RunContext(story_id=req.story_id, task_id=req.task_id, role="qa", phase="test")
        fresh = self.evidencer.run(
            proposals, req.suite, source=req.source, base=req.base, context=ctx
        )
        state.evidence.extend(fresh)
        self.publish(
            [
                self.event(
                    req,
                    "council.evidence",
                    payload=e,
                    key=f"{req.id}:e:{e.proposal_id}",
                    data={"runs": list(e.runs)},
                )
                for e in fresh
            ]
        )

    def _calls(
        self, state: CouncilState, round_: int, step: Step, current: list[Proposal]
    ) -> tuple[list[Call], list[tuple[Proposal, ...]]]:
        req = state.request
        if step == "debug":
            found = stages.debug_calls(self, state, current)
            return found, [() for _ in found]
        calls: list[Call] = []
        targets: list[tuple[Proposal, ...]] = []
        # a member revises its own candidate; asked afresh (no candidate) while none passes
        own = (
            {} if step == "revise" and stages.resampling(state) else {p.author: p for p in current}
        )
        shown = state.evidence_of(current)
        trusted, keep, advisory = (
            (req.suite.trusted, req.suite.keep, req.suite.advisory) if req.suite else ((), (), ())
        )
        doubted = (
            agree(shown, trusted=trusted, keep=keep, advisory=advisory).distrusted if shown else ()
        )
        for m in req.members:
            if step in ("propose", "revise") and m not in req.authors:
                continue
            brief = self.brief(req, m, round_, step, current if step != "propose" else [])
            if shown:
                brief = brief.model_copy(
                    update={
                        "evidence": tuple(shown),
                        "distrusted": doubted,
                        "before": state.before(),
                    }
                )
            if step == "critique":
                # one call per member for all its targets: fewer round trips on the critical path
                others = tuple(t for t in current if t.author != m)
                if others:
                    calls.append((m, "critiques", (brief, others)))
                    targets.append(others)
                continue
            if step == "revise":
                mine = own.get(m)
                crits = tuple(
                    c for c in state.critiques if c.round == round_ and mine and c.target == mine.id
                )
                calls.append((m, "revise", (brief.model_copy(update={"critiques": crits}), mine)))
            else:
                calls.append((m, step, (brief,)))
            targets.append(())
        return calls, targets

    @staticmethod
    def brief(
        req: DeliberationRequest, member: str, round_: int, step: Step, current: list[Proposal]
    ) -> Brief:
        return Brief(
            deliberation_id=req.id,
            story_id=req.story_id,
            task_id=req.task_id,
            task=req.task,
            phase=req.phase,
            round=round_,
            step=step,
            seed=mix(req.seed_of(member), round_, step),
            temperature_floor=req.temperature_floor,
            proposals=tuple(current),
            source=req.source,
            base=req.base,
            base_commit=req.base_commit,
            criteria=req.criteria,
            acceptance=req.acceptance,
            findings=req.findings,
            evidence_files=tuple(sorted(req.suite.files)) if req.suite else (),
            advisory=req.suite.advisory if req.suite else (),
            keep=req.suite.keep if req.suite else (),
        )

    @staticmethod
    def _build(
        req: DeliberationRequest,
        member: str,
        round_: int,
        step: Step,
        draft: Any,
        current: list[Proposal],
    ) -> Any:
        if step in ("propose", "revise"):
            return make_proposal(req, member, round_, draft)
        return make_ballot(req, member, round_, current, draft)

    # ------------------------------------------------------------------ endings

    def _finish(self, key: str, state: CouncilState, version: int) -> Deliberation:
        req = state.request
        if req.rule == "evidence" and req.suite is None:
            fresh = gather_evidence(state, self.sandbox)
            if fresh:
                state.evidence.extend(fresh)
                self.publish(
                    [
                        self.event(
                            req, "council.evidence", payload=e, key=f"{req.id}:e:{e.proposal_id}"
                        )
                        for e in fresh
                    ]
                )
                version = self._save(key, state, version)
        result = count(state)
        ship(state, result.winner)
        deliberation = record(state, result)
        decision = decide(state, result, at_ms=self.clock.now_ms())
        self.publish(
            [
                self.event(req, "council.result", payload=deliberation),
                self.event(req, "decision.made", payload=decision),
            ]
        )
        state.status = "done"
        state.outcome = {
            "deliberation": deliberation.model_dump(mode="json"),
            "decision": decision.model_dump(mode="json"),
        }
        self._save(key, state, version)
        self._flush()
        return deliberation

    def _lose(self, key: str, state: CouncilState, version: int, lost: QuorumLost) -> Deliberation:
        data = {k: lost.fields[k] for k in ("deliberation_id", "round", "present", "quorum")}
        data["failures"] = dict(state.failures)  # why each member gave no answer
        self.publish(
            [self.event(state.request, "council.quorum_lost", key=state.request.id, data=data)]
        )
        state.status = "quorum_lost"
        state.outcome = dict(lost.fields)
        self._save(key, state, version)
        self._flush()
        raise lost


def _started(req: DeliberationRequest) -> dict[str, Any]:
    return {
        "deliberation_id": req.id,
        "task_id": req.task_id,
        "members": list(req.members),
        "rounds": req.rounds,
        "rule": req.rule,
    }


_settled = settled  # the early-stop rule, under the name the tests of it import
