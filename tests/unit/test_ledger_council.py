"""A spent budget stops the council (it is not a missing member) and the PO's approval grants a
fresh one: in process, scripted models, the real ledger over an in-memory timeline."""

from __future__ import annotations

import pytest

from fleet.config import ModelsConfig, load
from fleet.contracts import ChatMessage
from fleet.council import Council, DeliberationRequest, Member, checkpoint_key
from fleet.council.local import local_gather
from fleet.errors import BudgetExceeded
from fleet.events import Envelope, make_event
from fleet.ledger import LedgeredChatModel, UsageLedger
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

ROLES = load("roles.yaml")
TEAM = ("developer-1", "qa-1", "architect-1")
MSG = [ChatMessage(role="user", content="write the parser change please")]


def models(**budgets) -> ModelsConfig:
    return ModelsConfig.model_validate(
        {
            "models": {"scripted": {"backend": "scripted"}},
            "routing": {"default": ["scripted"]},
            "budgets": budgets,
        }
    )


def approve_budget(log: InMemoryEventLog, story: str, n: int) -> None:
    log.append(
        make_event(
            story,
            "story.approved",
            clock=FakeClock(),
            data={"gate": "budget", "approved": True},
            envelope=Envelope(actor="po", key=f"budget-{n}"),
        )
    )


def council_team(ledger: UsageLedger, story: str) -> dict[str, Member]:
    team = {}
    for m in TEAM:
        role = m.rsplit("-", 1)[0]
        chat = LedgeredChatModel(
            ScriptedChatModel(name="scripted"), ledger, role=role, story_id=story
        )
        team[m] = Member(m, role, ROLES.get(role), chat)
    return team


def test_spent_budget_stops_the_council_and_resumes_after_the_po_grants_more():
    log, clock = InMemoryEventLog(), FakeClock()
    ledger = UsageLedger(models(qa={"tokens": 1}), event_log=log, clock=clock)
    council = Council(local_gather(council_team(ledger, "s1")), log, clock=clock)
    req = DeliberationRequest(
        id="d1", story_id="s1", task="add a cache", members=TEAM, rounds=1, early_stop=False
    )

    with pytest.raises(BudgetExceeded, match="role qa in story s1"):
        council.deliberate(req)  # qa's first call (propose) is paid; its critique is refused
    types = [e.type for _, e in log.read("s1")]
    assert "council.quorum_lost" not in types and types.count("budget.exceeded") == 1
    done_first = log.checkpoint_get(checkpoint_key("d1"))[1]["done"]
    assert done_first == 1  # propose checkpointed; the refused step is not

    approve_budget(log, "s1", 1)  # the PO grants a fresh budget: the same request resumes
    before = len(log.read("s1"))
    with pytest.raises(BudgetExceeded):
        council.deliberate(req)  # qa's critiques run concurrently: the first is paid, then refused
    after = [e for _, e in log.read("s1")[before:]]
    assert any(e.type == "model.usage" and e.payload.role == "qa" for e in after)
    exceeded = [e for _, e in log.read("s1") if e.type == "budget.exceeded"]
    assert len({e.id for e in exceeded}) == 2  # the second overrun is announced anew


def test_budget_grant_resets_only_the_approved_story():
    log = InMemoryEventLog()
    ledger = UsageLedger(models(story={"tokens": 3}), event_log=log)
    for story in ("a", "b"):
        LedgeredChatModel(ScriptedChatModel(), ledger, role="qa", story_id=story).complete(MSG)
    approve_budget(log, "a", 1)
    assert ledger.spent("a").tokens == 0
    assert ledger.spent("b").tokens > 3
    with pytest.raises(BudgetExceeded, match="story b"):
        ledger.check(story_id="b", role="qa")
    ledger.check(story_id="a", role="qa")  # fresh budget: no error


def test_forget_rereads_totals_from_the_timeline():
    log = InMemoryEventLog()
    ledger = UsageLedger(models(story={"tokens": 3}), event_log=log)
    LedgeredChatModel(ScriptedChatModel(), ledger, role="qa", story_id="s").complete(MSG)
    spent = ledger.spent("s").tokens
    ledger.forget("s")
    assert ledger.spent("s").tokens == spent > 0
