"""Context service against the real local Redis + FalkorDB, the real tokenizer and a real Ray cluster."""

from __future__ import annotations

import time
import uuid

import pytest

from actors.context import ContextService, build_context_service
from fleet.adapters.falkordb_graph import FalkorDecisionGraph
from fleet.adapters.gguf_tokenizer import GGUFTokenizer
from fleet.adapters.redis_events import RedisEventLog
from fleet.config import load
from fleet.context import ContextBuilder, ContextEngine
from fleet.context.compress import measure
from fleet.context.synthetic import synthetic_story
from fleet.contracts import Decision, FleetEvent, Story, TaskResult


@pytest.fixture(scope="module")
def tok() -> GGUFTokenizer:
    return GGUFTokenizer()


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"ctx{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def log(redis_url, prefix):
    lg = RedisEventLog(redis_url, prefix=prefix)
    yield lg
    lg.close()


@pytest.fixture(scope="module")
def long_story(log):
    s = synthetic_story(2500, story_id=f"long-{uuid.uuid4().hex[:6]}")
    log.append_many(s.events)
    return s


def _engine(log, tok, graph=None) -> ContextEngine:
    return ContextEngine(log, ContextBuilder(load("scopes.yaml"), tok), graph=graph)


def test_scopes_budgets_and_isolation_on_real_redis(log, tok, long_story):
    intruder = f"other-{uuid.uuid4().hex[:6]}"
    log.append(FleetEvent(id=f"{intruder}:c", story_id=intruder, type="story.created", at_ms=1,
                          payload=Story(id=intruder, title="INTRUDER-TITLE", acceptance_criteria=("INTRUDER-AC",))))  # fmt: skip
    engine = _engine(log, tok)
    scopes = load("scopes.yaml").scopes
    for role, phases in scopes.items():
        for phase, scope in phases.items():
            pack = engine.pack(long_story.story_id, role, phase, "T3")
            assert {s.name for s in pack.sections} <= set(scope.sections)
            assert tok.count(pack.render()) == pack.token_count <= scope.budget_tokens
            assert "INTRUDER" not in pack.render()
    qa = engine.pack(long_story.story_id, "qa", "test").render()
    assert "FAILING tests/test_orders.py::test_case_00" in qa and "## deliberation" not in qa
    devops = engine.pack(long_story.story_id, "devops", "design").render()
    assert (
        "deployment decision" in devops
        and "data decision" not in devops
        and "test decision" not in devops
    )


def test_compression_and_fact_retention_on_real_redis(log, tok, long_story):
    pack = _engine(log, tok).pack(long_story.story_id, "developer", "build", "T1")
    report = measure(long_story.events, pack, long_story.facts.all(), tok)
    assert report.ratio >= 0.60 and report.retention == 1.0, report


def test_cache_is_invalidated_by_a_new_event_of_that_story_only(log, tok, long_story):
    engine = _engine(log, tok)
    sid = long_story.story_id
    first = engine.pack(sid, "qa", "test")  # built by an earlier test: may come from Redis already
    builds = engine.stats["builds"]
    assert engine.pack(sid, "qa", "test") == first and engine.stats["builds"] == builds
    other = f"unrelated-{uuid.uuid4().hex[:6]}"
    log.append(
        FleetEvent(
            id=f"{other}:c",
            story_id=other,
            type="story.created",
            at_ms=1,
            payload=Story(id=other, title="x"),
        )
    )
    assert (
        engine.pack(sid, "qa", "test") == first and engine.stats["builds"] == builds
    )  # other stories: no effect
    run = TaskResult(spec_id="run-new", status="failed", exit_code=1,
                     stdout="FAILED tests/test_orders.py::test_brand_new - KeyError: 'sku'")  # fmt: skip
    log.append(FleetEvent(id=f"{sid}:run-new", story_id=sid, type="sandbox.run", at_ms=2, payload=run,
                          data={"argv": ["pytest"], "task_id": "T1"}))  # fmt: skip
    after = engine.pack(sid, "qa", "test")
    assert (
        engine.stats["builds"] == builds + 1
        and "test_brand_new" in after.render()
        and "test_brand_new" not in first.render()
    )


