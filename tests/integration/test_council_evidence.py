"""Evidence-weighted voting with proposals' commands run in the real bubblewrap sandbox."""

from __future__ import annotations

import pytest

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.config import load
from fleet.council import Council, DeliberationRequest, Member
from fleet.council.fakes import Voter
from fleet.council.local import local_gather
from fleet.errors import SandboxUnavailable
from fleet.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

ROLES = load("roles.yaml")


def members(commands: dict[str, str], favourite: str) -> dict[str, Member]:
    return {
        m: Member(
            m,
            m.rsplit("-", 1)[0],
            ROLES.get(m.rsplit("-", 1)[0]),
            ScriptedChatModel(script=Voter(favourite, command=cmd)),
        )
        for m, cmd in commands.items()
    }


def test_the_passing_proposal_beats_the_more_popular_failing_one(tmp_path):
    # everyone votes for developer-1, whose test command fails; qa-1's passes; devops-1 has none
    team = members(
        {"developer-1": "sh -c 'exit 3'", "qa-1": "true", "devops-1": ""}, favourite="developer-1"
    )
    req = DeliberationRequest(
        id="ev1",
        story_id="s-ev",
        task="fix the parser",
        members=tuple(team),
        rounds=1,
        early_stop=False,
        rule="evidence",
        workspace=str(tmp_path),
    )
    log = InMemoryEventLog()
    d = Council(local_gather(team), log, clock=FakeClock(), sandbox=BwrapSandbox()).deliberate(req)
    assert d.tally.scores["ev1:p1:developer-1"] > d.tally.scores["ev1:p1:qa-1"]  # more popular...
    assert d.winner == "ev1:p1:qa-1"  # ...but its tests fail
    by_id = {e.proposal_id: e for e in d.evidence}
    assert (
        by_id["ev1:p1:developer-1"].passed is False
        and "exit 3" in by_id["ev1:p1:developer-1"].detail
    )
    assert by_id["ev1:p1:qa-1"].passed is True and "ev1:p1:devops-1" not in by_id
    decision = log.read("s-ev")[-1][1].payload
    why = {a.proposal_id: a.why_rejected for a in decision.alternatives}
    assert why["ev1:p1:developer-1"] == "its tests failed"
    assert [ev.type for _, ev in log.read("s-ev")].count("council.evidence") == 2


def test_evidence_rule_without_a_sandbox_is_a_clear_error():
    team = members({"developer-1": "true", "qa-1": "true"}, favourite="qa-1")
    req = DeliberationRequest(
        id="ev2", story_id="s-ev", task="t", members=tuple(team), rounds=0, rule="evidence"
    )
    with pytest.raises(SandboxUnavailable, match="give the council a sandbox"):
        Council(local_gather(team), InMemoryEventLog(), clock=FakeClock()).deliberate(req)
