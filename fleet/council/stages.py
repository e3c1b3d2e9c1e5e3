"""The council driver's patch-council stages beyond propose/critique/revise/vote.

- the ``debug`` step's calls (``fleet/council/debugging.py``): each developer whose candidate
  fails the suite, on its own candidate, until it passes, stops changing, or the bound;
- distinguishing inputs before a vote (``fleet/council/distinguish.py``): QA's inputs run on the
  passing candidates that differ, their outputs added to the evidence;
- whether the critique and the vote are asked at all (``fleet/council/selection.py``), and
  whether the revise step revises or asks for fresh proposals (:func:`resampling`);
- what the round's ``council.round_completed`` event says about them (:func:`round_notes`).

Functions over the ``Council`` (its gather, evidencer and event helpers) and the run's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fleet.contracts import Evidence, Patch, Proposal, RunContext
from fleet.council import debugging
from fleet.council.distinguish import (
    MAX_INPUTS,
    calls,
    differing,
    distinct,
    functions,
    merged,
    own_edits,
    probe_suite,
)
from fleet.council.protocol import CouncilState
from fleet.council.schemas import Brief, DeliberationRequest, Step
from fleet.council.selection import could_settle, passing, undecided
from fleet.errors import ControlSignal
from fleet.evidence.suite import EvidenceSuite

Call = tuple[str, str, tuple[Any, ...]]
"""(member id, method name, positional args) of one member call."""


class Gather(Protocol):
    """Run calls concurrently; return, in call order, each result or the exception it ended with
    (a timeout is an exception too). Returns within about ``timeout`` seconds, or, while fewer
    than ``needed`` calls have answered, up to one more ``timeout`` (``cascade.py``)."""

    def __call__(self, calls: Sequence[Call], timeout: float, needed: int = 0) -> list[Any]: ...


class Evidencer(Protocol):
    """Runs the evidence suite on proposals' patches (``fleet/adapters/evidence.py``)."""

    def run(
        self,
        proposals: Sequence[Proposal],
        suite: EvidenceSuite,
        *,
        source: str,
        base: str | None,
        context: RunContext,
    ) -> list[Evidence]: ...


class Council(Protocol):
    """What these stages use of the council driver (``fleet/council/engine.py``)."""

    @property
    def gather(self) -> Gather: ...

    @property
    def evidencer(self) -> Evidencer | None: ...

    def brief(
        self,
        req: DeliberationRequest,
        member: str,
        round_: int,
        step: Step,
        current: list[Proposal],
    ) -> Brief: ...

    def release_writes(self) -> None: ...


def debug_calls(council: Council, state: CouncilState, current: list[Proposal]) -> list[Call]:
    """One ``revise`` call (with a ``debug`` brief) per developer still debugging; none once a
    candidate passes the whole suite uncontested under ``settle_on_pass`` (that pass settles)."""
    req, out = state.request, []
    if req.settle_on_pass and could_settle(state):
        return []
    own = {p.author: p for p in current}
    shown = tuple(state.evidence_of(current))
    for m in req.authors:
        mine = own.get(m)
        if mine is None or len(debugging.versions(state, m)) > req.debug_rounds:
            continue
        if not debugging.needs(state, m):
            continue
        brief = council.brief(req, m, 0, "debug", [])
        out.append((m, "revise", (brief.model_copy(update={"evidence": shown}), mine)))
    return out


def round_notes(state: CouncilState, round_: int) -> dict[str, Any]:
    """What the round's ``council.round_completed`` event adds about these stages: each
    developer's debugging versions and why it stopped (round 0), and the distinguishing inputs
    run in the round with every candidate's outputs."""
    req, out = state.request, dict[str, Any]()
    if round_ == 0 and req.suite is not None and req.debug_rounds:
        out["debugging"] = {"bound": req.debug_rounds, "developers": debugging.summary(state)}
    ran = [d for d in state.distinguished if d.get("round") == round_]
    if ran:
        out["distinguished"] = ran
    return out


def vote_skipped(council: Council, state: CouncilState, round_: int) -> str | None:
    """Why the vote of ``round_`` is not asked (None: it is). In a patch council with
    ``distinguish``, the passing candidates that differ are run on QA's inputs first."""
    req = state.request
    if req.suite is not None and req.distinguish:
        distinguish(council, state, round_)
    if round_ < req.rounds and not could_settle(state):
        return "vote: no candidate passes the evidence suite uncontested"
    if req.suite is not None and req.distinguish and not undecided(state):
        return "vote: the evidence decides (one candidate is ahead, or the best ones behave alike)"
    if req.suite is not None and req.distinguish and not passing(state)[0]:
        return "vote: no candidate passes the evidence suite (the evidence order decides)"
    return None


def critique_skipped(state: CouncilState) -> str | None:
    """Why the critique step is not asked (None: it is). In a patch council with ``distinguish``
    (selection by evidence), critiques are asked only once some candidate passes the whole
    suite, when they can weigh it against the others (its probes' outputs, the keep tests it
    fails, the contested behaviour). While none passes, each reviser already reads its own
    failing tests and the other candidates with theirs (``patching.revise_notes``), and the
    critics restate those failures: on more-itertools-collapse-levels, with no candidate
    passing anything, the critiques were 37 % of the council's tokens (benchmarks/RESULTS.md).
    With ``critique`` off, never: the reviser reads the differing outputs too (docs/council.md
    4d). The revision still runs."""
    req = state.request
    if req.suite is None or not req.distinguish:
        return None
    if not req.critique:
        return (
            "critique: off (the revisions work from their test results and the differing outputs)"
        )
    if passing(state)[0]:
        return None
    return "critique: no candidate passes the evidence suite (the revisions work from their test results)"


