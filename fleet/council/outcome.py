"""The end of a deliberation: sandbox evidence, the counted tally, the record and the Decision."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from textwrap import shorten

from fleet.contracts import (
    Alternative,
    Decision,
    Deliberation,
    Evidence,
    Proposal,
    RunContext,
    Tally,
    TaskSpec,
)
from fleet.council.protocol import CouncilState, is_first
from fleet.council.tally import Judged, evidence_keys, rank, tally
from fleet.errors import SandboxUnavailable
from fleet.evidence.acceptance import drop_tests
from fleet.evidence.agreement import agree
from fleet.evidence.suite import strip_paths, with_suite
from fleet.ports import Sandbox


def gather_evidence(state: CouncilState, sandbox: Sandbox | None) -> list[Evidence]:
    """Run the test commands of every current proposal that has some and no evidence yet.

    Raises:
        SandboxUnavailable: a proposal has commands but no sandbox was given (never runs unsandboxed).
    """
    have = {e.proposal_id for e in state.evidence}
    todo = [p for p in state.current() if p.commands and p.id not in have]
    if not todo:
        return []
    if sandbox is None:
        raise SandboxUnavailable(
            backend="none",
            reason="the evidence rule runs proposals' commands; give the council a sandbox",
        )
    with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
        return list(pool.map(lambda p: prove(state, p, sandbox), todo))


def prove(state: CouncilState, proposal: Proposal, sandbox: Sandbox) -> Evidence:
    """Run a proposal's commands in order; it passes when every one of them passes."""
    req = state.request
    ctx = RunContext(
        story_id=req.story_id, task_id=req.task_id, role=proposal.role, phase=req.phase
    )
    passed = failed = 0
    detail = ""
    for i, argv in enumerate(proposal.commands):
        spec = TaskSpec(id=f"{proposal.id}:e{i}", cmd=argv, workspace=req.workspace, context=ctx)
        result = sandbox.run(spec)
        if result.status == "passed":
            passed += 1
        else:
            failed += 1
            detail = f"{' '.join(argv)}: {result.status} (exit {result.exit_code}) {result.stderr[-200:]}".strip()
    return Evidence(
        proposal_id=proposal.id,
        passed=failed == 0,
        tests_passed=passed,
        tests_failed=failed,
        detail=detail,
    )


def facts(state: CouncilState, candidates: list[Proposal]) -> Judged:
    """The candidates' evidence as the tally weighs it."""
    suite = state.request.suite
    return Judged(
        state.evidence_of(candidates),
        trusted=suite.trusted if suite else (),
        judges=judges(state),
        authors={p.id: p.author for p in candidates},
        advisory=suite.advisory if suite else (),
        keep=suite.keep if suite else (),
        before=state.before(),
    )


def count(state: CouncilState) -> Tally:
    """The tally of the last vote under the request's rule."""
    req, candidates = state.request, state.candidates()
    result = tally(
        req.rule,
        state.last_ballots(),
        [p.id for p in candidates],
        weights=req.weights,
        evidence=facts(state, candidates),
        base=req.evidence_base,
    )
    return result.model_copy(update={"early_stop": state.stopped_early})


def judges(state: CouncilState) -> list[str] | None:
    """The candidates whose agreement weighs a patch council's tests: the first proposals
    (written without seeing any test result; a revision chases the tests, a wrong one too)."""
    suite = state.request.suite
    if suite is None:
        return None

    def edits(p: Proposal) -> tuple[str, str]:  # a candidate is its author's own edits
        return p.author, strip_paths(p.patch.diff if p.patch else "", suite)[0]

    first = {edits(p) for p in state.proposals if is_first(p) and p.patch is not None}
    return [p.id for p in state.candidates() if edits(p) in first]


def distrusted(state: CouncilState) -> tuple[str, ...]:
    """The generated evidence tests no first proposal passes (CodeT agreement)."""
    shown, suite = state.evidence_of(state.candidates()), state.request.suite
    if not shown:
        return ()
    trusted, keep, advisory = (suite.trusted, suite.keep, suite.advisory) if suite else ((), (), ())
    return agree(
        shown, trusted=trusted, judges=judges(state), keep=keep, advisory=advisory
    ).distrusted


def ship(state: CouncilState, winner: str) -> None:
    """The council chooses QA's tests too: the winning patch carries only the generated tests
    the candidates' evidence supports (distrusted ones are left out, so a wrong expected value
    cannot block the committed change) and the advisory tests the winner itself passes.
    Idempotent."""
    suite, doubted = state.request.suite, distrusted(state)
    if suite is None or not suite.files:
        return
    doubted += _advisory_failed(state, winner)
    if not doubted:
        return
    kept = drop_tests(suite, doubted)
    for i, p in enumerate(state.proposals):
        if p.id == winner and p.patch is not None:
            state.proposals[i] = p.model_copy(update={"patch": with_suite(p.patch, kept)})


