"""Storage outage, for real: the Redis+FalkorDB server is SIGKILLed in the middle of a story's
council and restarted on the same data directory (AOF). The API answers 503 meanwhile, an SSE
follower stays connected, and once storage is back the story finishes on its exact FSM path
with no event lost (everything seen before the kill is still there) and none stored twice.

The stack has its own server (not the session's): killing it touches no other test.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import threading

import pytest
from fault_tools import FSM_PATH, approve_until_done, event_ids, until
from fleet_stack import start_stack, stop_stack, wait_for

from fleet.orchestrator.sample import SAMPLE_STORY


@pytest.fixture(scope="module")
def own_storage(tmp_path_factory):
    from cluster.graphserver import GraphServer, free_port

    server = GraphServer(data_dir=tmp_path_factory.mktemp("faults-graph"), port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(ray_cluster, own_storage, tmp_path_factory):
    s = start_stack(
        ray_cluster,
        own_storage.url,
        factory=None,
        model="scripted",
        data_dir=str(tmp_path_factory.mktemp("faults-fleet")),
        members=("developer-1", "qa-1"),
        rounds=1,
        phase_timeout_s=60.0,
    )
    yield s
    stop_stack(ray_cluster, s)


def follow_in_background(stack, story_id, into: list[dict]) -> threading.Thread:
    """An SSE follower (as `fleet run` is): records every event it receives until story.done."""
    import httpx

    def run() -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(30.0, read=120.0)) as c,
            c.stream(
                "GET", f"{stack.base_url}/stories/{story_id}/events", headers=stack.headers()
            ) as r,
        ):
            for line in r.iter_lines():
                if line.startswith("data: "):
                    into.append(json.loads(line[6:]))
                    if into[-1]["type"] == "story.done":
                        return

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.slow
def test_story_survives_a_killed_and_restarted_redis(stack, own_storage, client, sample_git):
    import ray

    from cluster.graphserver import GraphServer
    from fleet.adapters.redis_events import RedisEventLog

    sid = "fault-redis"
    body = {**SAMPLE_STORY, "id": sid, "repo": sample_git}
    assert client.post(f"{stack.base_url}/stories", json=body, headers=stack.headers()).is_success
    for gate in ("scope", "design"):
        wait_for(client, stack, sid, lambda b, g=gate: (b["parked"] or {}).get("gate") == g, 120)
        client.post(f"{stack.base_url}/stories/{sid}/approvals", json={}, headers=stack.headers())
    followed: list[dict] = []
    follower = follow_in_background(stack, sid, followed)
    log = RedisEventLog(own_storage.url, prefix=stack.prefix)
    until(lambda: any(e.type == "council.proposal" for _, e in log.read(sid)), 120, "a proposal")
    before = event_ids(client, stack, sid)

    os.kill(own_storage.running_pid(), signal.SIGKILL)  # mid-council
    until(lambda: not log.ping(), 10, "Redis to die")
    down = client.get(f"{stack.base_url}/stories/{sid}", headers=stack.headers("viewer"))
    assert down.status_code == 503, down.text
    assert down.json()["error"] == "unavailable" and "Redis" in down.json()["message"]
    orch = ray.get_actor(stack.name, namespace=stack.namespace)
    until(lambda: ray.get(orch.storage.remote())["outages"] >= 1, 60, "the outage to be seen")

    GraphServer(data_dir=own_storage.data_dir, port=own_storage.port).start()  # AOF replay
    final = approve_until_done(client, stack, sid)
    assert final["outcome"] == "done", (final["parked"], final["transitions"])
    assert [(t["from"], t["to"]) for t in final["transitions"]] == FSM_PATH

    after = event_ids(client, stack, sid)
    assert len(after) == len(set(after)), "an event was stored twice"
    assert set(before) <= set(after), f"lost: {set(before) - set(after)}"
    types = collections.Counter(e.type for _, e in log.read(sid))
    assert types["story.transition"] == 6 and types["story.done"] == 1
    assert types["story.parked"] == 3, "a storage outage must not park the story"
    assert types["council.result"] == 1 and types["workspace.report"] == 1

    follower.join(timeout=60)  # the SSE stream stayed open across the outage
    assert followed and followed[-1]["type"] == "story.done"
    assert set(after) <= {e["id"] for e in followed} | set(before)
    until(lambda: log.pending("graph-projector") == 0, 60, "the projector to catch up")
    assert ray.get(orch.storage.remote())["ok"] is True


def test_status_says_storage_is_down_when_redis_is_not_running(tmp_path):
    from cluster import local
    from cluster.graphserver import free_port
    from fleet.settings import fleet_config

    cfg = fleet_config().model_copy(
        update={
            "data_dir": str(tmp_path),
            "redis": fleet_config().redis.model_copy(update={"port": free_port()}),
        }
    )
    st = local.status(cfg)
    assert local.STORAGE_DOWN in st.render() and not st.healthy
