"""The CLI's progress lines: one table from event type to line, over typed events from SSE JSON."""

from __future__ import annotations

import json

from cluster.cli.gateway_client import LINES, describe
from fleet.contracts import GateResult, Story, WorkspaceReport
from fleet.events import TYPES, Envelope, make_event
from fleet.testing.fakes import FakeClock


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
            make_event(
                "s1",
                "story.done",
                clock=c,
                data={"outcome": "done"},
                envelope=Envelope(key="final"),
            ),
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


RAY_ERROR = (
    "\x1b[36mray::AgentActor.propose()\x1b[39m (pid=4242, ip=127.0.0.1, actor_id=ab12)\n"
    '  File "/work/actors/agent.py", line 88, in propose\n'
    "    raise StorageUnavailable(what='event log', reason='Timeout reading from socket')\n"
    "fleet.errors.StorageUnavailable: event log unavailable: Timeout reading from socket"
)


def test_a_ray_error_in_a_quorum_lost_line_is_its_cause_without_colour_codes():
    event = make_event(
        "s1",
        "council.quorum_lost",
        clock=FakeClock(),
        data={
            "deliberation_id": "d1", "round": 1, "present": 1, "quorum": 2,
            "failures": {"1:propose:qa-1": RAY_ERROR},
        },
    )  # fmt: skip
    assert describe(_wire(event)) == (
        "  !! council d1 lost its quorum in round 1 (1 of 2 needed answered)\n"
        "     1:propose:qa-1: fleet.errors.StorageUnavailable: event log unavailable: "
        "Timeout reading from socket"
    )
    parked = make_event(
        "s1", "story.parked", clock=FakeClock(), data={"gate": "error", "reason": RAY_ERROR}
    )
    line = describe(_wire(parked))
    assert line is not None and "\x1b" not in line and line.endswith("Timeout reading from socket")
