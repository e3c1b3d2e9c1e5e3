"""The council protocol in process: rounds, early stop, quorum, resume, the Decision."""

from __future__ import annotations

import time

import pytest

from fleet.config import load
from fleet.contracts import ContextPack, ContextSection
from fleet.council import Council, DeliberationRequest, Member, checkpoint_key, plan
from fleet.council.local import local_gather
from fleet.errors import ModelUnavailable, QuorumLost, UserError
from fleet.testing.council import Broken, Voter
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

ROLES = load("roles.yaml")
TEAM = ("developer-1", "qa-1", "architect-1")


def member(agent_id: str, chat: ScriptedChatModel, **kw) -> Member:
    role = agent_id.rsplit("-", 1)[0]
    return Member(agent_id, role, ROLES.get(role), chat, **kw)


def team(scripts: dict[str, object], **kw) -> dict[str, Member]:
    return {
        m: member(m, s if isinstance(s, ScriptedChatModel) else ScriptedChatModel(script=s), **kw)
        for m, s in scripts.items()
    }


def request(**kw) -> DeliberationRequest:
    base = {
        "id": "d1",
        "story_id": "s1",
        "task": "add a cache to the API",
        "members": TEAM,
        "rounds": 2,
    }
    return DeliberationRequest(**{**base, **kw})


def run(
    members: dict[str, Member], req: DeliberationRequest, log: InMemoryEventLog | None = None, **kw
):
    log = log or InMemoryEventLog()
    return Council(local_gather(members), log, clock=FakeClock(), **kw).deliberate(req), log


def types(log: InMemoryEventLog, story: str = "s1") -> list[str]:
    return [ev.type for _, ev in log.read(story)]


def test_plan_has_a_vote_per_round_only_with_early_stop():
    assert plan(request(early_stop=False)) == [
        (0, "propose"),
        (1, "critique"),
        (1, "revise"),
        (2, "critique"),
        (2, "revise"),
        (2, "vote"),
    ]
    assert [s for s in plan(request()) if s[1] == "vote"] == [(0, "vote"), (1, "vote"), (2, "vote")]


def test_full_run_records_every_round_and_stores_the_decision():
    d, log = run(team({m: Voter("qa-1") for m in TEAM}), request(early_stop=False))
    assert d.winner == "d1:p2:qa-1" and d.rounds == 2
    assert len(d.proposals) == 9 and len(d.critiques) == 12 and len(d.ballots) == 3
    assert all(b.round == 2 for b in d.ballots) and d.missing == {}
    assert {p.content for p in d.proposals if p.round == 2} == {f"{m} plan revised" for m in TEAM}
    events = types(log)
    assert events[0] == "deliberation.started" and events[-2:] == [
        "council.result",
        "decision.made",
    ]
    assert events.count("council.round_completed") == 3 and events.count("council.ballot") == 3
    decision = log.read("s1")[-1][1].payload
    assert decision.what == "qa-1 plan revised" and decision.deliberation_id == "d1"
    assert set(decision.decided_by) == set(TEAM)
    assert {a.proposal_id for a in decision.alternatives} == {
        "d1:p2:developer-1",
        "d1:p2:architect-1",
    }
    assert all("points vs" in a.why_rejected for a in decision.alternatives)


def test_write_behind_gives_the_same_record_and_timeline():
    scripts = {m: Voter("qa-1") for m in TEAM}
    plain, log_plain = run(team(scripts), request(early_stop=False))
    behind, log_behind = run(team(scripts), request(early_stop=False), write_behind=True)
    assert behind == plain
    assert [ev.id for _, ev in log_behind.read("s1")] == [ev.id for _, ev in log_plain.read("s1")]
    assert log_behind.checkpoint_get(checkpoint_key("d1")) == log_plain.checkpoint_get(
        checkpoint_key("d1")
    )


def test_unanimous_consensus_stops_after_the_first_vote():
    members = team({m: Voter("architect-1") for m in TEAM})
    d, log = run(members, request(rounds=3))
    assert d.tally.early_stop and d.winner == "d1:p0:architect-1"
    assert d.critiques == () and d.rounds == 0
    assert sum(m.chat.calls for m in members.values()) == 6  # 3 proposals + 3 ballots, nothing more
    assert types(log).count("council.round_completed") == 1


def test_a_stubborn_member_is_outvoted():
    scripts = {
        "developer-1": Voter("qa-1"),
        "qa-1": Voter("qa-1"),
        "architect-1": Voter(stubborn=True),
    }
    d, _ = run(team(scripts), request(early_stop=False, rule="plurality"))
    assert d.winner == "d1:p2:qa-1"
    assert d.tally.scores["d1:p2:architect-1"] == 1.0  # it voted for itself, alone
    stubborn = [p.content for p in d.proposals if p.author == "architect-1"]
    assert stubborn == ["architect-1 plan"] * 3  # never revised


def test_an_error_prone_member_is_dropped_and_quorum_holds():
    scripts = {
        "developer-1": Voter("developer-1"),
        "qa-1": Voter("developer-1"),
        "architect-1": ScriptedChatModel("ERROR_PRONE"),
    }
    d, log = run(team(scripts), request(early_stop=False))
    assert d.winner == "d1:p2:developer-1"
    dropped = {m for names in d.missing.values() for m in names}
    assert dropped == {"architect-1"}  # only the flaky one, never the healthy members
    assert types(log)[-1] == "decision.made"


