"""`bench_agents.py --developer-model`: the council's developers (and whoever builds a change) on
one engine, QA and the architect on the other, tokens counted over both."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from engine_chat import RoutedChat  # noqa: E402

from fleet.contracts import ChatMessage, ChatResponse  # noqa: E402


class Engine:
    def __init__(self, name: str) -> None:
        self.name, self.tokens, self.label, self.trace = name, 0, "", None
        self.asked = 0

    def complete(self, messages, **_kw) -> ChatResponse:
        self.asked += 1
        self.tokens += 7
        return ChatResponse(text="x", model=self.name, prompt_tokens=5, completion_tokens=2)


def test_developers_get_their_model_and_tokens_are_counted_over_both():
    from council_arms import _team

    small, big = Engine("small"), Engine("big")
    chat = RoutedChat(small, big)  # type: ignore[arg-type]
    ledger: dict[str, int] = {}
    team = _team(chat, ledger)
    served = {name: m.chat.chat for name, m in team.items()}  # Member -> Counted -> engine
    assert {n for n, e in served.items() if e is big} == {
        n for n in team if n.startswith("developer-")
    }
    assert any(e is small for e in served.values())  # QA and the architect
    chat.complete([ChatMessage(role="user", content="hi")])
    served["qa-1"].complete([ChatMessage(role="user", content="hi")])
    assert (big.asked, small.asked, chat.tokens) == (1, 1, 14)
    chat.label = "council t1"
    assert small.label == big.label == "council t1"
