"""The story path's model calls go through the ledger: a role agent (one member per story) and
the developer's implementation model, as plain classes over an in-memory timeline."""

from __future__ import annotations

import pytest

from fleet.contracts import ChatMessage, Story, UsageRecord
from fleet.council import Brief
from fleet.errors import BudgetExceeded
from fleet.testing.fakes import InMemoryEventLog, ScriptedChatModel

MSG = [ChatMessage(role="user", content="implement the change")]


def brief(story: str) -> Brief:
    return Brief(
        deliberation_id=f"{story}.d", story_id=story, task="add a cache", round=0, step="propose"
    )


def usage(log: InMemoryEventLog, story: str) -> list:
    return [e for _, e in log.read(story) if e.type == "model.usage"]


def test_agent_records_each_call_in_its_story_and_enforces_that_storys_budget(monkeypatch):
    import actors.agent as agent_mod
    from actors.agent import RoleAgent

    log = InMemoryEventLog()
    agent = RoleAgent(
        "qa-1",
        "qa",
        chat_model_factory=ScriptedChatModel,
        event_log_factory=lambda: log,
        budgets={"story": {"tokens": 1}},
    )
    for story in ("a", "b"):
        assert not isinstance(agent.propose(brief(story)), Exception)
    for story in ("a", "b"):
        [event] = usage(log, story)
        assert isinstance(event.payload, UsageRecord) and event.payload.story_id == story
        assert event.payload.role == "qa" and event.actor == "agent:qa-1"
        assert event.payload.prompt_tokens > 0 and event.payload.completion_tokens > 0
    refused = agent.propose(brief("a"))  # returned, not raised: the council decides what it means
    assert isinstance(refused, BudgetExceeded) and "story a" in str(refused)
    assert [e.type for _, e in log.read("a")].count("budget.exceeded") == 1

    monkeypatch.setattr(agent_mod, "MAX_STORIES", 1)
    agent.propose(brief("c"))  # evicts the older stories' members
    assert list(agent._members) == ["c"]
    assert isinstance(agent.propose(brief("a")), BudgetExceeded)  # totals re-read from the timeline


def test_developer_model_is_ledgered_for_the_fleet_model_and_a_story_override():
    from actors.story_services import EXECUTOR_ACTOR, WorkspaceExecutor
    from actors.wiring import OrchestratorSettings

    log = InMemoryEventLog()
    settings = OrchestratorSettings(
        redis_url="redis://unused", model="scripted", budgets={"developer": {"tokens": 1}}
    )
    executor = WorkspaceExecutor(settings, log)
    plain = Story(id="s-plain", title="t")
    override = Story(id="s-over", title="t", models={"developer": "scripted"})
    for story in (plain, override):
        executor.chat(story).complete(MSG, max_tokens=64)
        [event] = usage(log, story.id)
        assert event.payload.story_id == story.id and event.payload.role == "developer"
        assert event.actor == EXECUTOR_ACTOR and event.payload.cost == 0
    with pytest.raises(BudgetExceeded, match="role developer in story s-plain"):
        executor.chat(plain).complete(MSG)
