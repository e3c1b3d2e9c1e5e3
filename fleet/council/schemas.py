"""What a council is asked to do, and the small output schemas its members' models fill in.

The drafts are deliberately flat and short: the embedded model is SmolLM2-135M, and
schema-constrained decoding of a few bounded fields fits in ~100-200 tokens.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from fleet.contracts import Contract, Critique, Evidence, Patch, Phase, Proposal
from fleet.evidence.suite import EvidenceSuite

Rule = Literal["plurality", "borda", "approval", "score", "evidence"]
RULES: tuple[str, ...] = ("plurality", "borda", "approval", "score", "evidence")
Step = Literal["propose", "debug", "critique", "revise", "vote"]


class DeliberationRequest(Contract):
    """One council run: who deliberates on what, for how long, and how votes are counted."""

    kind: Literal["deliberation_request"] = "deliberation_request"
    id: str = Field(description="deliberation id; also the checkpoint key, so reuse resumes")
    story_id: str
    task_id: str | None = None
    task: str = Field(min_length=1, description="what the council must decide, in plain words")
    phase: Phase = Field("design", description="lifecycle phase, for the members' context scope")
    members: tuple[str, ...] = Field(min_length=1, description="agent ids, e.g. 'developer-1'")
    roles: dict[str, str] = Field(
        default_factory=dict, description="agent id -> role (default: id prefix)"
    )
    rounds: int = Field(2, ge=0, le=10, description="critique/revise rounds after the proposals")
    rule: Rule = "borda"
    evidence_base: Rule = Field(
        "borda", description="rule that orders proposals within an evidence tier"
    )
    quorum: int | None = Field(
        None, ge=1, description="members that must answer each phase (default: majority)"
    )
    supermajority: float = Field(
        2 / 3, gt=0.5, le=1.0, description="first-choice share that stops early"
    )
    early_stop: bool = Field(True, description="vote after every round and stop on a supermajority")
    settle_on_pass: bool = Field(
        True,
        description="a patch council's early stop also ends it when a candidate passes the whole "
        "evidence suite without a supermajority (the ballots choose within the passing tier): "
        "critique and revision run only when no candidate passes",
    )
    debug_rounds: int = Field(
        0,
        ge=0,
        le=5,
        description="a patch council: before the council compares, each developer fixes its own "
        "failing candidate from its evidence output, up to this many times (stopping once it "
        "passes or its failures stop changing)",
    )
    distinguish: bool = Field(
        False,
        description="a patch council: passing candidates whose code differs are run on inputs QA "
        "writes to separate them, ballots are asked only where the evidence cannot decide, and "
        "critiques only once a candidate passes the whole suite",
    )
    resample_failing: bool = Field(
        False,
        description="patch councils: while no candidate passes the whole evidence suite, each "
        "developer proposes afresh (hot, a new seed) at the revise step instead of revising its "
        "failing candidate",
    )
    critique: bool = Field(
        True,
        description="a patch council with distinguish: False asks no critiques (each reviser "
        "works from the test results and the differing outputs it reads)",
    )
    approval_threshold: int = Field(6, ge=0, le=10, description="a score at or above this approves")
    weights: dict[str, float] = Field(
        default_factory=dict, description="voter id -> vote weight (default 1)"
    )
    seed: int = Field(0, description="base sampling seed of the whole council")
    temperature_floor: float = Field(
        0.0,
        ge=0,
        le=2,
        description="the least temperature a member samples a patch at: a council convened again "
        "after a lost quorum samples its greedy developers too, which a new seed alone does not",
    )
    seeds: dict[str, int] = Field(
        default_factory=dict, description="agent id -> its own sampling seed"
    )
    phase_timeout_s: float = Field(
        120.0, gt=0, description="a member slower than this misses the phase"
    )
    workspace: str | None = Field(None, description="where evidence commands run (evidence rule)")
    proposers: tuple[str, ...] = Field(
        (),
        description="members who propose and revise (default: all); the others critique and vote",
    )
    suite: EvidenceSuite | None = Field(
        None, description="the evidence suite: proposals are patches, tested after every revision"
    )
    source: str | None = Field(None, description="repository (path or URL) the patches apply to")
    base: str | None = Field(None, description="branch or commit of ``source`` the patches are on")
    base_commit: str = Field("", description="commit id the patches are diffs against")
    criteria: tuple[str, ...] = Field(
        (), description="a planning council: the story's criteria the proposed task DAGs cover"
    )
    acceptance: tuple[str, ...] = Field(
        (), description="a patch council: the task's acceptance criteria, shown to every member"
    )
    findings: tuple[str, ...] = Field(
        (),
        description="a patch council on a retry: what the last attempt got wrong (failing tests)",
    )

    @model_validator(mode="after")
    def _check(self) -> DeliberationRequest:
        if len(set(self.members)) != len(self.members):
            raise ValueError("members must be distinct agent ids")
        if self.quorum is not None and self.quorum > len(self.members):
            raise ValueError(f"quorum {self.quorum} exceeds the {len(self.members)} members")
        if self.evidence_base == "evidence":
            raise ValueError("evidence_base must be a vote rule, not 'evidence'")
        if any(p not in self.members for p in self.proposers):
            raise ValueError("every proposer must be a member")
        if self.suite is not None and not self.source:
            raise ValueError("an evidence suite needs the source repository the patches apply to")
        return self

    @property
    def authors(self) -> tuple[str, ...]:
        """Members who propose and revise."""
        return self.proposers or self.members

    def needed_of(self, step: str) -> int:
        """Members that must answer ``step`` (proposing steps count proposers only). In a patch
        council without an explicit ``quorum`` one proposer's patch is enough to go on: the
        evidence suite, not a head count, judges a patch, and a proposer that gave none is asked
        again in the next step. (With a majority needed, a council holding one applying patch
        was convened again, twice, where sampling plus tests committed that patch.)"""
        if step in ("propose", "debug", "revise") and self.proposers:
            if self.suite is not None and self.quorum is None:
                return 1
            return min(self.needed, len(self.proposers) // 2 + 1)
        return self.needed

    @property
    def needed(self) -> int:
        """Members that must answer each phase."""
        return self.quorum if self.quorum is not None else len(self.members) // 2 + 1

    def role_of(self, member: str) -> str:
        return self.roles.get(member) or member.rsplit("-", 1)[0]

    def seed_of(self, member: str) -> int:
        return self.seeds.get(member, self.seed + 7919 * (self.members.index(member) + 1))


class Brief(Contract):
    """What a member is told for one call: the task, the phase and the deliberation so far."""

    kind: Literal["brief"] = "brief"
    deliberation_id: str
    story_id: str
    task_id: str | None = None
    task: str
    phase: Phase = "design"
    round: int
    step: Step
    seed: int = 0
    temperature_floor: float = 0.0
    proposals: tuple[Proposal, ...] = Field((), description="current proposals, in member order")
    critiques: tuple[Critique, ...] = Field(
        (), description="critiques of the member's own proposal"
    )
    evidence: tuple[Evidence, ...] = Field(
        (), description="test results of the current proposals (patch councils)"
    )
    source: str | None = Field(None, description="repository the patches apply to")
    base: str | None = None
    base_commit: str = ""
    distrusted: tuple[str, ...] = Field(
        (), description="evidence tests the candidates disagree with"
    )
    criteria: tuple[str, ...] = Field(
        (), description="a planning council: the criteria a plan proposal covers"
    )
    acceptance: tuple[str, ...] = Field(
        (), description="a patch council: the task's acceptance criteria"
    )
    findings: tuple[str, ...] = Field(
        (),
        description="a patch council on a retry: what the last attempt got wrong (failing tests)",
    )
    evidence_files: tuple[str, ...] = Field(
        (), description="a patch council: the evidence suite's generated test files"
    )
    advisory: tuple[str, ...] = Field(
        (), description="a patch council: test-id prefixes of QA's own (advisory) examples"
    )
    keep: tuple[str, ...] = Field(
        (), description="a patch council: test-id prefixes of the keep tests (behaviour to keep)"
    )
    before: dict[str, str] = Field(
        default_factory=dict,
        description="a patch council: what the base commit did on the distinguishing inputs",
    )
    begin: str = Field(
        "",
        description="QA's tests: the test module begun for it (its reply continues the module)",
    )


class Draft(BaseModel):
    """Base of the model-facing schemas: tolerant of nothing extra, frozen."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ProposalDraft(Draft):
    """A member's answer to the task."""

    # Bounds keep a draft under ~90 tokens, so max_tokens never cuts the JSON short
    # (a cut draft is invalid, retried, and may miss the phase on a loaded machine).
    answer: str = Field(min_length=1, max_length=120)
    reason: str = Field("", max_length=60)
    test_command: str = Field("", max_length=40)

    @field_validator("answer")
    @classmethod
    def _said_something(cls, value: str) -> str:
        """A blank answer ("\n\n": SmolLM2 under constrained decoding) is no answer: invalid,
        so it is asked again (``structured``) and, still blank, the member misses the step."""
        if not value.strip():
            raise ValueError("the answer is blank")
        return value


