"""The council's call wire format: JSON bytes that give back equal contracts."""

from __future__ import annotations

import pytest

from fleet.contracts import Proposal
from fleet.council import wire
from fleet.council.schemas import BallotDraft, Brief, CritiqueDraft
from fleet.errors import ModelUnavailable, UserError


def proposal(author: str) -> Proposal:
    return Proposal(
        id=f"d:p0:{author}",
        deliberation_id="d",
        author=author,
        role="qa",
        round=0,
        content="cache with a 60 s TTL",
        commands=(("pytest", "-q", "tests/x y"),),
        rationale="fast",
    )


def test_arguments_round_trip_to_equal_contracts():
    ps = (proposal("qa-1"), proposal("developer-1"))
    brief = Brief(
        deliberation_id="d",
        story_id="s",
        task="add a cache",
        round=1,
        step="critique",
        seed=42,
        proposals=ps,
    )
    data = wire.encode("critiques", (brief, ps[1:]))
    assert isinstance(data, bytes)
    assert wire.decode("critiques", data) == (brief, ps[1:])
    assert wire.decode("revise", wire.encode("revise", (brief, None))) == (brief, None)


def test_answers_round_trip_and_failures_pass_unchanged():
    drafts = [
        CritiqueDraft(severity="major", comment="no eviction"),
        CritiqueDraft(severity="info", comment="ok"),
    ]
    assert wire.decode_answer("critiques", wire.encode_answer("critiques", drafts)) == drafts
    ballot = BallotDraft(ranking=[2, 1], scores=[3, 9], reason="r")
    assert wire.decode_answer("vote", wire.encode_answer("vote", ballot)) == ballot
    failed = [drafts[0], ModelUnavailable(model="m", reason="down")]
    assert wire.encode_answer("critiques", failed) is failed


def test_an_unknown_call_is_a_clear_error():
    with pytest.raises(UserError, match="unknown council call 'dance'"):
        wire.encode("dance", ())


def test_the_agent_actor_answers_every_call_the_council_sends_it():
    # a call the actor lacks fails in Ray, and the council takes it for a member that gave no
    # answer: on the story path QA was never asked for distinguishing inputs
    from actors.agent import RoleAgent

    calls = wire._ARGS
    assert "distinguish" in calls
    assert [c for c in calls if not callable(getattr(RoleAgent, c, None))] == []
