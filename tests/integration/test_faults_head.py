"""Head restart, for real, on a private `fleet up --model scripted` stack (own ports, data dir,
Ray head with token auth; every part real except the chat model).

1. Crash: with stories in flight, every process of the Ray head's session (GCS, raylet,
   dashboard, Serve, the orchestrator/council/agent/sandbox workers) and redis-server are
   SIGKILLed at once; `fleet up` brings the stack back (AOF replay, a fresh head, the apps).
2. Graceful: with a story in flight, `fleet down` then `fleet up`; `fleet follow --auto-approve`
   (the real CLI), attached while the stack goes down, must follow the story across the
   restart (one waiting line), approve its last gate and exit 0.

After each `up` every story resumes from its timeline and finishes on the exact FSM path;
every event seen before the fault is still there and none is stored twice. In the crash, the
PO is a thread approving gates through the API the whole time (it polls again while the API is
down).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fault_tools import (
    approve_all_until_done,
    assert_clean_finish,
    events,
    fleet_cli,
    private_stack_env,
    sigkill,
    story,
    until,
)
from fleet_stack import Stack

from cluster import proctree
from fleet.orchestrator.sample import SAMPLE_STORY

pytestmark = pytest.mark.slow
UP = ("up", "--model", "scripted")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, client):
    tmp = tmp_path_factory.mktemp("head")
    env = private_stack_env(tmp)
    rc, out = fleet_cli(env, *UP)
    try:
        assert rc == 0 and "started: redis+falkordb, ray head, serve apps" in out, out
        data = Path(env["FLEET_DATA_DIR"])
        tokens = json.loads((data / "tokens.json").read_text())
        api = Stack(f"http://127.0.0.1:{env['FLEET_GATEWAY_PORT']}", tokens, "", "", "", "")
        from cluster.cli.stories import sample_repo

        yield {"env": env, "data": data, "api": api, "repo": str(sample_repo(str(tmp / "repo")))}
    finally:
        rc, out = fleet_cli(env, "down")
        assert rc == 0, out


def submit(client, api, repo: str, sid: str) -> None:
    r = client.post(
        f"{api.base_url}/stories",
        json={**SAMPLE_STORY, "id": sid, "repo": repo},
        headers=api.headers(),
    )
    assert r.is_success, r.text


def po_thread(api, ids: list[str], result: dict) -> threading.Thread:
    def run() -> None:
        import httpx

        try:
            with httpx.Client(timeout=30.0) as own:
                result["final"] = approve_all_until_done(own, api, ids, timeout=600)
        except BaseException as exc:  # reported by the test
            result["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def in_flight(client, api, ids: list[str]) -> dict[str, list[str]] | None:
    """Every story's event ids once one of them is in its council and none has finished."""
    timelines = {sid: events(client, api, sid) for sid in ids}
    types = {sid: {e["type"] for e in evs} for sid, evs in timelines.items()}
    if any("story.done" in t for t in types.values()):
        raise AssertionError("a story finished before the fault: nothing was in flight")
    if any("council.proposal" in t for t in types.values()):
        return {sid: [e["id"] for e in evs] for sid, evs in timelines.items()}
    return None


def po_to_council(client, api, sid: str) -> dict[str, list[str]] | None:
    """Approve the story's scope and design; its event ids once it is in its council."""
    parked = (story(client, api, sid)["parked"] or {}).get("gate")
    if parked in ("scope", "design"):
        client.post(f"{api.base_url}/stories/{sid}/approvals", json={"approved": True},
                    headers=api.headers())  # fmt: skip
    return in_flight(client, api, [sid])


def gateway_answers(client, api) -> bool:
    try:
        return bool(client.get(f"{api.base_url}/healthz", timeout=2.0).status_code == 200)
    except Exception:  # refused, reset, timed out: not answering
        return False


def crash_stack(data: Path) -> None:
    """SIGKILL the Ray head's whole session and redis-server, as a crashed machine would."""
    head = int((data / "ray" / "head.pid").read_text())
    redis = int((data / "graph" / "redis.pid").read_text())
    victims = proctree.members(head) | {redis}
    assert len(victims) > 5, victims  # gcs, raylet, dashboard, workers, redis...
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):  # a short-lived child already gone
            sigkill(pid)
    until(lambda: not [p for p in victims if proctree.alive(p)], 30, "the stack to die")


def test_stories_resume_after_a_crashed_and_a_restarted_head(fleet, client):
    env, api, repo = fleet["env"], fleet["api"], fleet["repo"]
    ids = ["head-a", "head-b"]
    for sid in ids:
        submit(client, api, repo, sid)
    po: dict = {}
    thread = po_thread(api, ids, po)
    before = until(lambda: in_flight(client, api, ids), 240, "a story in its council")

    crash_stack(fleet["data"])
    rc, out = fleet_cli(env, *UP)
    assert rc == 0 and "started: redis+falkordb, ray head, serve apps" in out, out
    thread.join(timeout=600)
    assert "error" not in po, po["error"]
    for sid in ids:
        assert_clean_finish(client, api, sid, before[sid])

    # Graceful: `fleet down` / `fleet up` with a story in flight, and the real CLI (`fleet
    # follow --auto-approve`: the PO from then on) attached while the stack goes down. It must
    # ride through: nothing listens, then Serve's proxy answers 404 until the gateway deploys.
    submit(client, api, repo, "head-d")
    before = until(lambda: po_to_council(client, api, "head-d"), 240, "story d in its council")
    down = subprocess.Popen([sys.executable, "-m", "cluster.cli", "down"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    until(lambda: not gateway_answers(client, api), 120, "the gateway to stop answering")
    follower = subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", "follow", "head-d", "--auto-approve"],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out, _ = down.communicate(timeout=300)
    assert down.returncode == 0 and "stopped: serve apps, ray head, redis+falkordb" in out, out
    rc, out = fleet_cli(env, *UP)
    assert rc == 0 and "started: redis+falkordb, ray head, serve apps" in out, out
    try:
        followed, _ = follower.communicate(timeout=600)
    finally:
        follower.kill()
    assert follower.returncode == 0, followed
    assert "outcome: done (state DONE" in followed, followed
    assert followed.count("waiting for the fleet") == 1, followed
    assert_clean_finish(client, api, "head-d", before["head-d"])
