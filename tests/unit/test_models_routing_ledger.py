"""Routing (fallbacks recorded as events) and the usage ledger (budgets), with scripted models."""

from __future__ import annotations

import pytest

from fleet.config import ModelsConfig
from fleet.contracts import ChatMessage, UsageRecord
from fleet.errors import BudgetExceeded, InvalidModelOutput, ModelUnavailable
from fleet.ledger import LedgeredChatModel, UsageLedger
from fleet.routing import RoutedChatModel
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

MSG = [ChatMessage(role="user", content="plan the change to the parser module please")]


def cfg(**budgets) -> ModelsConfig:
    return ModelsConfig.model_validate(
        {
            "models": {
                "a": {"backend": "scripted"},
                "paid": {
                    "backend": "scripted",
                    "price_prompt_per_1k": 1.0,
                    "price_completion_per_1k": 2.0,
                },
            },
            "routing": {"default": ["a"]},
            "budgets": budgets,
        }
    )


class Down:
    name = "down"

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages, **kw):
        self.calls += 1
        raise ModelUnavailable(model="down", reason="connection refused")


def test_fallback_goes_to_next_model_and_records_event():
    log = InMemoryEventLog()
    down, up = Down(), ScriptedChatModel(name="b")
    routed = RoutedChatModel(
        [("a", down), ("b", up)], role="qa", story_id="s1", on_event=log.append, clock=FakeClock()
    )
    out = routed.complete(MSG)
    assert out.model == "b" and down.calls == 1 and up.calls == 1
    events = [e for _, e in log.read("s1")]
    assert [e.type for e in events] == ["model.fallback"]
    assert events[0].data["from"] == "a" and events[0].data["to"] == "b"
    assert events[0].data["role"] == "qa" and "connection refused" in events[0].data["reason"]


def test_all_down_raises_with_every_reason():
    routed = RoutedChatModel([("a", Down()), ("b", Down())])
    with pytest.raises(ModelUnavailable) as err:
        routed.complete(MSG)
    assert "a: connection refused" in str(err.value) and "b: connection refused" in str(err.value)


def test_invalid_output_does_not_fall_back():
    class Garbage:
        def complete(self, messages, **kw):
            raise InvalidModelOutput(model="g", reason="x", raw="{")

    second = ScriptedChatModel()
    with pytest.raises(InvalidModelOutput):
        RoutedChatModel([("g", Garbage()), ("s", second)]).complete(MSG)
    assert second.calls == 0


def test_ledger_records_tokens_and_cost_from_config_prices():
    log = InMemoryEventLog()
    ledger = UsageLedger(cfg(), event_log=log, clock=FakeClock())
    model = LedgeredChatModel(
        ScriptedChatModel(name="paid"), ledger, role="developer", story_id="s1"
    )
    out = model.complete(MSG)
    [usage] = [e for _, e in log.read("s1") if e.type == "model.usage"]
    rec = usage.payload
    assert isinstance(rec, UsageRecord) and rec.model == "paid" and rec.role == "developer"
    assert rec.prompt_tokens == out.prompt_tokens and rec.completion_tokens == out.completion_tokens
    assert rec.cost == pytest.approx((out.prompt_tokens * 1.0 + out.completion_tokens * 2.0) / 1000)
    spent = ledger.spent("s1")
    assert (
        spent.tokens == out.prompt_tokens + out.completion_tokens
        and spent.cost == pytest.approx(rec.cost)
    )


def test_story_token_budget_stops_the_next_call_and_emits_event():
    log = InMemoryEventLog()
    ledger = UsageLedger(cfg(story={"tokens": 20}), event_log=log, clock=FakeClock())
    inner = ScriptedChatModel(name="a")
    model = LedgeredChatModel(inner, ledger, role="qa", story_id="s1")
    model.complete(MSG)  # ~8 prompt + ~10 completion tokens: under the limit
    model.complete(MSG)  # crosses the limit: completes, is recorded
    assert ledger.spent("s1").tokens >= 20
    with pytest.raises(BudgetExceeded) as err:
        model.complete(MSG)
    assert inner.calls == 2  # the refused call never reached the model
    assert err.value.scope == "story s1" and err.value.unit == "tokens" and err.value.limit == 20
    with pytest.raises(BudgetExceeded):
        model.complete(MSG)
    exceeded = [e for _, e in log.read("s1") if e.type == "budget.exceeded"]
    assert len(exceeded) == 1 and exceeded[0].data["scope"] == "story s1"
    # another story has its own budget
    LedgeredChatModel(inner, ledger, role="qa", story_id="s2").complete(MSG)


def test_role_budget_is_per_role_and_cost_budget_counts_prices():
    ledger = UsageLedger(cfg(developer={"tokens": 5}, story={"cost": 0.001}))
    dev = LedgeredChatModel(ScriptedChatModel(name="a"), ledger, role="developer", story_id="s")
    dev.complete(MSG)
    with pytest.raises(BudgetExceeded) as err:
        dev.complete(MSG)
    assert err.value.scope == "role developer in story s"
    qa = LedgeredChatModel(ScriptedChatModel(name="paid"), ledger, role="qa", story_id="s")
    qa.complete(MSG)  # local models cost 0, this one costs ~0.03 > 0.001
    with pytest.raises(BudgetExceeded) as err:
        qa.complete(MSG)
    assert err.value.unit == "cost"


def test_ledgers_sharing_an_event_log_enforce_one_budget():
    """Two agent processes = two ledgers over one log: usage by one counts for the other."""
    log = InMemoryEventLog()
    config = cfg(story={"tokens": 20})
    first = LedgeredChatModel(
        ScriptedChatModel(name="a"), UsageLedger(config, event_log=log), role="qa", story_id="s"
    )
    second = LedgeredChatModel(
        ScriptedChatModel(name="a"), UsageLedger(config, event_log=log), role="dev", story_id="s"
    )
    first.complete(MSG)
    first.complete(MSG)
    with pytest.raises(BudgetExceeded):
        second.complete(MSG)
