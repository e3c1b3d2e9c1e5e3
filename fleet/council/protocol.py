"""The council's plan, its checkpointable state, and how drafts become contracts.

Plan: round 0 ``propose`` (in a patch council then up to ``debug_rounds`` ``debug`` steps:
``fleet/council/debugging.py``); rounds 1..R ``critique`` then ``revise``; a ``vote`` closes the last
round, and every round when ``early_stop`` is on (a supermajority of first choices then ends the
deliberation; a patch council skips such a vote when no candidate passes its suite uncontested,
since it could not end anything: ``selection.could_settle``; with ``distinguish`` it skips the
critique step and the last vote while no candidate passes: ``stages.critique_skipped``). Only the
ballots of the last vote are counted.
"""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fleet.contracts import Ballot, Critique, Evidence, Proposal
from fleet.council.plans import PlanDraft, render, tasks_of
from fleet.council.schemas import (
    BallotDraft,
    Candidate,
    CritiqueDraft,
    DeliberationRequest,
    ProposalDraft,
    Step,
)
from fleet.evidence.suite import strip_paths, with_suite


def plan(request: DeliberationRequest) -> list[tuple[int, Step]]:
    """Every (round, step) of an uninterrupted run, in order."""
    steps: list[tuple[int, Step]] = [(0, "propose")]
    if request.suite is not None:  # sequential debugging: each developer on its own candidate
        steps += [(0, "debug")] * request.debug_rounds
    for r in range(request.rounds + 1):
        if r:
            steps += [(r, "critique"), (r, "revise")]
        if request.early_stop or r == request.rounds:
            steps.append((r, "vote"))
    return steps


class CouncilState(BaseModel):
    """Everything needed to resume: written to the EventLog checkpoint after every step."""

    model_config = ConfigDict(extra="forbid")

    request: DeliberationRequest
    done: int = Field(0, description="steps of plan() completed")
    proposals: list[Proposal] = Field(default_factory=list)
    critiques: list[Critique] = Field(default_factory=list)
    ballots: list[Ballot] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    missing: dict[str, list[str]] = Field(default_factory=dict)
    failures: dict[str, str] = Field(
        default_factory=dict, description="'<round>:<step>:<member>' -> why it gave no answer"
    )
    distinguished: list[dict] = Field(
        default_factory=list,
        description="distinguishing inputs run on passing candidates: inputs, outputs, round",
    )
    unjudged: list[str] = Field(
        default_factory=list,
        description="ids of the current step's proposals whose evidence has not run yet: a "
        "council resumed here runs it instead of asking for them again",
    )
    stopped_early: bool = False
    status: Literal["running", "done", "quorum_lost"] = "running"
    outcome: dict = Field(default_factory=dict, description="the result, or the QuorumLost fields")

    def before(self) -> dict[str, str]:
        """What the base commit did on the distinguishing inputs run so far (input -> outcome)."""
        return {k: v for d in self.distinguished for k, v in d.get("before", {}).items()}

    def evidence_of(self, proposals: list[Proposal]) -> list[Evidence]:
        """The latest evidence of each of ``proposals`` (those that have some), in their order."""
        by_id = {e.proposal_id: e for e in self.evidence}
        return [by_id[p.id] for p in proposals if p.id in by_id]

    def current(self) -> list[Proposal]:
        """Latest proposal of each member, in member order."""
        latest: dict[str, Proposal] = {}
        for p in self.proposals:
            if p.author not in latest or p.round >= latest[p.author].round:
                latest[p.author] = p
        return [latest[m] for m in self.request.members if m in latest]

    def candidates(self) -> list[Proposal]:
        """What the tally chooses from: the latest proposal of each member; in a patch council
        every version with a patch (each member's distinct patches once, as their latest version,
        in member order, then round): a revision adds a candidate and never takes away one that
        passed its tests (measured: the council lost problems that its round-0 candidates, chosen
        by their evidence alone, solved)."""
        if self.request.suite is None:
            return self.current()
        out: list[Proposal] = []
        for member in self.request.members:
            versions: dict[str, Proposal] = {}  # own edits -> latest version (the one voted on)
            for p in sorted((p for p in self.proposals if p.author == member), key=_round):
                if p.patch is not None:  # own edits: the shipped winner's suite may differ
                    versions[strip_paths(p.patch.diff, self.request.suite)[0]] = p
            out += versions.values()
        return out

    def last_ballots(self) -> list[Ballot]:
        """Ballots of the most recent vote: the only ones a tally counts."""
        if not self.ballots:
            return []
        last = max(b.round for b in self.ballots)
        return [b for b in self.ballots if b.round == last]

    def mark_missing(self, round_: int, members: list[str]) -> None:
        seen = self.missing.setdefault(str(round_), [])
        seen += [m for m in members if m not in seen]
        order = self.request.members
        seen.sort(key=order.index)
        if not seen:
            del self.missing[str(round_)]


