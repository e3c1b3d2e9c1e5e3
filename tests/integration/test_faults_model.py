"""Model replica death, for real: the llama.cpp Serve replica serving SmolLM2-135M is SIGKILLed
while a story's council is calling it. Serve starts a new replica; the calls that were in flight
fail with a 5xx and are retried by the client (the retry waits in Serve's queue for the new
replica, within the call's timeout); a member that still misses a phase is handled by the
council's quorum rules; the story finishes on its exact FSM path with no event stored twice.
SmolLM2 is used for the plumbing, not for its wisdom.
"""

from __future__ import annotations

import collections
import uuid

import pytest
from fault_tools import FSM_PATH, approve_until_done, event_ids, pids_titled, sigkill, until

from fleet.config import load
from fleet.orchestrator.sample import SAMPLE_STORY

APP = f"llmfault{uuid.uuid4().hex[:6]}"  # unique: its replica's process title is ours alone
TITLE = f"ray::ServeReplica:{APP}:"


@pytest.fixture(scope="module")
def model_stack(ray_cluster, redis_url, tmp_path_factory):
    from fleet_stack import serve_port, start_stack, stop_stack

    from serve_apps.llm import deploy_llm, undeploy_llm

    serve_port(ray_cluster)
    url = deploy_llm(load("models.yaml"), "local-smollm2", route_prefix=f"/{APP}", app_name=APP)
    s = start_stack(
        ray_cluster,
        redis_url,
        factory=None,
        model="local-smollm2",
        llm_base_url=url,
        data_dir=str(tmp_path_factory.mktemp("fleet-llm-fault")),
        members=("developer-1", "qa-1"),
        rounds=1,
        phase_timeout_s=120.0,
    )
    yield s
    stop_stack(ray_cluster, s)
    undeploy_llm(APP)


@pytest.mark.slow
def test_story_finishes_when_the_model_replica_is_killed_mid_council(
    model_stack, client, sample_git
):
    from fleet.adapters.redis_events import RedisEventLog

    stack, sid = model_stack, "fault-llm"
    log = RedisEventLog(stack.redis_url, prefix=stack.prefix)
    [replica] = until(lambda: pids_titled(TITLE), 60, "the model replica's process")
    body = {**SAMPLE_STORY, "id": sid, "repo": sample_git}
    assert client.post(f"{stack.base_url}/stories", json=body, headers=stack.headers()).is_success
    for gate in ("scope", "design"):
        until(
            lambda g=gate: approve_if_parked_at(client, stack, sid, g),
            120,
            f"the {gate} gate",
        )
    # The council is calling the model: the first agent answer is in, others are in flight.
    until(lambda: any(e.type == "model.usage" for _, e in log.read(sid)), 180, "a model call")
    sigkill(replica)
    new = until(lambda: [p for p in pids_titled(TITLE) if p != replica], 180, "Serve to restart it")
    assert new and replica not in pids_titled(TITLE)

    final = approve_until_done(client, stack, sid, timeout=600)
    assert final["outcome"] == "done", (final["parked"], final["transitions"])
    assert [(t["from"], t["to"]) for t in final["transitions"]] == FSM_PATH
    ids = event_ids(client, stack, sid)
    assert len(ids) == len(set(ids)), "an event was stored twice"
    types = collections.Counter(e.type for _, e in log.read(sid))
    assert types["council.result"] >= 1 and types["story.done"] == 1
    assert not any(
        e.type == "story.parked" and e.data.get("gate") == "error" for _, e in log.read(sid)
    )


def approve_if_parked_at(client, stack, story_id, gate) -> bool:
    from fault_tools import story

    if (story(client, stack, story_id)["parked"] or {}).get("gate") != gate:
        return False
    r = client.post(
        f"{stack.base_url}/stories/{story_id}/approvals", json={}, headers=stack.headers()
    )
    return r.status_code == 202
