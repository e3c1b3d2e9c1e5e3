"""The story FSM from config/lifecycle.yaml: every transition, guard, gate, invalid move, loop-back."""

from __future__ import annotations

import pickle

import pytest

from fleet.config import load
from fleet.errors import GuardFailed, InvalidTransition, UnknownName
from fleet.lifecycle import Lifecycle

CONFIG = load("lifecycle.yaml")
FSM = Lifecycle(CONFIG)
ALL = CONFIG.transitions


def all_true(spec):
    return dict.fromkeys(spec.guards, True)


@pytest.mark.parametrize("spec", ALL, ids=lambda t: t.name)
def test_every_transition_fires_when_its_guards_hold(spec):
    assert FSM.transition(spec.source, spec.target, all_true(spec)) == spec
    # by name as well as by target state
    assert FSM.transition(spec.source, spec.name, all_true(spec)) == spec


def test_happy_path_backlog_to_done():
    state, seen = FSM.initial, []
    for target in ("DRAFT", "DESIGN", "BUILD", "TEST", "DOCS", "DONE"):
        spec = next(t for t in FSM.allowed(state) if t.target == target)
        state = FSM.transition(state, target, all_true(spec)).target
        seen.append(state)
    assert seen == ["DRAFT", "DESIGN", "BUILD", "TEST", "DOCS", "DONE"]
    assert FSM.is_terminal(state)


GUARD_CASES = [(t, g) for t in ALL for g in t.guards]


@pytest.mark.parametrize(("spec", "guard"), GUARD_CASES, ids=lambda v: getattr(v, "name", v))
def test_each_guard_failing_names_guard_meaning_and_allowed(spec, guard):
    facts = {**all_true(spec), guard: False}
    with pytest.raises(GuardFailed) as exc:
        FSM.transition(spec.source, spec.target, facts)
    msg = str(exc.value)
    assert f"{guard} is false" in msg
    assert CONFIG.guards[guard] in msg
    for other in FSM.allowed(spec.source):
        assert f"{other.name} -> {other.target}" in msg
    assert exc.value.state == spec.source and exc.value.target == spec.target


def test_missing_fact_counts_as_false_and_says_so():
    with pytest.raises(GuardFailed, match=r"po_approved is not provided"):
        FSM.transition("DRAFT", "DESIGN", {"dor_ok": True})


def test_all_failed_guards_are_listed():
    with pytest.raises(GuardFailed) as exc:
        FSM.transition("DRAFT", "DESIGN", {})
    assert "dor_ok is not provided" in str(exc.value)
    assert "po_approved is not provided" in str(exc.value)


def test_guard_failed_is_an_invalid_transition_and_pickles():
    with pytest.raises(InvalidTransition) as exc:
        FSM.transition("BUILD", "TEST", {"build_ok": False})
    again = pickle.loads(pickle.dumps(exc.value))
    assert type(again) is GuardFailed and str(again) == str(exc.value)


@pytest.mark.parametrize(
    ("state", "target", "gate"),
    [
        ("DRAFT", "DESIGN", "scope"),
        ("DESIGN", "BUILD", "design"),
        ("DESIGN", "DRAFT", "design"),
        ("DOCS", "DONE", "acceptance"),
        ("BACKLOG", "DRAFT", None),
        ("BUILD", "TEST", None),
        ("TEST", "BUILD", None),
        ("TEST", "DOCS", None),
    ],
)
def test_human_gates(state, target, gate):
    assert FSM.human_gate(state, target) == gate


def test_every_gated_transition_needs_po_decision():
    for t in ALL:
        if t.human_gate:
            assert {"po_approved", "po_rejected"} & set(t.guards), t.name


@pytest.mark.parametrize(
    ("state", "target"),
    [
        ("BACKLOG", "DONE"),
        ("DRAFT", "BUILD"),
        ("BUILD", "DOCS"),
        ("TEST", "DONE"),
        ("BUILD", "BUILD"),
        ("DRAFT", "nonsense"),
    ],
)
def test_invalid_moves_list_allowed_transitions(state, target):
    with pytest.raises(InvalidTransition) as exc:
        FSM.transition(state, target, {})
    assert type(exc.value) is InvalidTransition
    assert f"no transition from {state} to {target}" in str(exc.value)
    assert list(exc.value.allowed) == [f"{t.name} -> {t.target}" for t in FSM.allowed(state)]
    assert exc.value.allowed  # non-terminal states have a way out


def test_terminal_state_has_no_way_out():
    assert FSM.allowed("DONE") == []
    assert not FSM.is_terminal("TEST")
    with pytest.raises(InvalidTransition, match=r"DONE is a terminal state.*none: terminal"):
        FSM.transition("DONE", "DRAFT", {"has_title": True})


def test_unknown_state_lists_states():
    with pytest.raises(UnknownName, match="unknown story state 'SHIPPED'.*BACKLOG"):
        FSM.allowed("SHIPPED")


def test_loop_backs_are_marked():
    loops = {(t.source, t.target) for t in ALL if t.loop_back}
    assert loops == {("TEST", "BUILD"), ("DESIGN", "DRAFT")}


def test_test_to_build_loops_until_attempts_run_out():
    history: list[tuple[str, str]] = []
    blocked = {"gate_blocked": True}
    for _ in range(CONFIG.max_loopbacks):
        facts = FSM.with_attempts(blocked, FSM.loopbacks(history))
        spec = FSM.transition("TEST", "BUILD", facts)
        assert spec.loop_back
        history += [("TEST", "BUILD"), ("BUILD", "TEST")]
    assert FSM.loopbacks(history) == CONFIG.max_loopbacks
    with pytest.raises(GuardFailed, match="attempts_left is false"):
        FSM.transition("TEST", "BUILD", FSM.with_attempts(blocked, FSM.loopbacks(history)))


def test_design_rejection_loops_back_to_draft():
    spec = FSM.transition("DESIGN", "DRAFT", {"po_rejected": True})
    assert spec.name == "reject_design" and spec.loop_back
    with pytest.raises(GuardFailed, match="po_rejected"):
        FSM.transition("DESIGN", "DRAFT", {"po_approved": True})


def test_from_config_reads_the_same_file():
    assert Lifecycle.from_config().config == CONFIG
