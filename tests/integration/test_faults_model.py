"""Model replica death, for real: the llama.cpp Serve replica (the embedded model server, here
serving SmolLM2-135M: the fastest real model to load again) is SIGKILLed while it is answering a
council member's call. Serve starts a new replica; the call in flight fails (5xx or a refused
connection) and the chat client retries it, waiting in Serve's queue for the new replica within
the call's timeout; the story finishes on its exact FSM path with nothing lost or stored twice.

Only the council's third member, ``architect-1``, calls the real model (``role_models``); the
developer and QA members and the developer's workspace edits use the scripted model, so the
story's success does not hang on what a 135M model writes, while every architect call - before
and after the kill - goes through the real replica.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from fault_tools import (
    approve_all_until_done,
    assert_clean_finish,
    events,
    pids_titled,
    sigkill,
    until,
)

from cluster import proctree
from fleet.config import load
from fleet.orchestrator.sample import SAMPLE_STORY

pytestmark = pytest.mark.slow
APP = f"llmfault{uuid.uuid4().hex[:6]}"  # unique: its replica's process title is ours alone
TITLE = f"ray::ServeReplica:{APP}:"
REAL = "architect"


@pytest.fixture(scope="module")
def model_stack(ray_cluster, redis_url, tmp_path_factory):
    from fleet_stack import serve_port, start_stack, stop_stack

    from serve_apps.llm import deploy_llm, undeploy_llm

    serve_port(ray_cluster)
    url = deploy_llm(load("models.yaml"), "local-smollm2", route_prefix=f"/{APP}", app_name=APP)
    try:
        s = start_stack(
            ray_cluster,
            redis_url,
            factory=None,
            model="scripted",
            role_models={REAL: "local-smollm2"},
            llm_base_url=url,
            data_dir=str(tmp_path_factory.mktemp("fleet-llm-fault")),
            members=("developer-1", "qa-1", "architect-1"),
            rounds=1,
            # the architect speaks only in the vote: with distinguishing inputs on, the evidence
            # decides the sample story and no ballot (no real-model call) is asked
            distinguish=False,
            phase_timeout_s=240.0,  # above a replica restart (model load) on a busy machine
        )
        yield s
        stop_stack(ray_cluster, s)
    finally:
        undeploy_llm(APP)


def real_calls(evs: list[dict]) -> list[str]:
    return [e["id"] for e in evs if e["type"] == "model.usage" and e["actor"] == f"agent:{REAL}-1"]


def test_story_finishes_when_the_model_replica_is_killed_mid_call(model_stack, client, sample_git):
    stack, sid = model_stack, "fault-llm"
    [replica] = until(lambda: pids_titled(TITLE), 120, "the model replica's process")
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
                po["final"] = approve_all_until_done(own, stack, [sid], timeout=900)
        except BaseException as exc:  # reported below
            po["error"] = exc

    thread = threading.Thread(target=run_po, daemon=True)
    thread.start()

    def answering() -> bool:
        # Ray titles a replica process after the request it runs (`...handle_request...`).
        return "handle_request" in " ".join(proctree.cmdline(replica))

    until(answering, 300, "the replica to answer a council call", every=0.05)
    before = events(client, stack, sid)
    assert not any(e["type"] in ("council.result", "story.done") for e in before)
    sigkill(replica)
    until(lambda: [p for p in pids_titled(TITLE) if p != replica], 240, "Serve to restart it")

    thread.join(timeout=900)
    assert "error" not in po, po["error"]
    assert_clean_finish(client, stack, sid, [e["id"] for e in before])
    after = events(client, stack, sid)
    served_later = set(real_calls(after)) - set(real_calls(before))
    assert served_later, "no call of the real-model member was answered after the kill"
    assert not any(e["type"] == "story.parked" and e["data"].get("gate") == "error" for e in after)
