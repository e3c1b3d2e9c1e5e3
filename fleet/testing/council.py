"""Deterministic council members for tests and benchmarks: scripts for ``ScriptedChatModel``.

The script reads the prompt a member sends and answers each step with predictable JSON:
proposals name their author, ballots rank a chosen favourite first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from fleet.contracts import ChatMessage
from fleet.errors import ModelUnavailable

_LISTED = re.compile(r"^(\d+)\. \[([^\]]+)\]", re.MULTILINE)


def agent_of(messages: Sequence[ChatMessage]) -> str:
    """The member a prompt is from: its request names it ("You are developer-1.")."""
    said = "\n".join(m.content for m in messages)
    found = re.search(r"You are ([\w-]+-\d+)\.", said)
    return found.group(1) if found else "unknown"


def numbers(messages: Sequence[ChatMessage]) -> dict[str, int]:
    """author -> proposal number, from the prompt's listing."""
    return {author: int(n) for n, author in _LISTED.findall(messages[-1].content)}


class Voter:
    """A picklable script: proposes ``<agent> plan``, ranks ``favourite`` (else itself) first.

    ``stubborn``: never changes its proposal and always ranks its own first.
    ``command``: the test command its proposals carry (evidence-weighted voting).
    """

    def __init__(
        self, favourite: str | None = None, *, stubborn: bool = False, command: str = ""
    ) -> None:
        self.favourite = favourite
        self.stubborn = stubborn
        self.command = command

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        me = agent_of(messages)
        title = (schema or {}).get("title", "")
        text = messages[-1].content
        if title == "ProposalDraft":
            revised = "Your proposal:" in text and not self.stubborn
            answer = f"{me} plan" + (" revised" if revised else "")
            return json.dumps(
                {"answer": answer, "reason": f"{me} thinks so", "test_command": self.command}
            )
        if title == "CritiqueDraft":
            return json.dumps({"severity": "minor", "comment": f"{me} has a remark"})
        listed = numbers(messages)
        pick = me if self.stubborn or self.favourite is None else self.favourite
        first = listed.get(pick, 1)
        ranking = [first] + [n for n in sorted(listed.values()) if n != first]
        scores = [10 if n == first else 3 for n in sorted(listed.values())]
        return json.dumps({"ranking": ranking, "scores": scores, "reason": f"{me} prefers {pick}"})


class Broken:
    """A script whose model is always down."""

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        raise ModelUnavailable(model="broken", reason="scripted outage")


class Coder(Voter):
    """A Voter that also writes patches: ``first`` is its reply to a patch request (edit blocks),
    ``revised`` its reply once it has seen results (default: ``first`` again)."""

    def __init__(
        self,
        first: str,
        revised: str | None = None,
        favourite: str | None = None,
        *,
        stubborn: bool = False,
    ) -> None:
        super().__init__(favourite, stubborn=stubborn)
        self.first, self.revised = first, revised

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        if schema is not None:
            return super().__call__(messages, schema)
        revising = any("Your current patch" in m.content for m in messages)
        return self.revised if revising and self.revised is not None else self.first
