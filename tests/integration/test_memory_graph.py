"""Projection, decision queries, report and rehydration against the real FalkorDB server."""

from __future__ import annotations

import json
import uuid

import pytest

from cluster.graphserver import free_port
from fleet.adapters.falkordb_graph import FalkorDecisionGraph
from fleet.adapters.redis_events import RedisEventLog
from fleet.contracts import Decision
from fleet.errors import NotFound, StorageUnavailable
from fleet.events import make_event
from fleet.memory import Projector, Report, build_report, rehydrate, report_markdown
from fleet.testing.fakes import FakeClock
from fleet.testing.sample_timeline import sample_story


@pytest.fixture
def log(redis_url, tmp_path):
    log = RedisEventLog(
        redis_url, prefix=f"t{uuid.uuid4().hex[:8]}", archive_dir=tmp_path / "archive"
    )
    yield log
    log.close()


def _graph(redis_url) -> FalkorDecisionGraph:
    g = FalkorDecisionGraph(redis_url, graph=f"g{uuid.uuid4().hex[:8]}")
    g.ensure_schema()
    return g


@pytest.fixture
def graph(redis_url):
    g = _graph(redis_url)
    yield g
    g._graph.delete()
    g.close()


@pytest.fixture
def stories(log):
    clock = FakeClock()
    events = sample_story("s1", clock=clock, tasks=3, finished=2) + sample_story(
        "s2", clock=clock, tasks=2
    )
    log.append_many(events)
    return events


def test_replaying_the_stream_twice_leaves_the_graph_identical(log, graph, stories):
    assert Projector(log, graph, group="p1").catch_up() == len(stories)
    once = graph.dump()
    assert len(once["nodes"]) > 50 and len(once["edges"]) > 100
    assert Projector(log, graph, group="p2").catch_up() == len(stories)  # a second full replay
    assert graph.dump() == once
    for ev in stories:  # and one event at a time, in a different batching
        graph.project(ev)
    assert graph.dump() == once


def test_projector_crash_mid_stream_loses_and_duplicates_nothing(log, graph, redis_url, stories):
    reference = _graph(redis_url)
    try:
        Projector(log, reference, group="ref").catch_up()
        crashed = Projector(log, graph, group="proj", consumer="p-1", batch=25)
        crashed.step()
        # crash: the next batch is read and partly projected but never acknowledged
        entries = log.read_group("proj", "p-1", count=25)
        graph.project_many([ev for _, ev in entries[:10]])
        del crashed
        restarted = Projector(
            RedisEventLog(redis_url, prefix=log.prefix), graph, group="proj", consumer="p-1"
        )
        assert restarted.catch_up() == len(stories) - 25  # the unacked 25 come back, then the rest
        assert log.pending("proj") == 0
        assert graph.dump() == reference.dump()
    finally:
        reference._graph.delete()


def test_decisions_say_who_what_when_why_and_rejected_alternatives(log, graph, stories):
    Projector(log, graph).catch_up()
    decisions = graph.decisions("s1")
    assert [d["task_id"] for d in decisions] == ["s1-t1", "s1-t2"]
    d = decisions[0]
    source = next(
        e.payload for e in stories if isinstance(e.payload, Decision) and e.payload.id == d["id"]
    )
    assert (d["what"], d["why"], d["at_ms"]) == (source.what, source.why, source.at_ms)
    assert d["decided_by"] == list(source.decided_by)
    assert sorted(a["proposal_id"] for a in d["alternatives"]) == sorted(
        a.proposal_id for a in source.alternatives
    )
    assert all(a["why_rejected"] == "fewer votes" and a["author"] for a in d["alternatives"])
    assert graph.decisions("unknown") == []


def test_a_newer_decision_supersedes_the_previous_one(log, graph, stories):
    Projector(log, graph).catch_up()
    clock = FakeClock(start_ms=1_800_000_000_000)
    old = graph.decisions("s1")[0]
    newer = Decision(
        id="s1-t1-decision-2",
        story_id="s1",
        task_id="s1-t1",
        what="switch to token bucket",
        decided_by=("architect-1",),
        why="simpler",
        at_ms=clock.now_ms(),
    )
    log.append(make_event("s1", "decision.made", clock=clock, payload=newer))
    Projector(log, graph).catch_up()
    by_id = {d["id"]: d for d in graph.decisions("s1")}
    assert by_id[old["id"]]["superseded_by"] == [newer.id]
    assert by_id[newer.id]["superseded_by"] == []


