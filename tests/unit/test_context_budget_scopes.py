"""Scope filtering and real-token budgets of context packs (pure: digest + builder, no servers)."""

from __future__ import annotations

import pytest

from fleet.adapters.gguf_tokenizer import GGUFTokenizer
from fleet.config import load
from fleet.context import ContextBuilder, StoryDigest
from fleet.context.synthetic import synthetic_story
from fleet.contracts import Decision, FleetEvent, Story, Task
from fleet.errors import NotFound, UnknownName


@pytest.fixture(scope="module")
def story():
    s = synthetic_story(1200)
    d = StoryDigest(s.story_id)
    d.apply_all([(f"{i}-0", e) for i, e in enumerate(s.events, 1)])
    return s, d


def _decision(story_id: str, did: str, what: str, by: str, n: int) -> FleetEvent:
    dec = Decision(id=did, story_id=story_id, what=what, decided_by=(by,), why="agreed")
    return FleetEvent(
        id=f"{story_id}:d:{did}", story_id=story_id, type="decision.made", at_ms=n, payload=dec
    )


def test_every_scope_only_gets_its_sections_and_stays_within_budget(builder, tok, story):
    s, d = story
    for role, phases in builder.scopes.scopes.items():
        for phase, scope in phases.items():
            pack = builder.build(d, role, phase, task_id="T2")
            names = [x.name for x in pack.sections]
            assert set(names) <= set(scope.sections), (role, phase, names)
            assert names == [n for n in scope.sections if n in names]  # priority order kept
            assert pack.token_count == tok.count(pack.render()) <= scope.budget_tokens
            assert pack.budget == scope.budget_tokens


@pytest.mark.parametrize("budget", [30, 64, 150, 400, 900, 3000])
def test_budget_is_never_exceeded_and_losses_are_listed(builder, tok, story, budget):
    _, d = story
    pack = builder.build(d, "developer", "build", task_id="T1", budget=budget)
    assert tok.count(pack.render()) == pack.token_count <= budget
    full = builder.build(d, "developer", "build", task_id="T1", budget=10**6)
    if pack.render() != full.render():
        assert pack.dropped, "something was lost but the pack does not say what"
    kept = {x.name for x in pack.sections}
    for name in (x.name for x in full.sections):
        assert name in kept or name in pack.dropped


def test_high_priority_sections_win_under_pressure(builder, story):
    _, d = story
    pack = builder.build(d, "qa", "test", budget=300)
    names = [x.name for x in pack.sections]
    assert names[0] == "acceptance_criteria"  # first in qa/test priority
    assert "task" not in names  # last in priority, nothing left for it (and no task given)


def test_role_specific_decisions_are_filtered():
    sid = "s-filter"
    d = StoryDigest(sid)
    d.apply("1-0", FleetEvent(id="e1", story_id=sid, type="story.created", at_ms=1,
                              payload=Story(id=sid, title="t", acceptance_criteria=("AC one",))))  # fmt: skip
    d.apply(
        "2-0", _decision(sid, "DT", "Use pytest fixtures for the payment tests", "developer-1", 2)
    )
    d.apply("3-0", _decision(sid, "DD", "Deploy with a rolling release from CI", "architect-1", 3))
    d.apply("4-0", _decision(sid, "DS", "Add a migration for the invoices table", "architect-1", 4))
    d.apply("5-0", FleetEvent(id="t1", story_id=sid, type="task.planned", at_ms=5,
                              payload=Task(id="TQ", story_id=sid, role="qa", description="review")))  # fmt: skip
    dq = Decision(
        id="DQ",
        story_id=sid,
        task_id="TQ",
        what="Name the module payments",
        decided_by=("qa-1",),
        why="",
    )
    d.apply("6-0", FleetEvent(id="dq", story_id=sid, type="decision.made", at_ms=6, payload=dq))
    b = ContextBuilder(load("scopes.yaml"), GGUFTokenizer())
    qa = b.build(d, "qa", "design").render()
    devops = b.build(d, "devops", "docs").render()
    data = b.build(d, "data", "design").render()
    assert (
        "DT" in qa and "DQ" in qa and "DD" not in qa and "DS" not in qa
    )  # about tests, or on a qa task
    assert "DD" in devops and "DT" not in devops and "DS" not in devops
    assert "DS" in data and "DD" not in data and "DT" not in data
    assert "acceptance_criteria" not in devops  # devops/docs scope has no criteria


def test_nobody_sees_another_story():
    d = StoryDigest("mine")
    other = _decision("theirs", "DX", "SECRET-PLAN-OF-ANOTHER-STORY", "developer-1", 1)
    assert d.apply("1-0", other) is False
    mine = FleetEvent(
        id="m1", story_id="mine", type="story.created", at_ms=1, payload=Story(id="mine", title="t")
    )
    d.apply("2-0", mine)
    # an event filed under this story but carrying another story's payload is refused too
    smuggled = FleetEvent(id="m2", story_id="mine", type="decision.made", at_ms=2,
                          payload=Decision(id="DY", story_id="theirs", what="SMUGGLED", decided_by=("x",), why="y"))  # fmt: skip
    assert d.apply("3-0", smuggled) is False
    text = (
        ContextBuilder(load("scopes.yaml"), GGUFTokenizer()).build(d, "architect", "draft").render()
    )
    assert "SECRET-PLAN" not in text and "SMUGGLED" not in text


def test_bad_requests_raise_clear_errors(builder, story):
    _, d = story
    with pytest.raises(UnknownName, match="valid: architect, data, developer, devops, qa"):
        builder.build(d, "janitor", "build")
    with pytest.raises(UnknownName, match="phase for role data"):
        builder.build(d, "data", "docs")
    with pytest.raises(NotFound, match="T99"):
        builder.build(d, "developer", "build", task_id="T99")
    with pytest.raises(NotFound, match="story 'empty'"):
        builder.build(StoryDigest("empty"), "developer", "build")


def test_truncate_respects_the_token_limit(tok):
    text = "Ünïcödé 日本語 " * 50 + "def f(x): return x**2 " * 30
    for n in (1, 5, 17, 60, 200):
        cut = tok.truncate(text, n)
        assert tok.count(cut) <= n and text.startswith(cut)
        assert tok.count(cut) >= n - 2  # tight, not a crude under-estimate
    assert tok.truncate("short", 10) == "short"