class RevisionsFail(Voter):
    """Proposes and votes, but its model is down whenever it is asked to revise."""

    def __call__(self, messages, schema):
        if "Your proposal:" in messages[-1].content:
            raise ModelUnavailable(model="flaky", reason="down while revising")
        return super().__call__(messages, schema)


def test_revisers_that_fail_keep_their_proposals_and_the_quorum():
    scripts = {"developer-1": Voter("qa-1"), "qa-1": RevisionsFail("qa-1")}
    scripts["architect-1"] = RevisionsFail("qa-1")
    d, log = run(team(scripts), request(rounds=1, early_stop=False))
    assert d.missing == {"1": ("qa-1", "architect-1")}  # they missed the revision...
    assert d.winner == "d1:p0:qa-1"  # ...and their round-0 proposals stayed in the running
    assert types(log)[-1] == "decision.made"


def test_quorum_lost_is_a_clear_error_and_is_remembered():
    scripts = {"developer-1": Voter(), "qa-1": Broken(), "architect-1": Broken()}
    members = team(scripts)
    log = InMemoryEventLog()
    with pytest.raises(QuorumLost, match="lost quorum in round 0: 1 of the needed 2") as err:
        run(members, request(), log)
    assert err.value.missing == ("qa-1", "architect-1")
    assert types(log)[-1] == "council.quorum_lost"
    calls = members["developer-1"].chat.calls
    with pytest.raises(QuorumLost):  # asking again answers from the checkpoint, calls nobody
        run(members, request(), log)
    assert members["developer-1"].chat.calls == calls


def test_a_member_slower_than_the_phase_timeout_misses_the_phase_without_a_hang():
    slow = ScriptedChatModel(latency_ms=2000, script=Voter())
    members = team({"developer-1": Voter(), "qa-1": Voter(), "architect-1": slow})
    start = time.monotonic()
    d, _ = run(members, request(rounds=0, phase_timeout_s=0.2))
    assert time.monotonic() - start < 1.5
    assert d.missing == {"0": ("architect-1",)} and len(d.ballots) == 2


def test_a_phase_no_member_answers_by_its_timeout_waits_for_the_quorum_instead_of_losing_it():
    # every member is slower than the phase timeout (two busy cores): the council waits for
    # them (up to one more timeout) until two of the three have answered each phase
    members = team({m: ScriptedChatModel(latency_ms=450, script=Voter()) for m in TEAM})
    d, _ = run(members, request(rounds=0, phase_timeout_s=0.3))
    assert d.winner is not None and len(d.ballots) >= 2  # (the old scheduler: QuorumLost)


class Crash(Exception):
    pass


def test_a_restarted_council_resumes_and_matches_an_uninterrupted_run():
    scripts = {
        "developer-1": Voter("qa-1"),
        "qa-1": Voter("architect-1"),
        "architect-1": Voter("qa-1"),
    }
    reference_members = team(scripts)
    reference, _ = run(reference_members, request(rounds=3, early_stop=False))
    reference_calls = sum(m.chat.calls for m in reference_members.values())

    members, log, steps = team(scripts), InMemoryEventLog(), []

    def crash_after_round_one(state):
        steps.append(state.done)
        if state.done == 3:  # propose, critique 1, revise 1 are checkpointed
            raise Crash

    with pytest.raises(Crash):
        run(members, request(rounds=3, early_stop=False), log, on_step=crash_after_round_one)
    resumed, _ = run(members, request(rounds=3, early_stop=False), log)
    assert resumed == reference
    assert sum(m.chat.calls for m in members.values()) == reference_calls  # no step repeated
    ids = [ev.id for _, ev in log.read("s1")]
    assert len(ids) == len(set(ids))
    assert types(log).count("council.ballot") == 3
    assert log.checkpoint_get(checkpoint_key("d1"))[1]["status"] == "done"


def test_reusing_an_id_for_a_different_request_is_refused():
    members = team({m: Voter() for m in TEAM})
    _, log = run(members, request(rounds=0))
    with pytest.raises(UserError, match="different request"):
        run(members, request(rounds=1), log)


def test_members_see_their_role_prompt_and_their_context_pack():
    seen: list[str] = []

    def script(messages, schema):
        seen.append(messages[0].content + messages[1].content)
        return Voter()(messages, schema)

    def context(story_id, role, phase, task_id):
        section = ContextSection(name="Scope", content=f"{role} sees {story_id}/{phase}")
        return ContextPack(story_id=story_id, role=role, phase=phase, sections=(section,))

    members = {m: member(m, ScriptedChatModel(script=script), context=context) for m in TEAM[:2]}
    run(members, request(members=TEAM[:2], rounds=0))
    assert any("QA engineer" in s and "qa sees s1/design" in s for s in seen)
    assert any("software developer" in s and "developer sees s1/design" in s for s in seen)


def test_members_sample_with_their_own_seeds():
    seeds: dict[str, set[int]] = {}

    class Spy(ScriptedChatModel):
        def complete(self, messages, **kw):
            seeds.setdefault(messages[0].content, set()).add(kw["seed"])
            return super().complete(messages, **kw)

    members = {m: member(m, Spy(script=Voter())) for m in TEAM}
    run(members, request(rounds=0, early_stop=False))
    all_seeds = [s for group in seeds.values() for s in group]
    assert len(all_seeds) == len(set(all_seeds)) == 6


def test_developers_sample_mildly_and_the_first_decodes_greedily():
    from fleet.council.patching import developer_temperature

    temps = [developer_temperature(f"developer-{n}@s1") for n in (1, 2, 3, 9)]
    assert temps == [0.0, 0.2, 0.7, 0.5] and developer_temperature("developer") == 0.5
