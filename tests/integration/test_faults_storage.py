"""Storage outage, for real: the Redis+FalkorDB server is SIGKILLed in the middle of a story's
council and restarted on the same data directory (AOF). The API answers 503 meanwhile, an SSE
follower stays connected, and once storage is back the story finishes on its exact FSM path
with no event lost (everything seen before the kill is still there) and none stored twice.

The stack has its own server (not the session's): killing it touches no other test.
"""

from __future__ import annotations

import collections
import io
import os
import signal
import threading

import pytest
from fault_tools import FSM_PATH, event_ids, pids_titled, sigkill, until
from fleet_stack import start_stack, stop_stack

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


def cli_follower(stack, story_id, result: dict) -> threading.Thread:
    """`fleet run --auto-approve`'s follower (cluster.cli.gateway_client.follow): it is the PO here."""
    from cluster.cli.gateway_client import Client, follow

    def run() -> None:
        out = io.StringIO()
        try:
            result["story"] = follow(
                Client(stack.base_url, stack.tokens["po"]),
                story_id,
                auto_approve=True,
                timeout_s=600,
                out=out,
            )
        except BaseException as exc:  # the test reports it: the follower must not die
            result["error"] = exc
        result["out"] = out.getvalue()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.slow
def test_story_survives_a_killed_redis_and_a_killed_gateway(stack, own_storage, client, sample_git):
    """Redis SIGKILLed mid-council and restarted (AOF), then the gateway replica SIGKILLed: the
    story finishes, and the CLI follower (the PO, approving gates) rides through both outages."""
    import ray

    from cluster.graphserver import GraphServer
    from fleet.adapters.redis_events import RedisEventLog

    sid = "fault-redis"
    body = {**SAMPLE_STORY, "id": sid, "repo": sample_git}
    assert client.post(f"{stack.base_url}/stories", json=body, headers=stack.headers()).is_success
    result: dict = {}
    follower = cli_follower(stack, sid, result)
    log = RedisEventLog(own_storage.url, prefix=stack.prefix)
    until(lambda: any(e.type == "council.proposal" for _, e in log.read(sid)), 180, "a proposal")
    before = event_ids(client, stack, sid)

    os.kill(own_storage.running_pid(), signal.SIGKILL)  # mid-council
    until(lambda: not log.ping(), 10, "Redis to die")
    down = client.get(f"{stack.base_url}/stories/{sid}", headers=stack.headers("viewer"))
    assert down.status_code == 503, down.text
    assert down.json()["error"] == "unavailable" and "Redis" in down.json()["message"]
    orch = ray.get_actor(stack.name, namespace=stack.namespace)
    until(lambda: ray.get(orch.storage.remote())["outages"] >= 1, 60, "the outage to be seen")
    GraphServer(data_dir=own_storage.data_dir, port=own_storage.port).start()  # AOF replay

    title = f"ray::ServeReplica:gw-{stack.base_url.rsplit('/', 1)[1]}:"
    [gateway] = until(lambda: pids_titled(title), 30, "the gateway replica")
    sigkill(gateway)
    until(lambda: [p for p in pids_titled(title) if p != gateway], 120, "a new gateway replica")

    follower.join(timeout=600)
    assert "error" not in result, (result.get("error"), result.get("out"))
    final = result["story"]
    assert final["outcome"] == "done", (final["parked"], final["transitions"], result["out"])
    assert [(t["from"], t["to"]) for t in final["transitions"]] == FSM_PATH

    after = event_ids(client, stack, sid)
    assert len(after) == len(set(after)), "an event was stored twice"
    assert set(before) <= set(after), f"lost: {set(before) - set(after)}"
    types = collections.Counter(e.type for _, e in log.read(sid))
    assert types["story.transition"] == 6 and types["story.done"] == 1
    assert types["story.parked"] == 3, "a storage outage must not park the story"
    assert types["council.result"] == 1 and types["workspace.report"] == 1
    until(lambda: log.pending("graph-projector") == 0, 60, "the projector to catch up")
    assert ray.get(orch.storage.remote())["ok"] is True


def test_status_says_storage_is_down_when_redis_is_not_running(tmp_path):
    from cluster import local
    from cluster.graphserver import free_port
    from fleet.config import fleet_config

    cfg = fleet_config().model_copy(
        update={
            "data_dir": str(tmp_path),
            "redis": fleet_config().redis.model_copy(update={"port": free_port()}),
        }
    )
    st = local.status(cfg)
    assert local.STORAGE_DOWN in st.render() and not st.healthy
