"""The council and role agents as real Ray actors, with checkpoints in the real Redis.

Includes the fault tests: the council actor killed after round 1 of 3 (Ray restarts it and
retries the pending call) finishes with exactly the result of an uninterrupted run; a role
agent killed mid-round is dropped and the council still finishes.
"""

from __future__ import annotations

import itertools
import time
import uuid
from functools import partial

import pytest

from actors.agent import agent_actor_name, spawn_agent
from actors.council import spawn_council
from fleet.config import load
from fleet.council import Council, DeliberationRequest, Member, checkpoint_key, mix
from fleet.council.local import local_gather
from fleet.testing.council import Voter
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

TEAM = ("developer-1", "qa-1", "architect-1")
_n = itertools.count()


@pytest.fixture
def space(ray_cluster, redis_url, tmp_path):
    """A fresh Ray namespace and event-log prefix per test; its actors are killed afterwards."""
    from fleet.adapters.redis_events import RedisEventLog

    ns, prefix = f"council-test-{next(_n)}-{uuid.uuid4().hex[:6]}", f"t{uuid.uuid4().hex[:8]}"
    factory = partial(RedisEventLog, redis_url, prefix=prefix, archive_dir=str(tmp_path))
    handles: list = []
    yield ns, factory, handles
    for h in handles:
        ray_cluster.kill(h)


def agents(ray, ns, handles, factories: dict) -> None:
    """One agent actor per id; ``factories`` (picklable) build each one's model inside the actor."""
    for agent_id, factory in factories.items():
        handles.append(spawn_agent(agent_id, namespace=ns, chat_model_factory=factory))
    ray.get([h.ping.remote() for h in handles])


def request(**kw) -> DeliberationRequest:
    base = {
        "id": f"d-{uuid.uuid4().hex[:6]}",
        "story_id": "s-ray",
        "task": "add a cache",
        "members": TEAM,
    }
    return DeliberationRequest(**{**base, **kw})


def reference(req: DeliberationRequest, factories: dict):
    """The same deliberation run in process, uninterrupted."""
    roles = load("roles.yaml")
    members = {
        m: Member(m, m.rsplit("-", 1)[0], roles.get(m.rsplit("-", 1)[0]), f(), seed=mix(m))
        for m, f in factories.items()
    }
    return Council(local_gather(members), InMemoryEventLog(), clock=FakeClock()).deliberate(req)


