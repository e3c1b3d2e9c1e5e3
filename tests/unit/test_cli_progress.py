"""The CLI's progress lines: one table from event type to line, over typed events from SSE JSON."""

from __future__ import annotations

import json

from cluster.cli.gateway_client import LINES, describe
from fleet.contracts import GateResult, Story, WorkspaceReport
from fleet.events import TYPES, make_event
from fleet.fakes import FakeClock


def _wire(event) -> dict:
    return json.loads(event.model_dump_json())  # what the gateway's SSE frames carry


def test_every_line_is_for_a_known_event_type():
    assert set(LINES) <= set(TYPES)


def test_lines_from_typed_events():
    c = FakeClock()
    story = Story(id="s1", title="Add divide")
    cases = [
        (make_event("s1", "story.created", clock=c, payload=story), "story s1 created: Add divide"),
        (
            make_event(
                "s1",
                "story.transition",
                clock=c,
                data={"from": "DRAFT", "to": "DESIGN", "name": "go"},
            ),
            "==> DRAFT -> DESIGN (go)",
        ),
        (
            make_event("s1", "story.parked", clock=c, data={"gate": "scope", "reason": "PO"}),
            "  || parked at scope: PO",
        ),
        (
            make_event(
                "s1",
                "workspace.report",
                clock=c,
                payload=WorkspaceReport(build_ok=True, unit_passed=5, coverage=90.0),
                data={"task_id": "T1", "attempt": 0},
            ),
            "  workspace T1: build ok, tests 5 passed / 0 failed, coverage 90.0",
        ),
        (
            make_event(
                "s1",
                "gate.result",
                clock=c,
                payload=GateResult(profile="L1", score=99.2, verdict="pass"),
                data={"task_id": "T1"},
            ),
            "  gate L1 T1: pass (99/100)",
        ),
        (
            make_event("s1", "story.done", clock=c, data={"outcome": "done"}, key="final"),
            "story finished: done",
        ),
        (
            make_event(
                "s1",
                "council.quorum_lost",
                clock=c,
                data={
                    "deliberation_id": "d1",
                    "round": 0,
                    "present": 0,
                    "quorum": 2,
                    "failures": {"0:propose:developer-1": "PatchFailed: does not apply"},
                },
            ),  # fmt: skip
            "  !! council d1 lost its quorum in round 0 (0 of 2 needed answered)\n"
            "     0:propose:developer-1: PatchFailed: does not apply",
        ),
    ]
    for event, line in cases:
        assert describe(_wire(event)) == line


def test_uninteresting_unknown_and_malformed_frames_print_nothing():
    c = FakeClock()
    usage = {"type": "model.usage", "id": "x", "story_id": "s", "at_ms": 0, "data": {}}
    assert (
        describe(_wire(make_event("s", "policy.decision", clock=c, data={"allowed": True}))) is None
    )
    assert describe({"type": "other.thing", "id": "x", "story_id": "s", "at_ms": 0}) is None
    assert describe({**usage, "type": "story.parked"}) is None  # no gate: not readable, no crash