def make_proposal(
    req: DeliberationRequest, author: str, round_: int, draft: ProposalDraft | Candidate | PlanDraft
) -> Proposal:
    if isinstance(draft, PlanDraft):
        tasks = tasks_of(draft, story_id=req.story_id, criteria=req.criteria)  # ValueError: invalid
        return Proposal(
            id=f"{req.id}:p{round_}:{author}",
            deliberation_id=req.id,
            author=author,
            role=req.role_of(author),
            round=round_,
            content=render(tasks),
            plan=tasks,
            rationale=draft.reason,
        )
    if isinstance(draft, Candidate):
        patch = draft.patch
        if patch is not None and req.suite is not None and req.suite.files:
            patch = with_suite(patch, req.suite)  # the winner ships with its acceptance tests
        return Proposal(
            id=f"{req.id}:p{round_}:{author}",
            deliberation_id=req.id,
            author=author,
            role=req.role_of(author),
            round=round_,
            content=draft.answer,
            patch=patch,
            rationale=draft.reason,
        )
    command = draft.test_command.strip()
    try:
        argv = tuple(shlex.split(command)) if command else ()
    except ValueError:  # unbalanced quotes from a small model: keep it as one word
        argv = (command,)
    return Proposal(
        id=f"{req.id}:p{round_}:{author}",
        deliberation_id=req.id,
        author=author,
        role=req.role_of(author),
        round=round_,
        content=draft.answer,
        commands=(argv,) if argv else (),
        rationale=draft.reason,
    )


def make_critique(
    req: DeliberationRequest, author: str, round_: int, target: Proposal, draft: CritiqueDraft
) -> Critique:
    return Critique(
        id=f"{req.id}:c{round_}:{author}>{target.author}",
        deliberation_id=req.id,
        author=author,
        role=req.role_of(author),
        round=round_,
        target=target.id,
        content=draft.comment,
        severity=draft.severity,
    )


def make_ballot(
    req: DeliberationRequest,
    voter: str,
    round_: int,
    candidates: list[Proposal],
    draft: BallotDraft,
) -> Ballot:
    """Map proposal numbers to ids; complete a partial ranking; derive approvals from scores.

    Unranked candidates follow the ranked ones, by the draft's score then member order. A
    missing score is derived from the rank (10 for first ... 0 for last). Approved = score at
    or above ``approval_threshold``; a ballot always approves at least its first choice.
    """
    ids = [p.id for p in candidates]
    n = len(ids)
    given = {ids[i]: max(0, min(10, s)) for i, s in enumerate(draft.scores[:n])}
    ranking = list(dict.fromkeys(ids[k - 1] for k in draft.ranking if 1 <= k <= n))
    rest = sorted(
        (i for i in ids if i not in ranking), key=lambda i: (-given.get(i, -1), ids.index(i))
    )
    ranking += rest
    scores = {
        pid: float(given.get(pid, round(10 * (n - 1 - k) / max(n - 1, 1))))
        for k, pid in enumerate(ranking)
    }
    approvals = tuple(pid for pid in ranking if scores[pid] >= req.approval_threshold) or (
        ranking[0],
    )
    return Ballot(
        id=f"{req.id}:b{round_}:{voter}",
        deliberation_id=req.id,
        voter=voter,
        role=req.role_of(voter),
        round=round_,
        ranking=tuple(ranking),
        scores=scores,
        approvals=approvals,
        rationale=draft.reason,
    )


def _round(p: Proposal) -> int:
    return p.round


def debug_id(deliberation_id: str, author: str, k: int) -> str:
    """The id of ``author``'s ``k``-th debugging version (``k`` from 1)."""
    return f"{deliberation_id}:p0d{k}:{author}"


def is_first(proposal: Proposal) -> bool:
    """A member's first proposal: round 0, not a debugging version (written before any test
    result, so its agreement with a test is evidence about the test)."""
    return proposal.round == 0 and not proposal.id.startswith(f"{proposal.deliberation_id}:p0d")


def first_proposals(proposals: list[Proposal] | tuple[Proposal, ...]) -> list[Proposal]:
    """The first proposals of a deliberation, in order (``vote`` samples exactly these)."""
    return [p for p in proposals if is_first(p)]