def resampling(state: CouncilState) -> str | None:
    """Why the revise step asks each developer for a fresh proposal instead of a revision of its
    candidate (None: it revises). With ``resample_failing`` (off by default, as measured:
    docs/council.md 4c), while no candidate passes the whole suite: a fresh proposal is the
    member's first request again, sampled at least ``patching.AGAIN_FLOOR`` hot with a seed of
    the round (``Member.revise`` without a candidate), where a revision would anchor on its own
    change and read every candidate with its failures."""
    req = state.request
    if req.suite is None or not req.resample_failing or passing(state)[0]:
        return None
    return "revise: no candidate passes the evidence suite (each developer proposes afresh)"


def distinguish(council: Council, state: CouncilState, round_: int) -> None:
    """Run the passing candidates with different code on QA's distinguishing inputs (once per
    set of candidates); their outputs join each candidate's evidence. The base commit runs on
    them too: what it did (the record's ``before``) witnesses for the candidates that kept it
    where they differ (``fleet/evidence/probes.py: witnessed``)."""
    req = state.request
    assert req.suite is not None
    ok, _ = passing(state)
    every = [p for p in state.candidates() if p.id in ok]
    targets = distinct(every, req.suite)
    ids = sorted(p.id for p in targets)
    if len(targets) < 2 or any(d.get("candidates") == ids for d in state.distinguished):
        return
    funcs = functions([own_edits(p, req.suite) for p in targets])
    asker = next((m for m in req.members if req.role_of(m) == "qa"), None)
    inputs = _inputs(council, state, (asker, round_), targets, funcs) if asker and funcs else []
    record: dict[str, Any] = {"deliberation_id": req.id, "round": round_, "candidates": ids,
                              "asked": asker, "functions": funcs, "inputs": inputs}  # fmt: skip
    suite = probe_suite(req.suite, inputs, name="council") if inputs else None
    if suite is not None and council.evidencer is not None and req.source:
        ctx = RunContext(story_id=req.story_id, task_id=req.task_id, role="qa", phase="test")
        base = unchanged(req)
        try:
            seen = council.evidencer.run([*targets, base], suite, source=req.source,
                                         base=req.base, context=ctx)  # fmt: skip
        except Exception as exc:  # optional evidence: the council goes on without it
            record["error"] = reason(exc)
            seen = []
        record["before"] = {o: v for e in seen if e.proposal_id == base.id
                            for o, v in e.observed.items()}  # fmt: skip
        seen = [e for e in seen if e.proposal_id != base.id]
        outputs = {e.proposal_id: dict(e.observed) for e in seen}
        same = {p.id: next(t.id for t in targets if own_edits(t, req.suite) == own_edits(p, req.suite))
                for p in every}  # fmt: skip
        for i, e in enumerate(state.evidence):  # duplicates of a change did what it did
            if e.proposal_id in same and same[e.proposal_id] in outputs:
                found = next(s for s in seen if s.proposal_id == same[e.proposal_id])
                state.evidence[i] = merged(e, found)
        authors = {p.id: p.author for p in targets}
        record["outputs"] = {f"{authors[k]} ({k})": v for k, v in outputs.items()}
        record["differ"] = differing(outputs)
    state.distinguished.append(record)  # in the round's council.round_completed event


def unchanged(req: DeliberationRequest) -> Proposal:
    """The base commit as a candidate with no change (run on the distinguishing inputs)."""
    return Proposal(
        id=f"{req.id}-base", deliberation_id=req.id, author="base", role="base",
        content="the base commit, unchanged", patch=Patch(base_commit=req.base_commit, diff=""),
    )  # fmt: skip


def _inputs(
    council: Council,
    state: CouncilState,
    who: tuple[str, int],
    targets: list[Proposal],
    funcs: list[str],
) -> list[str]:
    """QA's calls (``who``: the QA member and the round), checked again here (literal
    arguments, the changed functions only)."""
    req, (asker, round_) = state.request, who
    brief = council.brief(req, asker, round_, "vote", targets)
    res = council.gather([(asker, "distinguish", (brief, tuple(targets)))], req.phase_timeout_s)
    council.release_writes()
    raise_signal(res)
    if not res or not isinstance(res[0], list):
        return []  # QA gave no inputs: the suite's own probes are all there is
    return calls("\n".join(str(c) for c in res[0]), funcs, limit=MAX_INPUTS)


def raise_signal(results: Sequence[Any]) -> None:
    """Re-raise the first control signal a member's call ended with (e.g. a spent budget)."""
    for result in results:
        for item in result if isinstance(result, list) else (result,):
            if isinstance(item, ControlSignal):
                raise item


def reason(result: Any) -> str:
    """Why a member gave no answer, in one short line (kept in the record and the events)."""
    if isinstance(result, list):
        result = next((r for r in result if isinstance(r, BaseException)), result)
    return " ".join(f"{type(result).__name__}: {result}".split())[:300]


def failed(result: Any) -> bool:
    """An exception, or a batch of critiques with an exception in it."""
    if isinstance(result, BaseException):
        return True
    return isinstance(result, list) and any(isinstance(r, BaseException) for r in result)
