"""Route one logical model call through a primary model and ordered fallbacks.

A fallback happens only on :class:`ModelUnavailable` (connection refused, 5xx,
timeout after the adapter's own retries). Invalid output and budget signals are
not infrastructure failures and propagate unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fleet.clock import SystemClock
from fleet.contracts import ChatMessage, ChatResponse, FleetEvent
from fleet.errors import ModelUnavailable
from fleet.events import Envelope, make_event
from fleet.ports import ChatModel, Clock

EventSink = Callable[[FleetEvent], Any]

UNATTRIBUTED = "_fleet"
"""Story id used for events of calls made outside any story."""


class RoutedChatModel:
    """A ChatModel over an ordered chain ``[(name, model), ...]``: first that answers wins.

    Every switch from one model to the next is recorded as a ``model.fallback``
    event through ``on_event`` (e.g. ``event_log.append``), and a call that no model of
    the chain could answer as a ``model.error`` event before it raises.
    """

    def __init__(
        self,
        chain: Sequence[tuple[str, ChatModel]],
        *,
        role: str = "default",
        story_id: str | None = None,
        on_event: EventSink | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not chain:
            raise ValueError("RoutedChatModel needs at least one model")
        self.chain = list(chain)
        self.role = role
        self.story_id = story_id
        self.on_event = on_event
        self.clock = clock or SystemClock()
        self.name = "->".join(name for name, _ in self.chain)

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
        """Ask each model in turn until one answers.

        Raises:
            ModelUnavailable: every model in the chain is unavailable (reasons joined).
        """
        reasons: list[str] = []
        for i, (name, model) in enumerate(self.chain):
            try:
                return model.complete(
                    messages,
                    schema=schema,
                    temperature=temperature,
                    seed=seed,
                    max_tokens=max_tokens,
                    stop=stop,
                )
            except ModelUnavailable as exc:
                reason = str(getattr(exc, "reason", exc))
                reasons.append(f"{name}: {reason}")
                if i + 1 < len(self.chain):
                    self._fallback(name, self.chain[i + 1][0], reason)
        reason = "; ".join(reasons)
        self._emit("model.error", {"role": self.role, "model": self.name, "reason": reason[:1000]})
        raise ModelUnavailable(model=self.name, reason=reason)

    def _fallback(self, source: str, target: str, reason: str) -> None:
        self._emit(
            "model.fallback",
            {"role": self.role, "from": source, "to": target, "reason": reason[:500]},
        )

    def _emit(self, type: str, data: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        event: FleetEvent = make_event(
            self.story_id or UNATTRIBUTED,
            type,
            clock=self.clock,
            data=data,
            envelope=Envelope(actor=f"agent:{self.role}"),
        )
        self.on_event(event)
