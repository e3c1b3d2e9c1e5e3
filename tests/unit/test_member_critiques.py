"""A member's critiques of several proposals: one after another by default (each after the first
reuses the member's prompt prefix in the model server's cache), at once when asked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from fleet.config import load
from fleet.contracts import ChatMessage, Proposal
from fleet.council import Brief, Member
from fleet.council.schemas import CritiqueDraft
from fleet.testing.fakes import ScriptedChatModel


class Meter:
    """A scripted critic that records how many of its calls were in flight at once; the
    critique of ``bad`` fails."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()
        self.asked: list[str] = []

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.asked.append(messages[-1].content)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1
        if "proposal from bad" in messages[-1].content:
            raise RuntimeError("model down")
        return json.dumps({"severity": "minor", "comment": "fine"})


def brief() -> Brief:
    return Brief(deliberation_id="d", story_id="s", task_id="T1", task="Design the API",
                 phase="design", round=1, step="critique")  # fmt: skip


def proposals(*authors: str) -> list[Proposal]:
    return [Proposal(id=f"p:{a}", deliberation_id="d", author=a, role="developer", round=0, content=f"proposal from {a}")
            for a in authors]  # fmt: skip


def test_critiques_go_one_after_another_and_a_failed_one_is_its_exception():
    meter = Meter()
    m = Member("qa-1", "qa", load("roles.yaml").get("qa"), ScriptedChatModel(script=meter))
    out = m.critiques(brief(), proposals("developer-1", "bad", "developer-2"))
    assert meter.peak == 1 and len(meter.asked) == 3
    assert isinstance(out[0], CritiqueDraft) and isinstance(out[2], CritiqueDraft)
    assert isinstance(out[1], Exception)
    assert "developer-1" in meter.asked[0] and "bad" in meter.asked[1]  # in target order


def test_parallel_critiques_send_them_at_once():
    meter = Meter()
    m = Member("qa-1", "qa", load("roles.yaml").get("qa"), ScriptedChatModel(script=meter),
               parallel_critiques=3)  # fmt: skip
    out = m.critiques(brief(), proposals("developer-1", "developer-2", "developer-3"))
    m.close()
    assert meter.peak > 1 and all(isinstance(c, CritiqueDraft) for c in out)
