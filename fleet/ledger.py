"""Usage ledger and budgets: every model call is recorded; spent budgets stop further calls.

Budget semantics (decided here, relied on by the orchestrator):

- ``budgets.story`` caps all model usage of one story; ``budgets.<role>`` caps one
  role's usage within one story. Units: tokens (prompt + completion) and cost
  (prices per 1k tokens from ``models.yaml``; 0 for local models).
- A call's size is unknown until it returns, so the check happens *before* each
  call against what is already spent: the call that crosses a limit completes and
  is recorded (its tokens are already paid for), and the **next** call for that
  story/role raises :class:`BudgetExceeded` without reaching any model. The first
  refusal per scope emits one ``budget.exceeded`` event (deterministic id, so
  re-emitting after a restart is a no-op).
- With an ``EventLog`` the totals are derived from the story's ``model.usage``
  events, so every process (every agent actor) sharing the log enforces the same
  budget; without one the ledger keeps totals in memory.
- A spent budget parks the story at the PO's ``budget`` gate. When the PO approves
  it (a ``story.approved`` event with ``gate: budget``), the story gets a fresh
  budget: its spend counts from zero again, and a later overrun is announced anew.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleet.clock import SystemClock
from fleet.config import ModelsConfig
from fleet.contracts import ChatMessage, ChatResponse, FleetEvent, UsageRecord
from fleet.errors import BudgetExceeded
from fleet.events import Envelope, make_event
from fleet.ports import ChatModel, Clock, EventLog
from fleet.routing import UNATTRIBUTED

MAX_RECORDS = 10_000


@dataclass
class Spend:
    """Tokens and cost spent so far in one scope."""

    tokens: int = 0
    cost: float = 0.0

    def add(self, record: UsageRecord) -> None:
        self.tokens += record.prompt_tokens + record.completion_tokens
        self.cost += record.cost


class UsageLedger:
    """Records a :class:`UsageRecord` per call and enforces per-story and per-role budgets."""

    def __init__(
        self, models: ModelsConfig, *, event_log: EventLog | None = None, clock: Clock | None = None
    ) -> None:
        self.models = models
        self.event_log = event_log
        self.clock = clock or SystemClock()
        # The latest calls recorded by this process (bounded: agents are long-lived; the
        # timeline holds every record).
        self.records: deque[UsageRecord] = deque(maxlen=MAX_RECORDS)
        self._story: dict[str, Spend] = {}
        self._role: dict[tuple[str, str], Spend] = {}
        self._cursor: dict[str, str] = {}
        self._announced: set[str] = set()
        self._grants: dict[str, int] = {}  # story -> budget approvals by the PO seen so far
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ queries

    def spent(self, story_id: str | None, role: str | None = None) -> Spend:
        """What a story (or one role in it) has spent so far."""
        sid = story_id or UNATTRIBUTED
        with self._lock:
            self._sync(sid)
            found = self._story.get(sid) if role is None else self._role.get((sid, role))
            return Spend(found.tokens, found.cost) if found else Spend()

    def forget(self, story_id: str) -> None:
        """Drop what is cached about ``story_id`` (a long-lived agent bounds its memory). With an
        event log nothing is lost: the totals are re-read from the story's timeline when needed."""
        with self._lock:
            self._story.pop(story_id, None)
            for key in [k for k in self._role if k[0] == story_id]:
                del self._role[key]
            self._cursor.pop(story_id, None)
            self._grants.pop(story_id, None)

    def cost_of(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        """Price of one call from ``models.yaml`` (0 for unknown or local models)."""
        spec = self.models.models.get(model)
        if spec is None:
            return 0.0
        return (
            prompt_tokens * spec.price_prompt_per_1k
            + completion_tokens * spec.price_completion_per_1k
        ) / 1000

    # ------------------------------------------------------------------ budget

    def check(self, *, story_id: str | None, role: str) -> None:
        """Refuse the next call if a budget that applies to it is already spent.

        Raises:
            BudgetExceeded: naming the scope, limit, amount spent and unit.
        """
        sid = story_id or UNATTRIBUTED
        with self._lock:
            self._sync(sid)
            scopes = [("story", f"story {sid}", self._story.get(sid))]
            if role in self.models.budgets:
                scopes.append((role, f"role {role} in story {sid}", self._role.get((sid, role))))
            for key, scope, spend in scopes:
                budget = self.models.budgets.get(key)
                if budget is None or spend is None:
                    continue
                for unit, limit, used in (
                    ("tokens", budget.tokens, spend.tokens),
                    ("cost", budget.cost, spend.cost),
                ):
                    if limit is not None and used > 0 and used >= limit:
                        self._announce(sid, scope, limit, used, unit)
                        raise BudgetExceeded(scope=scope, limit=limit, spent=used, unit=unit)

    def _announce(self, sid: str, scope: str, limit: float, used: float, unit: str) -> None:
        grants = self._grants.get(sid, 0)
        key = f"{scope}:{unit}" + (f":g{grants}" if grants else "")
        if key in self._announced or self.event_log is None:
            return
        self._announced.add(key)
        data: dict[str, Any] = {"scope": scope, "limit": limit, "spent": used, "unit": unit}
        self.event_log.append(
            make_event(
                sid,
                "budget.exceeded",
                clock=self.clock,
                data=data,
                envelope=Envelope(actor="ledger", key=key),
            )
        )

    # ------------------------------------------------------------------ recording

    def record(
        self,
        response: ChatResponse,
        *,
        story_id: str | None,
        role: str,
        latency_ms: float | None = None,
        actor: str | None = None,
    ) -> UsageRecord:
        """Record one completed call and emit ``model.usage`` (by ``actor``, default ``agent:<role>``)."""
        sid = story_id or UNATTRIBUTED
        record = UsageRecord(
            story_id=story_id,
            role=role,
            model=response.model,
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
            latency_ms=response.latency_ms if latency_ms is None else latency_ms,
            cost=self.cost_of(response.model, response.prompt_tokens, response.completion_tokens),
        )
        with self._lock:
            self.records.append(record)
            if self.event_log is None:
                self._add(sid, record)
        if self.event_log is not None:
            # Totals come back through _sync, so a record is counted exactly once.
            self.event_log.append(
                make_event(
                    sid,
                    "model.usage",
                    clock=self.clock,
                    payload=record,
                    envelope=Envelope(actor=actor or f"agent:{role}"),
                )
            )
        return record

    def _add(self, sid: str, record: UsageRecord) -> None:
        self._story.setdefault(sid, Spend()).add(record)
        self._role.setdefault((sid, record.role), Spend()).add(record)

    def _sync(self, sid: str) -> None:
        """Fold in ``model.usage`` events appended (by any process) since the last read."""
        if self.event_log is None:
            return
        for entry, event in self.event_log.read(sid, after=self._cursor.get(sid, "0")):
            self._cursor[sid] = entry
            if event.type == "model.usage" and isinstance(event.payload, UsageRecord):
                self._add(sid, event.payload)
            elif _budget_granted(event):
                self._grant(sid)

    def _grant(self, sid: str) -> None:
        """The PO approved the spent budget: the story starts a fresh one."""
        self._grants[sid] = self._grants.get(sid, 0) + 1
        self._story.pop(sid, None)
        for key in [k for k in self._role if k[0] == sid]:
            del self._role[key]


def _budget_granted(event: FleetEvent) -> bool:
    return (
        event.type == "story.approved"
        and event.data.get("gate") == "budget"
        and bool(event.data.get("approved", True))
    )


class LedgeredChatModel:
    """A ChatModel that checks budgets before and records usage after every call."""

    def __init__(
        self,
        inner: ChatModel,
        ledger: UsageLedger,
        *,
        role: str,
        story_id: str | None,
        actor: str | None = None,
    ) -> None:
        self.inner = inner
        self.actor = actor  # who makes the calls, in the usage events (default agent:<role>)
        self.ledger = ledger
        self.role = role
        self.story_id = story_id
        self.name = getattr(inner, "name", "model")

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
    ) -> ChatResponse:
        """One budgeted, recorded completion.

        Raises:
            BudgetExceeded: a budget for this story or role is spent (the model is not called).
            ModelUnavailable: from the inner model.
        """
        self.ledger.check(story_id=self.story_id, role=self.role)
        start = time.monotonic()
        response = self.inner.complete(
            messages,
            schema=schema,
            temperature=temperature,
            seed=seed,
            max_tokens=max_tokens,
            stop=stop,
        )
        # Wall time of the whole logical call, fallbacks included.
        latency = (time.monotonic() - start) * 1000
        self.ledger.record(
            response, story_id=self.story_id, role=self.role, latency_ms=latency, actor=self.actor
        )
        return response
