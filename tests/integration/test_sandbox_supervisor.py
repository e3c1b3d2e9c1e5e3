"""The supervisor actor on a real local Ray cluster, auditing into the real Redis event log."""

from __future__ import annotations

import time
import uuid

import pytest

from actors.sandbox import AuditLog, build_supervisor
from fleet.config import PhaseRules, load
from fleet.contracts import RunContext, TaskSpec

NS = "swe-fleet-test"


def _policy():
    base = load("policy.yaml")
    roles = dict(base.roles)
    roles["tester"] = {
        "build": PhaseRules(allow=(("sleep",), ("true",), ("sh",)), allow_shell=True)
    }
    roles["tester2"] = roles["tester"]  # no quota: limited only by the global concurrency of 2
    return base.model_copy(update={"roles": roles})


@pytest.fixture(scope="module")
def sup(ray_cluster, redis_url):
    prefix = f"t{uuid.uuid4().hex[:6]}"
    handle = build_supervisor(
        f"sandbox-{prefix}",
        namespace=NS,
        concurrency=2,
        quotas={"tester": 1},
        policy=_policy(),
        audit=AuditLog(redis_url=redis_url, prefix=prefix),
    )
    yield ray_cluster, handle, prefix
    ray_cluster.kill(handle)


def spec(cmd, *, role="tester", story="s-sup", timeout=30.0):
    return TaskSpec(
        id=f"{cmd[0]}-{uuid.uuid4().hex[:6]}",
        cmd=tuple(cmd),
        timeout_s=timeout,
        context=RunContext(story_id=story, role=role, phase="build"),
    )


def test_health_and_audit(sup, redis_url):
    ray, handle, prefix = sup
    health = ray.get(handle.check_health.remote())
    assert health["ok"] and health["concurrency"] == 2
    s = spec(["true"])
    r = ray.get(handle.run.remote(s))
    assert r.status == "passed"
    from fleet.adapters.redis_events import RedisEventLog

    events = [
        e
        for _, e in RedisEventLog(redis_url, prefix=prefix).read("s-sup")
        if e.data.get("spec_id") == s.id or getattr(e.payload, "spec_id", None) == s.id
    ]
    assert [e.type for e in events] == ["policy.decision", "sandbox.run"]
    denied = ray.get(handle.run.remote(spec(["curl", "x"])))
    assert denied.status == "denied"


def test_role_quota_serialises_and_concurrency_allows_two(sup):
    ray, handle, _ = sup
    t0 = time.monotonic()
    ray.get([handle.run.remote(spec(["sleep", "0.6"])) for _ in range(2)])  # quota tester=1
    serial = time.monotonic() - t0
    t0 = time.monotonic()
    ray.get([handle.run.remote(spec(["sleep", "0.6"], role=r)) for r in ("tester", "tester2")])
    parallel = time.monotonic() - t0
    t0 = time.monotonic()
    results = ray.get([handle.run.remote(spec(["sleep", "0.6"], role="tester2")) for _ in range(3)])
    three = time.monotonic() - t0
    assert all(r.status == "passed" for r in results)
    assert serial >= 1.2  # tester's quota of 1 serialises its runs
    assert parallel < 1.0  # two roles with room run side by side
    assert 1.2 <= three < 1.8  # the global limit of 2: three runs take two waves


def test_cancel_queued_and_running(sup):
    ray, handle, _ = sup
    specs = {s.id: s for s in (spec(["sleep", "20"]), spec(["sleep", "20"]))}
    futures = {sid: handle.run.remote(s) for sid, s in specs.items()}
    deadline = time.monotonic() + 10
    h = {}
    while time.monotonic() < deadline:
        h = ray.get(handle.check_health.remote())
        if len(h["running"]) == 1 and len(h["queued"]) == 1:
            break
        time.sleep(0.05)
    running, queued = h["running"][0], h["queued"][0]
    assert ray.get(handle.cancel.remote(queued)) is True
    r = ray.get(futures[queued], timeout=5)
    assert (r.status, r.reason) == ("killed", "cancelled while queued")
    t0 = time.monotonic()
    assert ray.get(handle.cancel.remote(running)) is True
    r = ray.get(futures[running], timeout=5)
    assert (r.status, r.reason) == ("killed", "cancelled")
    assert time.monotonic() - t0 < 3
    assert ray.get(handle.check_health.remote())["running"] == []


def test_survives_a_crashed_run_and_a_killed_process(sup, tmp_path):
    ray, handle, _ = sup
    from fleet.errors import SandboxUnavailable

    broken = spec(["true"]).model_copy(update={"workspace": str(tmp_path / "missing")})
    with pytest.raises(SandboxUnavailable):
        ray.get(handle.run.remote(broken))
    crash = ray.get(handle.run.remote(spec(["sh", "-c", "kill -SEGV $$"])))
    assert crash.status == "killed" and "SIGSEGV" in crash.reason
    assert ray.get(handle.run.remote(spec(["true"]))).status == "passed"
    ray.kill(handle, no_restart=False)  # the actor process dies; max_restarts brings it back
    deadline = time.monotonic() + 60
    while True:
        try:
            after = ray.get(handle.run.remote(spec(["true"])), timeout=30)
            assert after.status == "passed", (
                after.status,
                after.limit_hit,
                after.reason,
                after.stderr[-500:],
            )
            break
        except ray.exceptions.RayActorError:
            assert time.monotonic() < deadline
            time.sleep(0.5)


def test_a_run_cut_short_by_the_supervisors_death_runs_again_on_the_restarted_one(sup):
    """The caller (as the fleet finds it: by name) gets the result of the run repeated on the
    restarted supervisor, not a RayActorError: the story's step is not thrown away."""
    from actors.builder import lookup

    ray, handle, prefix = sup
    named = lookup(f"sandbox-{prefix}", NS)
    running = spec(["sh", "-c", "sleep 4"])
    queued = spec(["true"])  # the same role, quota 1: it waits behind the running one
    futures = [named.run.remote(running)]
    deadline = time.monotonic() + 30
    while running.id not in ray.get(named.check_health.remote())["running"]:
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.1)
    futures.append(named.run.remote(queued))  # sent only once the first holds the quota
    ray.kill(handle, no_restart=False)  # the actor process dies mid-run
    results = ray.get(futures, timeout=120)
    assert [r.status for r in results] == ["passed", "passed"], [
        (r.status, r.reason) for r in results
    ]
    assert results[0].duration_s >= 4.0  # it ran whole, on the restarted supervisor
    assert ray.get(named.check_health.remote())["done"] == 2  # the new process ran both
