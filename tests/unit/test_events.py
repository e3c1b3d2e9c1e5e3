"""Typed events: one model per type, discriminated on ``type``; producers are checked as they emit."""

from __future__ import annotations

import typing

import pytest

from fleet import events as ev
from fleet.contracts import FleetEvent, Story
from fleet.errors import InvalidInput
from fleet.testing.fakes import FakeClock


def test_every_type_has_exactly_one_model():
    union = typing.get_args(typing.get_args(ev.Event)[0])  # every model in the Event union
    assert len(ev.TYPES) == len(set(ev.TYPES.values())) == len(union)
    assert set(ev.TYPES.values()) == set(union)
    for name, model in ev.TYPES.items():
        assert model.model_fields["type"].annotation.__args__ == (name,)  # type: ignore[union-attr]


def test_typed_reads_data_and_payload_as_fields():
    clock = FakeClock()
    moved = ev.make_event(
        "s1", "story.transition", clock=clock, data={"from": "DRAFT", "to": "DESIGN", "name": "x"}
    )
    t = ev.typed(moved)
    assert isinstance(t, ev.StoryTransition)
    assert (t.from_, t.to, t.name, t.by, t.story_id) == ("DRAFT", "DESIGN", "x", "", "s1")
    story = Story(id="s1", title="t")
    created = ev.typed(ev.make_event("s1", "story.created", clock=clock, payload=story))
    assert isinstance(created, ev.StoryCreated) and created.payload == story


def test_extra_data_keys_are_kept():
    e = ev.make_event(
        "s", "story.parked", clock=FakeClock(), data={"gate": "scope", "state": "DRAFT"}
    )
    parked = ev.typed(e)
    assert isinstance(parked, ev.StoryParked) and parked.model_extra == {"state": "DRAFT"}


def test_a_producer_that_forgets_a_field_fails_where_it_emits():
    with pytest.raises(InvalidInput, match=r"story.parked event .*: gate: Field required"):
        ev.make_event("s", "story.parked", clock=FakeClock(), data={"reason": "r"})
    with pytest.raises(InvalidInput, match="payload"):
        ev.make_event("s", "gate.result", clock=FakeClock(), data={"task_id": "T1"})
    with pytest.raises(ValueError, match="unknown event type 'story.exploded'"):
        ev.make_event("s", "story.exploded", clock=FakeClock())


def test_an_unknown_type_read_from_the_log_is_none_not_an_error():
    assert ev.typed(FleetEvent(id="x", story_id="s", type="other.thing", at_ms=0)) is None


def test_typed_events_are_frozen():
    e = ev.typed(ev.make_event("s", "story.done", clock=FakeClock(), data={"outcome": "done"}))
    with pytest.raises(ValueError, match="frozen"):
        e.outcome = "failed"  # type: ignore[union-attr,misc]


def test_the_view_keeps_the_delivery_without_its_diff():
    from fleet.orchestrator.view import fold

    clock = FakeClock()
    facts = {"delivered": True, "branch": "fleet/s", "repo": "/r", "commit": "ab12cd3",
             "diff": "diff --git a/x b/x\n", "push": "origin", "pushed": False,
             "push_error": "no remote named 'origin'"}  # fmt: skip
    rows = [
        ("1-0", ev.make_event("s", "story.created", clock=clock, payload=Story(id="s", title="t"))),
        ("2-0", ev.make_event("s", "story.delivered", clock=clock, data=facts)),
    ]
    view = fold(rows)
    assert view.delivery is not None and "diff" not in view.delivery
    assert view.delivery["branch"] == "fleet/s" and view.delivery["pushed"] is False
    assert view.delivery["push_error"] == "no remote named 'origin'"
