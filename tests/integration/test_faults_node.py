"""Losing a worker node, for real: a second Ray node (``ray start --block`` joining the test
cluster's head, its own temp dir and session, loopback, 0 CPUs and a custom resource) hosts the
fleet's actors, because ``FLEET_ACTOR_RESOURCE`` makes the builder prefer it (softly). Mid-story,
every process of that node is SIGKILLed at once; the head declares the node dead, Ray restarts
the orchestrator, council and agents on the head (``max_restarts=-1``, the soft preference
falls back), and the story finishes on its exact FSM path with nothing lost or stored twice.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from fault_tools import (
    WorkerNode,
    approve_all_until_done,
    assert_clean_finish,
    events,
    pids_titled,
    until,
)
from fleet_stack import start_stack, stop_stack

from actors.builder import PLACEMENT_ENV
from cluster import proctree
from fleet.orchestrator.sample import SAMPLE_STORY

pytestmark = pytest.mark.slow
RESOURCE = "fleet_worker_test"
ACTORS = ("ray::Orchestrator", "ray::CouncilActor", "ray::RoleAgent")


@pytest.fixture(scope="module")
def worker(ray_cluster):
    # short: Ray's unix sockets live under the temp dir (a 107-byte path limit)
    tmp = Path(tempfile.mkdtemp(prefix="rn-", dir="/tmp"))
    node = WorkerNode(ray_cluster.get_runtime_context().gcs_address, tmp, resource=RESOURCE)
    try:
        node.start(ray_cluster)
        yield node
    finally:
        node.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(ray_cluster, redis_url, worker, tmp_path_factory):
    os.environ[PLACEMENT_ENV] = RESOURCE  # read by the builder in this process only
    try:
        s = start_stack(
            ray_cluster,
            redis_url,
            factory=None,
            model="scripted",
            data_dir=str(tmp_path_factory.mktemp("node-fleet")),
            members=("developer-1", "qa-1"),
            rounds=1,
            phase_timeout_s=60.0,
        )
    finally:
        del os.environ[PLACEMENT_ENV]
    yield s
    stop_stack(ray_cluster, s)


def titled_on(pids: set[int], prefix: str) -> list[int]:
    return [p for p in pids if " ".join(proctree.cmdline(p)).startswith(prefix)]


def test_actors_of_a_killed_worker_node_restart_on_the_head(
    stack, worker, ray_cluster, client, sample_git
):
    sid = "fault-node"
    r = client.post(
        f"{stack.base_url}/stories",
        json={**SAMPLE_STORY, "id": sid, "repo": sample_git},
        headers=stack.headers(),
    )
    assert r.is_success, r.text
    po: dict = {}

    def run_po() -> None:
        import httpx

        try:
            with httpx.Client(timeout=30.0) as own:
                po["final"] = approve_all_until_done(own, stack, [sid], timeout=600)
        except BaseException as exc:  # reported below
            po["error"] = exc

    thread = threading.Thread(target=run_po, daemon=True)
    thread.start()

    def in_council() -> list[str] | None:
        evs = events(client, stack, sid)
        assert not any(e["type"] == "story.done" for e in evs), "finished before the fault"
        return [e["id"] for e in evs] if any(e["type"] == "council.proposal" for e in evs) else None

    before = until(in_council, 240, "a council proposal")
    on_node = worker.pids()
    placed = {prefix: titled_on(on_node, prefix) for prefix in ACTORS}
    everywhere = {p: " ".join(proctree.cmdline(p))[:60] for p in pids_titled("ray::")}
    assert all(placed.values()), f"not on the worker node: {placed}; ray processes: {everywhere}"

    victims = worker.kill(ray_cluster)  # SIGKILL raylet, agents and every worker of the node
    # every actor process seen on the node is gone: killed, or ended between the two looks at the
    # node's processes (a worker process that exits on its own is not in the kill's snapshot)
    seen = set().union(*placed.values())
    assert seen & victims and not [p for p in seen - victims if proctree.alive(p)], (seen, victims)

    thread.join(timeout=600)
    assert "error" not in po, po["error"]
    assert_clean_finish(client, stack, sid, before)
    orch = ray_cluster.get_actor(stack.name, namespace=stack.namespace)
    assert ray_cluster.get(orch.check_health.remote(), timeout=60)
    for prefix in ACTORS:  # alive again, in processes of the node that is left
        assert [p for p in pids_titled(prefix) if p not in victims], prefix
