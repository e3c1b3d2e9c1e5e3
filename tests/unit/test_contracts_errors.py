from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from fleet import errors
from fleet.contracts import (
    Ballot,
    Decision,
    FleetEvent,
    Proposal,
    Story,
    TaskResult,
    TaskSpec,
    from_wire,
    to_wire,
)


def test_wire_round_trip_keeps_type_and_values():
    story = Story(id="s1", title="Add login", acceptance_criteria=("user can log in",))
    event = FleetEvent(
        id="e1", story_id="s1", type="story.created", at_ms=5, payload=story, data={"n": 1}
    )
    back = from_wire(to_wire(event))
    assert isinstance(back, FleetEvent)
    assert isinstance(back.payload, Story)
    assert back == event


@pytest.mark.parametrize(
    "model",
    [
        Proposal(id="p", deliberation_id="d", author="developer-1", role="developer", content="x"),
        Ballot(id="b", deliberation_id="d", voter="qa-1", role="qa", ranking=("p",)),
        Decision(id="x", story_id="s", what="w", decided_by=("qa-1",), why="y"),
        TaskSpec(id="t", cmd=("true",)),
        TaskResult(spec_id="t", status="passed", exit_code=0),
    ],
)
def test_every_contract_decodes_by_kind(model):
    assert from_wire(to_wire(model)) == model


def test_contracts_are_frozen_and_strict():
    story = Story(id="s", title="t")
    with pytest.raises(ValidationError):
        story.title = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Story(id="s", title="t", unknown_field=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TaskSpec(id="t", cmd=())


ERRORS = [
    errors.BudgetExceeded(scope="story s1", limit=10, spent=12),
    errors.ParkedForHuman(story_id="s1", gate="scope", reason="needs approval"),
    errors.VersionConflict(key="k", expected=1, actual=2),
    errors.ConfigError(file="roles.yaml", key="roles.qa", problem="bad"),
    errors.UnknownName(what="role", name="x", valid=["qa"]),
    errors.InvalidTransition(
        state="DRAFT", target="DONE", reason="no such move", allowed=["DESIGN"]
    ),
    errors.GuardFailed(state="DRAFT", target="DESIGN", reason="dor_ok false", allowed=["DESIGN"]),
    errors.PolicyDenied(role="qa", phase="build", argv=("rm", "-rf"), rule="default deny"),
    errors.NotFound(what="story", id="s9"),
    errors.SandboxUnavailable(backend="bwrap", reason="missing"),
    errors.ModelUnavailable(model="m", reason="refused"),
    errors.InvalidModelOutput(model="m", reason="not json", raw="{"),
    errors.StorageUnavailable(what="redis", reason="down"),
    errors.PortInUse(port=8000, what="gateway"),
]


@pytest.mark.parametrize("err", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle_round_trip_with_fields(err):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.fields == err.fields
    for name, value in err.fields.items():
        assert getattr(back, name) == value
    assert isinstance(back, errors.FleetError)


def test_error_hierarchy_groups():
    assert issubclass(errors.BudgetExceeded, errors.ControlSignal)
    assert issubclass(errors.GuardFailed, errors.InvalidTransition)
    assert issubclass(errors.ConfigError, errors.UserError)
    assert issubclass(errors.SandboxUnavailable, errors.InfraError)
    assert "valid: qa" in str(errors.UnknownName(what="role", name="x", valid=["qa"]))
