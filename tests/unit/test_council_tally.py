"""Tally rules, tie-break, early-stop consensus and ballot normalisation on hand-made values."""

from __future__ import annotations

import pytest

from fleet.contracts import Ballot, Evidence
from fleet.council import DeliberationRequest, ProposalDraft, consensus, rank, tally
from fleet.council.protocol import make_ballot, make_proposal
from fleet.council.schemas import BallotDraft
from fleet.errors import UnknownName

A, B, C = "A", "B", "C"


def ballot(
    voter: str,
    *ranking: str,
    scores: dict[str, float] | None = None,
    approvals: tuple[str, ...] = (),
) -> Ballot:
    return Ballot(
        id=f"b-{voter}",
        deliberation_id="d",
        voter=voter,
        role="developer",
        ranking=ranking,
        scores=scores or {},
        approvals=approvals,
    )


# 5 voters: plurality ties A and C, Borda prefers B (the compromise everyone ranks second).
SPLIT = [
    ballot("v1", A, B, C),
    ballot("v2", A, B, C),
    ballot("v3", C, B, A),
    ballot("v4", C, B, A),
    ballot("v5", B, A, C),
]


def test_plurality_counts_first_choices_and_breaks_the_tie_by_borda():
    result = tally("plurality", SPLIT, [A, B, C])
    assert result.scores == {A: 2.0, B: 1.0, C: 2.0}
    assert result.winner == A  # A and C tie on 2; A has 5 Borda points, C only 4
    assert result.tie_break == "borda points"


def test_borda_picks_the_compromise():
    result = tally("borda", SPLIT, [A, B, C])
    assert result.scores == {A: 5.0, B: 6.0, C: 4.0}
    assert result.winner == B and result.tie_break is None


def test_approval_counts_approvals_once_per_ballot():
    ballots = [
        ballot("v1", A, B, approvals=(A, B, B)),
        ballot("v2", B, A, approvals=(B,)),
        ballot("v3", A, B, approvals=(A,)),
    ]
    result = tally("approval", ballots, [A, B])
    assert result.scores == {A: 2.0, B: 2.0}
    assert result.winner == A and result.tie_break == "first-choice votes"


def test_score_weighted_sums_scores_times_voter_weight():
    ballots = [ballot("v1", A, B, scores={A: 9, B: 2}), ballot("boss", B, A, scores={A: 1, B: 8})]
    assert (
        tally("score", ballots, [A, B]).winner == A
    )  # 10 vs 10 -> first choice tie -> borda tie -> order
    weighted = tally("score", ballots, [A, B], weights={"boss": 2.0})
    assert weighted.scores == {A: 11.0, B: 18.0} and weighted.winner == B


def test_weights_apply_to_plurality_too():
    ballots = [ballot("v1", A), ballot("v2", A), ballot("lead", B)]
    assert tally("plurality", ballots, [A, B]).winner == A
    assert tally("plurality", ballots, [A, B], weights={"lead": 3}).winner == B


def test_perfect_tie_falls_back_to_member_order_deterministically():
    ballots = [ballot("v1", A, B), ballot("v2", B, A)]
    for rule in ("plurality", "borda", "approval", "score"):
        assert tally(rule, ballots, [A, B]).winner == A, rule
        assert tally(rule, ballots, [B, A]).winner == B, rule
    assert tally("borda", ballots, [A, B]).tie_break == "member order"


def test_ballots_naming_unknown_or_repeated_candidates_are_cleaned():
    result = tally("borda", [ballot("v1", "ghost", B, B, A)], [A, B])
    assert result.scores == {A: 0.0, B: 1.0}


def test_evidence_weighted_passing_tests_beat_a_more_popular_failing_proposal():
    ballots = [ballot(f"v{i}", A, C, B) for i in range(4)] + [ballot("v9", B, A, C)]
    evidence = [
        Evidence(proposal_id=A, passed=False, tests_failed=1),
        Evidence(proposal_id=B, passed=True, tests_passed=2),
    ]
    assert tally("borda", ballots, [A, B, C]).winner == A  # the votes alone pick A
    result = tally("evidence", ballots, [A, B, C], evidence=evidence)
    assert result.winner == B
    assert result.rule == "evidence/borda" and result.tie_break.startswith("evidence")
    order, _, _ = rank("evidence", ballots, [A, B, C], evidence=evidence)
    assert order == [B, C, A]  # no evidence (C) still outranks failing tests (A)


def test_evidence_rule_orders_within_a_tier_by_its_base_rule():
    ballots = [ballot("v1", A, B), ballot("v2", A, B), ballot("v3", B, A)]
    both_pass = [Evidence(proposal_id=A, passed=True), Evidence(proposal_id=B, passed=True)]
    assert tally("evidence", ballots, [A, B], evidence=both_pass, base="plurality").winner == A


def test_unknown_rule_and_empty_candidates_are_clear_errors():
    with pytest.raises(UnknownName, match="tally rule 'majority'"):
        tally("majority", SPLIT, [A, B, C])
    with pytest.raises(ValueError, match="no proposals"):
        tally("borda", SPLIT, [])


def test_consensus_needs_the_supermajority_of_first_choices():
    two_of_three = [ballot("v1", A, B), ballot("v2", A, B), ballot("v3", B, A)]
    assert consensus(two_of_three, [A, B], 2 / 3) == A
    assert consensus(two_of_three, [A, B], 0.75) is None
    assert consensus([ballot("v1", A), ballot("v2", B), ballot("v3", C)], [A, B, C], 2 / 3) is None
    assert consensus([], [A], 2 / 3) is None


def _request(**kw) -> DeliberationRequest:
    return DeliberationRequest(
        id="d", story_id="s", task="t", members=("developer-1", "qa-1", "devops-1"), **kw
    )


def test_make_ballot_completes_partial_rankings_and_derives_approvals():
    req = _request(approval_threshold=6)
    props = [make_proposal(req, m, 0, ProposalDraft(answer=m)) for m in req.members]
    b = make_ballot(req, "qa-1", 0, props, BallotDraft(ranking=[2, 2, 7], scores=[1, 9]))
    assert b.ranking == ("d:p0:qa-1", "d:p0:developer-1", "d:p0:devops-1")
    assert b.scores == {"d:p0:qa-1": 9.0, "d:p0:developer-1": 1.0, "d:p0:devops-1": 0.0}
    assert b.approvals == ("d:p0:qa-1",)
    # no scores at all: derived from the rank, and the first choice is always approved
    b = make_ballot(req, "qa-1", 0, props, BallotDraft(ranking=[3]))
    assert b.ranking[0] == "d:p0:devops-1" and b.scores["d:p0:devops-1"] == 10.0
    assert "d:p0:devops-1" in b.approvals


def test_request_validation_gives_clear_errors():
    with pytest.raises(ValueError, match="quorum 5 exceeds"):
        _request(quorum=5)
    with pytest.raises(ValueError, match="distinct"):
        DeliberationRequest(id="d", story_id="s", task="t", members=("a-1", "a-1"))
    assert _request().needed == 2 and _request(quorum=3).needed == 3
    assert _request().role_of("developer-1") == "developer"
