"""The PO's no is its own event type (``story.rejected``); older logs (``story.approved`` with
approved=False) still read the same everywhere."""

from __future__ import annotations

from cluster.cli.progress import describe
from fleet import events
from fleet.contracts import FleetEvent
from fleet.memory.graph_ops import NodeOp, ops_for
from fleet.orchestrator import commands
from fleet.orchestrator.view import fold
from fleet.progress import fold as progress
from tests.unit.test_orchestrator import GOOD, drive, setup


def _parked_at_design():
    log, clock, lifecycle, services = setup()
    commands.create_story(log, GOOD, clock=clock)
    drive(log, clock, lifecycle, services)
    commands.approve(log, "s1", gate="scope", approved=True, note=commands.PoNote(by="po"), clock=clock)  # fmt: skip
    view = drive(log, clock, lifecycle, services)
    assert view.parked.gate == "design"
    return log, clock, lifecycle, services


def test_a_rejection_is_recorded_as_story_rejected_and_sends_the_design_back():
    log, clock, lifecycle, services = _parked_at_design()
    note = commands.PoNote(by="po", comment="two tasks for one behaviour")
    event = commands.approve(log, "s1", gate="design", approved=False, note=note, clock=clock)
    assert event.type == "story.rejected", event
    typed = events.typed(event)
    assert isinstance(typed, events.StoryRejected)
    assert (typed.gate, typed.by, typed.comment) == ("design", "po", "two tasks for one behaviour")
    view = fold(log.read("s1"))
    assert view.approvals == {"design": False} and view.parked is None
    assert "two tasks for one behaviour" in view.comments
    view = drive(log, clock, lifecycle, services)
    assert view.transitions[-1][1] == "DRAFT", view.transitions
    # a yes is still story.approved
    commands.approve(log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock)  # fmt: skip
    assert [e.type for _, e in log.read("s1")][-1] == "story.approved"


def _answer(type_: str, **data) -> FleetEvent:
    return FleetEvent(id=f"s:{type_}", story_id="s", type=type_, at_ms=5, data=data)


OLD = _answer("story.approved", gate="design", by="po", approved=False, comment="no")
NEW = _answer("story.rejected", gate="design", by="po", approved=False, comment="no")
BARE = _answer("story.rejected", gate="design", by="po", comment="no")  # no approved key


def _parked() -> FleetEvent:
    return FleetEvent(id="s:p", story_id="s", type="story.parked", at_ms=1,
                      data={"gate": "design", "reason": "plan ready"})  # fmt: skip


def test_an_old_log_folds_its_rejection_like_the_new_type():
    for answer in (OLD, NEW, BARE):
        view = fold([("1-0", _parked()), ("2-0", answer)])
        assert view.approvals == {"design": False} and view.parked is None, answer.type
        assert view.comments == ["no"]


def test_the_graph_records_both_as_a_rejected_approval():
    for answer in (OLD, NEW, BARE):
        (node,) = [op for op in ops_for(answer) if isinstance(op, NodeOp)]
        assert node.label == "Approval" and node.props["approved"] is False, answer
    yes = _answer("story.approved", gate="scope", by="po")  # older yes without the key
    (node,) = [op for op in ops_for(yes) if isinstance(op, NodeOp)]
    assert node.props["approved"] is True


def test_progress_lines_say_the_po_rejected_with_the_comment():
    line = describe(NEW.model_dump())
    assert line == "  PO REJECTED design: no", line
    assert describe(OLD.model_dump()) == "  PO REJECTED design"
    assert progress([_parked(), NEW], now_ms=10).now == "the PO rejected the design gate"
    assert progress([_parked(), OLD], now_ms=10).now == "the PO rejected the design gate"


def test_the_event_types_know_story_rejected():
    assert events.TYPES["story.rejected"] is events.StoryRejected
