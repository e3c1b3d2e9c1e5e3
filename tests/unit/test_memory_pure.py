"""Pure memory logic: event -> graph ops, statement compilation, fold, plan order, report text."""

from __future__ import annotations

import pytest

from fleet.adapters.cypher import SUPERSEDE_OLDER, UPSERT_EDGES, compile_ops
from fleet.contracts import Decision, FleetEvent
from fleet.errors import NotFound
from fleet.events import TYPES, make_event
from fleet.memory import Report, report_markdown, story_status
from fleet.memory.graph_ops import (
    LABELS,
    RELS,
    EdgeOp,
    NodeOp,
    SupersedeOp,
    clean,
    ops_for,
    ops_for_all,
)
from fleet.memory.graph_read import group_decisions, topo_order
from fleet.testing.fakes import FakeClock
from fleet.testing.sample_timeline import sample_story


def test_every_op_uses_the_fixed_vocabulary_and_graph_safe_values():
    ops = ops_for_all(sample_story("s1", clock=FakeClock(), finished=2))
    assert {op.label for op in ops if isinstance(op, NodeOp)} <= set(LABELS)
    assert {op.rel for op in ops if isinstance(op, EdgeOp)} >= {
        "HAS_TASK",
        "DEPENDS_ON",
        "PROPOSED",
        "CRITIQUED",
        "VOTED_FOR",
        "DECIDED",
        "REJECTED",
        "EXECUTED",
        "WON_BY",
    }
    assert {op.rel for op in ops if isinstance(op, EdgeOp)} <= set(RELS)
    for op in ops:
        props = op.props if isinstance(op, (NodeOp, EdgeOp)) else {}
        for value in props.values():
            assert value is not None and not isinstance(value, (dict, tuple))


def test_decision_maps_to_who_why_and_rejected_alternatives():
    clock = FakeClock()
    events = sample_story("s1", clock=clock, tasks=1)
    ev = next(e for e in events if e.type == "decision.made")
    ops = ops_for(ev)
    node = next(op for op in ops if isinstance(op, NodeOp) and op.label == "Decision")
    assert node.props["why"] == ev.payload.why and node.props["decided_by"] == list(
        ev.payload.decided_by
    )
    rejected = [op for op in ops if isinstance(op, EdgeOp) and op.rel == "REJECTED"]
    assert {op.dst_id for op in rejected} == {a.proposal_id for a in ev.payload.alternatives}
    assert SupersedeOp(ev.payload.id, "s1-t1") in ops


def test_compile_dedupes_rows_and_creates_edge_endpoints_first():
    ops = [
        NodeOp("Story", "s", {"a": 1}),
        NodeOp("Story", "s", {"a": 2, "b": 3}),
        EdgeOp("HAS_TASK", "Story", "s", "Task", "t", {}),
        EdgeOp("HAS_TASK", "Story", "s", "Task", "t", {"x": 1}),
        SupersedeOp("d", "t"),
    ]
    stmts = compile_ops(ops)
    rows = {s: p["rows"] for s, p in stmts}
    story = next(r for s, r in rows.items() if ":Story" in s and "UNWIND $rows AS r MERGE (n" in s)
    assert story == [{"id": "s", "props": {"a": 2, "b": 3}}]
    assert any(":Task" in s and r == [{"id": "t", "props": {}}] for s, r in rows.items())
    edge = UPSERT_EDGES.format(rel="HAS_TASK", src="Story", dst="Task")
    assert rows[edge] == [{"a": "s", "b": "t", "props": {"x": 1}}]
    assert [s for s, _ in stmts].index(edge) > 1 and SUPERSEDE_OLDER in rows
    assert compile_ops([]) == []
    with pytest.raises(ValueError, match="not in the graph vocabulary"):
        compile_ops([NodeOp("Robert'); DROP", "x")])


def test_clean_flattens_maps_and_drops_none():
    assert clean({"a": None, "b": (1, 2), "c": {"z": 1}, "d": [{"k": 1}]}) == {
        "b": [1, 2],
        "c": '{"z": 1}',
        "d": ['{"k": 1}'],
    }


def test_fold_tracks_state_tasks_deliberation_round_and_parking():
    clock = FakeClock()
    events = sample_story("s1", clock=clock, tasks=3, finished=1)
    st = story_status(events)
    assert (st.state, [t.id for t in st.open_tasks], st.done_tasks) == (
        "BUILD",
        ["s1-t2", "s1-t3"],
        ("s1-t1",),
    )
    assert (st.last_deliberation, st.last_round, st.last_deliberation_done, st.attempts) == (
        "s1-t2-council",
        0,
        False,
        1,
    )
    parked = story_status(events[:3])
    assert (parked.state, parked.parked_gate) == ("DRAFT", "scope")
    assert story_status(events[:4]).parked_gate is None  # the PO approved the gate
    with pytest.raises(NotFound):
        story_status([make_event("x", "story.done", clock=clock)])


def test_topo_order_follows_dependencies_and_survives_cycles():
    tasks = [
        {"id": "c", "depends_on": ["a", "b"]},
        {"id": "b", "depends_on": ["a"]},
        {"id": "a", "depends_on": []},
    ]
    assert topo_order(tasks) == ["a", "b", "c"]
    assert topo_order([{"id": "x", "depends_on": ["y"]}, {"id": "y", "depends_on": ["x"]}]) == [
        "x",
        "y",
    ]


def test_group_decisions_orders_by_time_and_collects_alternatives():
    rows = [
        {"d": {"id": "d2", "at_ms": 2, "decided_by": ["a"]}, "alt": None},
        {
            "d": {"id": "d1", "at_ms": 1, "decided_by": ["b"]},
            "alt": "p2",
            "alt_author": "x",
            "summary": "s",
            "why_rejected": "w",
        },
        {
            "d": {"id": "d1", "at_ms": 1, "decided_by": ["b"]},
            "alt": "p1",
            "alt_author": "y",
            "summary": "s",
            "why_rejected": "w",
        },
    ]
    out = group_decisions(rows, [{"old": "d1", "new": "d2"}])
    assert [d["id"] for d in out] == ["d1", "d2"]
    assert [a["proposal_id"] for a in out[0]["alternatives"]] == ["p1", "p2"] and out[0][
        "superseded_by"
    ] == ["d2"]


def test_markdown_renders_every_section():
    report = Report(
        story={"id": "s", "title": "T", "state": "TEST"},
        decisions=(
            {
                "what": "use | pipes",
                "decided_by": ["a"],
                "why": "w",
                "at_ms": 0,
                "alternatives": [{"proposal_id": "p", "summary": "x", "why_rejected": "y"}],
            },
        ),
    )
    md = report_markdown(report)
    for needle in (
        "# Story `s`: T",
        "## Plan",
        "## Deliberations",
        "## Decisions",
        "use \\| pipes",
        "rejected `p`",
        "## Tool executions",
        "## Gate results",
        "## Timeline",
    ):
        assert needle in md


def test_every_event_type_is_known_to_the_projection():
    clock = FakeClock()
    for t in TYPES:  # none may crash the mapping, even bare (make_event would refuse these)
        ops_for(FleetEvent(id=f"s:{t}", story_id="s", type=t, at_ms=0))
    ev = make_event(
        "s",
        "decision.made",
        clock=clock,
        data={"supersedes": "old"},
        payload=Decision(id="d", story_id="s", what="w", decided_by=("a",), why="y"),
    )
    assert EdgeOp("SUPERSEDES", "Decision", "d", "Decision", "old", {}) in ops_for(ev)