class Candidate(Draft):
    """A proposing member's answer when the council decides a change: a patch and why."""

    answer: str = Field(min_length=1, max_length=400)
    reason: str = Field("", max_length=400)
    patch: Patch | None = None


class CritiqueDraft(Draft):
    """A member's review of one other proposal."""

    severity: Literal["info", "minor", "major", "blocker"]
    comment: str = Field(min_length=1, max_length=80)

    @field_validator("comment")
    @classmethod
    def _said_something(cls, value: str) -> str:
        """A blank comment is no critique (see ``ProposalDraft``)."""
        if not value.strip():
            raise ValueError("the comment is blank")
        return value


class CritiqueNote(Draft):
    """A critique as a member returns it in a patch council: the model's comment plus the
    evidence facts code appended (longer than the model may write)."""

    severity: Literal["info", "minor", "major", "blocker"]
    comment: str = Field(min_length=1, max_length=700)


class BallotDraft(Draft):
    """Proposal numbers best first, and a 0-10 score per proposal in listed order."""

    ranking: list[int] = Field(min_length=1)
    scores: list[int] = Field(default_factory=list)
    reason: str = Field("", max_length=40)


@lru_cache(maxsize=32)
def ballot_schema(n: int) -> type[BallotDraft]:
    """A BallotDraft whose bounds match ``n`` proposals, so constrained decoding cannot stray."""
    from typing import Annotated

    number = Annotated[int, Field(ge=1, le=n)]
    score = Annotated[int, Field(ge=0, le=10)]
    return create_model(
        f"BallotDraft{n}",
        __base__=BallotDraft,
        ranking=(list[number], Field(min_length=1, max_length=n)),
        scores=(list[score], Field(default_factory=list, max_length=n)),
    )