def test_report_for_a_story_with_several_deliberations(log, graph, stories):
    Projector(log, graph).catch_up()
    report = build_report(log, graph, "s1")
    assert [d["id"] for d in report.deliberations] == [
        "s1-t1-council",
        "s1-t2-council",
        "s1-t3-council",
    ]
    done = report.deliberations[0]
    assert done["winner"] == "s1-t1-council-developer-1-r1"
    winner = next(p for p in done["proposals"] if p["id"] == done["winner"])
    assert winner["first_choice_votes"] == 3 and winner["evidence_passed"] is True
    assert len(done["ballots"]) == 3 and len(done["critiques"]) == 1
    assert [t["id"] for t in report.plan] == ["s1-t1", "s1-t2", "s1-t3"]
    assert [x["status"] for x in report.executions] == ["passed", "passed"]
    assert [g["verdict"] for g in report.gates] == ["pass", "pass"]
    assert len(report.timeline) == sum(1 for e in stories if e.story_id == "s1")
    assert (
        Report.model_validate_json(report.model_dump_json()) == report
    )  # the JSON form round-trips
    md = report_markdown(report)
    for needle in (
        "# Story `s1`",
        "## Plan",
        "### Deliberation `s1-t2-council`",
        "**winner: `s1-t2-council-developer-1-r1`**",
        "rejected `s1-t1-council-qa-1-r1`",
        "| `s1-t1-run` | developer | pytest -q | passed | 0 |",
        "| s1-t2 | 1 | L1 | 88.0 | pass |",
        "`story.transition`",
        "after `s1-t1`",
    ):
        assert needle in md, needle
    json.dumps(report.model_dump())


def test_report_before_projection_shows_the_timeline(log, graph, stories):
    report = build_report(log, graph, "s2")
    assert report.projected is False and report.story["id"] == "s2" and report.timeline
    assert "not projected" in report_markdown(report)


def test_rehydration_equals_state_before_restart(log, graph, redis_url, stories, tmp_path):
    Projector(log, graph).catch_up()
    before = rehydrate(log, graph, "s1")
    # what the live orchestrator knew: BUILD, task 3 open mid-council in round 0, two gate attempts
    assert before.state == "BUILD" and before.story.state == "BUILD"
    assert [t.id for t in before.open_tasks] == ["s1-t3"] and before.done_tasks == (
        "s1-t1",
        "s1-t2",
    )
    assert (before.last_deliberation, before.last_round, before.last_deliberation_done) == (
        "s1-t3-council",
        0,
        False,
    )
    assert before.parked_gate is None and before.attempts == 2 and before.decisions == 2
    # restart: fresh clients; part of the timeline has aged out into the Parquet archive
    log.trim("s1", keep=5)
    fresh_log = RedisEventLog(redis_url, prefix=log.prefix, archive_dir=tmp_path / "archive")
    fresh_graph = FalkorDecisionGraph(redis_url, graph=graph.name)
    assert rehydrate(fresh_log, fresh_graph, "s1") == before
    assert (
        build_report(fresh_log, fresh_graph, "s1").timeline
        == build_report(log, graph, "s1").timeline
    )


def test_parked_story_rehydrates_parked(log, graph):
    clock = FakeClock()
    events = sample_story("s3", clock=clock, tasks=1, finished=0)[
        :3
    ]  # created, scored, parked at scope
    log.append_many(events)
    state = rehydrate(log, graph, "s3")
    assert (state.state, state.parked_gate) == ("DRAFT", "scope")


def test_unknown_story_is_a_clear_not_found(log, graph):
    for call in (
        lambda: rehydrate(log, graph, "ghost"),
        lambda: build_report(log, graph, "ghost"),
        lambda: graph.story_graph("ghost"),
        lambda: log.trim("ghost"),
    ):
        with pytest.raises(NotFound) as err:
            call()
        assert "ghost" in str(err.value)


def test_graph_down_is_a_typed_error_naming_the_url():
    url = f"redis://127.0.0.1:{free_port()}/0"
    g = FalkorDecisionGraph(url, graph="x", timeout_s=1)
    for call in (
        g.ensure_schema,
        lambda: g.decisions("s"),
        lambda: g.project_many(sample_story("s", clock=FakeClock())),
    ):
        with pytest.raises(StorageUnavailable) as err:
            call()
        assert url in str(err.value) and "FalkorDB" in str(err.value)
    assert g.ping() is False


def test_a_graph_nothing_was_written_to_reads_as_empty(log, redis_url):
    """FalkorDB has no key for a graph before its first write; reads must not crash on it."""
    g = FalkorDecisionGraph(redis_url, graph=f"never-{uuid.uuid4().hex[:8]}")
    try:
        with pytest.raises(NotFound):
            g.story_graph("s-empty")
        assert g.decisions("s-empty") == [] and g.dump() == {"nodes": [], "edges": []}
        log.append_many(sample_story("s-empty", clock=FakeClock(), tasks=1, finished=0)[:3])
        report = build_report(log, g, "s-empty")
        assert report.projected is False and report.timeline[0].type == "story.created"
    finally:
        g.close()