def wait_for(log, story: str, pred, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [ev for _, ev in log.read(story) if pred(ev)]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError("event never appeared")


def test_full_deliberation_through_actors_matches_the_in_process_run(ray_cluster, space):
    ns, factory, handles = space
    scripts = {
        "developer-1": Voter("qa-1"),
        "qa-1": Voter("architect-1"),
        "architect-1": Voter("qa-1"),
    }
    factories = {m: partial(ScriptedChatModel, script=s) for m, s in scripts.items()}
    agents(ray_cluster, ns, handles, factories)
    council = spawn_council(factory, namespace=ns, name="council")
    handles.append(council)
    req = request(rounds=2, early_stop=False)
    d = ray_cluster.get(council.deliberate.remote(req), timeout=60)
    assert d == reference(req, factories)
    assert d.winner == f"{req.id}:p2:qa-1" and d.missing == {}
    log = factory()
    kinds = [
        ev.type for _, ev in log.read("s-ray") if ev.data.get("deliberation_id", req.id) == req.id
    ]
    assert kinds.count("council.ballot") == 3 and kinds.count("council.critique") == 12
    assert kinds[-1] == "decision.made"
    # asking again returns the stored result without a new run
    assert ray_cluster.get(council.deliberate.remote(req), timeout=30) == d


def test_killed_council_resumes_after_round_one_with_the_uninterrupted_result(ray_cluster, space):
    ns, factory, handles = space

    factories = {m: partial(ScriptedChatModel, "SLOW", latency_ms=150) for m in TEAM}
    agents(ray_cluster, ns, handles, factories)
    council = spawn_council(factory, namespace=ns, name="council")
    handles.append(council)
    pid_before = ray_cluster.get(
        council.__ray_call__.remote(lambda self: __import__("os").getpid())
    )
    req = request(rounds=3, early_stop=False)
    pending = council.deliberate.remote(req)
    log = factory()
    wait_for(
        log,
        "s-ray",
        lambda ev: (
            ev.type == "council.round_completed"
            and ev.data.get("round") == 1
            and ev.data.get("deliberation_id") == req.id
        ),
    )
    # Events and checkpoints are written behind, in order but not atomically together: wait
    # until round 1's checkpoint has landed too, so the kill really comes after round 1.
    end = time.monotonic() + 30
    while (log.checkpoint_get(checkpoint_key(req.id))[1] or {}).get("done", 0) < 3:
        assert time.monotonic() < end, "round 1's checkpoint never landed"
        time.sleep(0.01)
    ray_cluster.kill(council, no_restart=False)
    done_at_kill = (log.checkpoint_get(checkpoint_key(req.id))[1] or {}).get("done", 0)
    d = ray_cluster.get(pending, timeout=120)
    pid_after = ray_cluster.get(council.__ray_call__.remote(lambda self: __import__("os").getpid()))
    assert pid_after != pid_before  # it really died and was restarted
    assert 3 <= done_at_kill < 8  # killed mid-deliberation, after round 1
    assert d == reference(req, factories)
    version, state = log.checkpoint_get(checkpoint_key(req.id))
    assert state["status"] == "done" and version == 9  # 8 steps + the result: no step written twice
    ours = [ev for _, ev in log.read("s-ray") if ev.id.startswith(f"s-ray:council.ballot:{req.id}")]
    assert sorted(b.payload.voter for b in ours) == sorted(TEAM)


def test_council_finishes_when_a_role_agent_is_killed_mid_round(ray_cluster, space):
    ns, factory, handles = space
    agents(
        ray_cluster,
        ns,
        handles,
        {m: partial(ScriptedChatModel, latency_ms=300, script=Voter("developer-1")) for m in TEAM},
    )
    council = spawn_council(factory, namespace=ns, name="council")
    handles.append(council)
    req = request(rounds=2, early_stop=False, phase_timeout_s=20)
    pending = council.deliberate.remote(req)
    log = factory()
    wait_for(
        log,
        "s-ray",
        lambda ev: (
            ev.type == "council.round_completed" and ev.data.get("deliberation_id") == req.id
        ),
    )
    time.sleep(0.1)  # the round-1 critique calls are in flight now
    ray_cluster.kill(ray_cluster.get_actor(agent_actor_name("qa-1"), namespace=ns))
    d = ray_cluster.get(pending, timeout=60)
    assert d.winner == f"{req.id}:p2:developer-1"
    assert {m for names in d.missing.values() for m in names} == {"qa-1"}
    assert "1" in d.missing and "2" in d.missing
    assert {b.voter for b in d.ballots} == {"developer-1", "architect-1"}


def test_members_all_slower_than_the_phase_timeout_are_waited_for_up_to_the_quorum(
    ray_cluster, space
):
    """Every member answers after the phase timeout (a busy machine): the council waits on, up
    to one more timeout, for the quorum instead of losing it (``fleet/council/cascade.py``)."""
    ns, factory, handles = space
    factories = {m: partial(ScriptedChatModel, latency_ms=1500, script=Voter("qa-1")) for m in TEAM}
    agents(ray_cluster, ns, handles, factories)
    council = spawn_council(factory, namespace=ns, name="council")
    handles.append(council)
    req = request(rounds=0, phase_timeout_s=1.0)
    d = ray_cluster.get(council.deliberate.remote(req), timeout=60)
    assert d.winner is not None and len(d.ballots) >= 2  # (the old scheduler: QuorumLost)