def test_a_new_engine_rehydrates_from_redis_alone(log, tok, long_story):
    a = _engine(log, tok)
    pack = a.pack(long_story.story_id, "architect", "design")
    b = _engine(log, tok)  # a restarted service: empty memory, same Redis
    assert b.pack(long_story.story_id, "architect", "design") == pack
    assert b.stats == {"hits": 1, "builds": 0, "events_folded": 0}


def test_decisions_known_only_to_the_graph_reach_the_pack(redis_url, log, tok, prefix):
    graph = FalkorDecisionGraph(redis_url, graph=f"{prefix}-graph")
    sid = f"aged-{uuid.uuid4().hex[:6]}"
    created = FleetEvent(
        id=f"{sid}:c",
        story_id=sid,
        type="story.created",
        at_ms=1,
        payload=Story(id=sid, title="aged"),
    )
    old = Decision(id=f"{sid}-D1", story_id=sid, what="Keep the legacy CSV export for finance",
                   decided_by=("architect-1",), why="finance depends on it", at_ms=5)  # fmt: skip
    graph.project(created)
    graph.project(
        FleetEvent(id=f"{sid}:d", story_id=sid, type="decision.made", at_ms=5, payload=old)
    )
    log.append(created)  # the timeline kept only the story, the decision survives in the graph
    text = _engine(log, tok, graph).pack(sid, "architect", "draft").render()
    assert "Keep the legacy CSV export for finance" in text and "architect-1" in text
    graph.close()


def test_actor_survives_a_kill_and_serves_the_same_pack_from_storage(
    ray_cluster, redis_url, prefix, long_story
):
    ray = ray_cluster
    name = f"context-{uuid.uuid4().hex[:6]}"
    actor = build_context_service(
        redis_url, name=name, namespace="swe-fleet-test", graph=None, prefix=prefix
    )
    try:
        assert ray.get(actor.check_health.remote())["ok"] is True
        before = ray.get(actor.pack.remote(long_story.story_id, "developer", "build", "T2"))
        pid = ray.get(actor.stats.remote())["pid"]
        ray.kill(actor, no_restart=False)  # the actor restarts (max_restarts=-1) with empty memory
        deadline = time.monotonic() + 60
        while (
            ray.get(actor.stats.remote())["pid"] == pid
        ):  # kill is asynchronous: wait for the new process
            assert time.monotonic() < deadline, "actor did not restart"
            time.sleep(0.2)
        after = ray.get(actor.pack.remote(long_story.story_id, "developer", "build", "T2"))
        assert after == before
        stats = ray.get(actor.stats.remote())
        assert stats["pid"] != pid and (stats["hits"], stats["builds"], stats["events_folded"]) == (
            1,
            0,
            0,
        )
    finally:
        ray.kill(actor, no_restart=True)


def test_service_plain_class_reports_health(redis_url, prefix):
    svc = ContextService(redis_url, graph="ctx-health", prefix=prefix)
    health = svc.check_health()
    assert health == {
        "ok": True,
        "redis": True,
        "graph": True,
        "tokenizer": "qwen2.5-coder-0.5b-instruct",  # the default model's own
    }
    down = ContextService("redis://127.0.0.1:1", graph=None, prefix=prefix).check_health()
    assert down["ok"] is False and down["redis"] is False


def test_concurrent_first_calls_build_one_engine(redis_url, prefix):
    """After a restart several packs arrive at once: one engine (one tokenizer load, one event
    log) serves them all."""
    import threading

    svc = ContextService(redis_url, graph=None, prefix=prefix)
    builds: list[int] = []
    build = svc._build

    def counted():
        builds.append(1)
        time.sleep(0.3)  # a slow build: the other threads arrive meanwhile
        return build()

    svc._build = counted
    threads = [threading.Thread(target=svc.start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(builds) == 1 and svc._engine is not None
    assert svc.check_health()["ok"] is True
