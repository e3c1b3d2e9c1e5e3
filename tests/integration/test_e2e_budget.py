"""A spent budget over the real stack (gateway, orchestrator, council actor, agent actors, scripted
models): the agents' ledgers refuse the call, the council stops with BudgetExceeded, it crosses
Ray to the orchestrator, which parks the story at the PO's ``budget`` gate; approving it grants a
fresh budget and the work goes on (until that one is spent too, or to the acceptance gate)."""

from __future__ import annotations

import time

import pytest
from fleet_stack import wait_for

from fleet.orchestrator.sample import SAMPLE_STORY


@pytest.fixture(scope="module")
def budget_stack(ray_cluster, redis_url, tmp_path_factory):
    """The real stack (as ``real_stack``) with a one-token story budget replacing models.yaml's."""
    from fleet_stack import start_stack, stop_stack

    s = start_stack(
        ray_cluster,
        redis_url,
        factory=None,
        model="scripted",
        data_dir=str(tmp_path_factory.mktemp("fleet-budget")),
        members=("developer-1", "qa-1"),
        rounds=1,
        phase_timeout_s=60.0,
        budgets={"story": {"tokens": 1}},
    )
    yield s
    stop_stack(ray_cluster, s)


def _timeline(stack, story_id):
    from fleet.adapters.redis_events import RedisEventLog

    return [e for _, e in RedisEventLog(stack.redis_url, prefix=stack.prefix).read(story_id)]


def _approve(client, stack, story_id):
    r = client.post(
        f"{stack.base_url}/stories/{story_id}/approvals",
        json={"approved": True},
        headers=stack.headers(),
    )
    assert r.status_code == 202, r.text


def _parked_at_budget(stack, story_id, times, timeout=120.0, *, or_gate=None):
    """The timeline once the story parked at the budget gate ``times`` times (or, with
    ``or_gate``, parked at that gate after its last budget park)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _timeline(stack, story_id)
        parks = [e for e in events if e.type == "story.parked" and e.data.get("gate") == "budget"]
        if len(parks) >= times:
            return events
        if or_gate and events[-1].type == "story.parked" and events[-1].data.get("gate") == or_gate:
            return events
        if any(e.type == "story.parked" and e.data.get("gate") == "error" for e in events):
            raise AssertionError(
                f"parked at error: {[e.data for e in events if e.type == 'story.parked']}"
            )
        time.sleep(0.2)
    last = [(e.type, e.actor, e.data.get("gate") or e.data.get("to")) for e in events[-25:]]
    raise AssertionError(f"story {story_id} never parked at budget {times} time(s); last: {last}")


def test_spent_story_budget_parks_at_the_budget_gate_and_resumes_after_approval(
    budget_stack, client, sample_git
):
    sid = "budget-1"
    body = {**SAMPLE_STORY, "id": sid, "repo": sample_git}
    assert (
        client.post(
            f"{budget_stack.base_url}/stories", json=body, headers=budget_stack.headers()
        ).status_code
        == 201
    )
    for gate in ("scope", "design"):
        wait_for(
            client, budget_stack, sid, lambda b, g=gate: (b["parked"] or {}).get("gate") == g, 60
        )
        _approve(client, budget_stack, sid)

    events = _parked_at_budget(budget_stack, sid, 1)
    view = wait_for(
        client, budget_stack, sid, lambda b: (b["parked"] or {}).get("gate") == "budget", 10
    )
    assert (
        view["state"] == "BUILD" and "budget for story budget-1 spent" in view["parked"]["reason"]
    )
    assert "Traceback" not in view["parked"]["reason"]  # the signal itself, not Ray's wrapper
    by_ledger = [e for e in events if e.type == "budget.exceeded" and e.actor == "ledger"]
    assert (
        by_ledger
        and by_ledger[0].data["scope"] == f"story {sid}"
        and by_ledger[0].data["limit"] == 1
    )
    usage = [e for e in events if e.type == "model.usage"]
    assert usage and all(e.payload.story_id == sid for e in usage)
    assert not any(e.type in ("council.quorum_lost", "workspace.report") for e in events)

    _approve(client, budget_stack, sid)  # the PO grants a fresh budget: the council resumes
    # ... and goes on until that budget is spent too, or, when one more call is all the council
    # needs (its lone candidate passes: the evidence decides, no vote), to the acceptance gate
    again = _parked_at_budget(budget_stack, sid, 2, or_gate="acceptance")
    approved_at = max(i for i, e in enumerate(again) if e.type == "story.approved")
    assert any(e.type == "model.usage" for e in again[approved_at:]), (
        "no model call after the grant"
    )
    exceeded = {e.id for e in again if e.type == "budget.exceeded" and e.actor == "ledger"}
    if again[-1].data.get("gate") == "acceptance":
        assert len(exceeded) == 1 and any(e.type == "council.result" for e in again[approved_at:])
    else:
        assert len(exceeded) == 2