def _advisory_failed(state: CouncilState, winner: str) -> tuple[str, ...]:
    """The advisory tests (QA's examples) the winner's evidence fails."""
    suite = state.request.suite
    if suite is None or not suite.advisory:
        return ()
    by_id = {e.proposal_id: e for e in state.evidence}  # the latest evidence of each
    mine = by_id.get(winner)
    return tuple(
        t.test_id
        for t in (mine.tests if mine else ())
        if not t.passed and any(t.test_id.startswith(p) for p in suite.advisory)
    )


def record(state: CouncilState, result: Tally) -> Deliberation:
    """The full Deliberation (every version, critique and ballot; only the last vote counted)."""
    req = state.request
    last_round = max((b.round for b in state.ballots), default=0)
    return Deliberation(
        id=req.id,
        story_id=req.story_id,
        task_id=req.task_id,
        members=req.members,
        rounds=last_round,
        proposals=tuple(state.proposals),
        critiques=tuple(state.critiques),
        ballots=tuple(state.ballots),
        evidence=tuple(state.evidence),
        tally=result,
        winner=result.winner,
        missing={k: tuple(v) for k, v in state.missing.items()},
        distrusted=distrusted(state),
        unproven=unproven(state, result.winner),
    )


def unproven(state: CouncilState, winner: str | None) -> tuple[str, ...]:
    """The tests made from the story's own executable criteria that ``winner`` fails, as
    ``test id: excerpt``. Agreement may excuse a QA-written test no candidate passes, never the
    PO's own examples: a winner failing one is the best of what failed, not a change to ship."""
    suite = state.request.suite
    if suite is None or not suite.spec or not winner:
        return ()
    mine = {e.proposal_id: e for e in state.evidence}.get(winner)  # the latest evidence
    if mine is None:
        return ()
    return tuple(
        f"{t.test_id}: {shorten(t.excerpt, 200, placeholder=' …')}".rstrip(": ")
        for t in mine.tests
        if not t.passed and t.probe is None and t.test_id.startswith(suite.spec)
    )


def decide(state: CouncilState, result: Tally, *, at_ms: int) -> Decision:
    """The winning proposal as a Decision, with why it won and why each other one lost.

    In a patch council ``what`` is the winning patch itself (its summary, then the diff), and
    ``why`` names the evidence tests the candidates disagreed with (distrusted)."""
    req = state.request
    current = {p.id: p for p in state.candidates()}
    win = current[result.winner]
    judged = facts(state, list(current.values()))
    shown, trusted = judged.evidence, judged.trusted
    order, scores, _ = rank(
        req.rule, state.last_ballots(), list(current), weights=req.weights, evidence=judged,
        base=req.evidence_base,
    )  # fmt: skip
    tiers = evidence_keys(judged, list(current)) if req.rule == "evidence" else {}
    by_id = {e.proposal_id: e for e in shown}
    how = f"{result.rule} {scores[win.id]:g} points"
    if result.early_stop:
        last = max((b.round for b in state.ballots), default=0)
        how += f", early stop after round {last}" if state.ballots else ", the evidence decided"
    if result.tie_break:
        how += f", decided by {result.tie_break}"
    if win.id in by_id and by_id[win.id].tests:
        ev = by_id[win.id]
        how += f"; passes {ev.tests_passed}/{ev.tests_passed + ev.tests_failed} evidence tests"
    doubted = (
        agree(shown, trusted=trusted, keep=judged.keep, advisory=judged.advisory).distrusted
        if shown
        else ()
    )
    if doubted:
        how += f"; distrusted tests (no candidate passes them): {', '.join(doubted)}"
    alternatives = tuple(
        Alternative(
            proposal_id=pid,
            summary=current[pid].content[:200],
            why_rejected=_why(pid, win.id, scores, tiers, result, by_id),
        )
        for pid in order[1:]
    )
    voters = tuple(b.voter for b in state.last_ballots())
    what = win.content if win.patch is None else f"{win.content}\n\n{win.patch.diff}"
    return Decision(
        id=f"{req.id}:decision",
        story_id=req.story_id,
        task_id=req.task_id,
        deliberation_id=req.id,
        what=what,
        decided_by=voters,
        why=f"{win.author} ({win.role}) won ({how}). {win.rationale}".strip(),
        alternatives=alternatives,
        at_ms=at_ms,
    )


def _why(
    pid: str,
    winner: str,
    scores: dict[str, float],
    tiers: dict[str, tuple[float, ...]],
    result: Tally,
    evidence: dict[str, Evidence],
) -> str:
    if tiers and tiers[pid] < tiers[winner]:
        ev = evidence.get(pid)
        if ev is not None and (ev.tests or ev.patch_hash):
            failing = [t.test_id for t in ev.tests if not t.passed]
            if failing:
                return f"fails {len(failing)} evidence test(s): {', '.join(failing[:4])}"[:300]
            return f"its evidence is weaker: {ev.detail or 'fewer tests passed'}"[:300]
        if tiers[pid] == (0.0,):
            return "its tests failed"
        return "no test evidence, while the winner's tests passed"
    if scores[pid] < scores[winner]:
        return f"{result.rule}: {scores[pid]:g} points vs {scores[winner]:g}"
    return f"tied at {scores[pid]:g} points; lost the tie-break ({result.tie_break})"
