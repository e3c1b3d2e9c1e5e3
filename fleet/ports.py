"""Ports: the only ways the domain reaches the outside world.

Adapters in ``fleet/adapters/`` implement these; fakes in ``fleet/testing/fakes.py``
implement them in memory for tests that isolate logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from fleet.contracts import ChatMessage, ChatResponse, FleetEvent, Patch, TaskResult, TaskSpec


@runtime_checkable
class Clock(Protocol):
    """Wall time in epoch milliseconds and a monotonic timer in seconds."""

    def now_ms(self) -> int:
        """Wall-clock time in milliseconds since the epoch (for timestamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never goes back (for durations and deadlines)."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """Per-story append-only timeline (one Redis stream per story).

    Contract: ``append`` is idempotent on ``event.id``; ``read`` returns events
    in append order; consumer groups give each group every event once and
    resume from the last acknowledged entry after a crash.
    """

    def append(self, event: FleetEvent) -> str:
        """Store ``event``; return its stream entry id (the existing one if a duplicate).

        Raises:
            StorageUnavailable: the store cannot be reached.
        """
        ...

    def read(
        self, story_id: str, *, after: str = "0", count: int | None = None
    ) -> list[tuple[str, FleetEvent]]:
        """Events of one story after entry id ``after``, oldest first.

        Raises:
            StorageUnavailable: the store cannot be reached.
        """
        ...

    def stories(self) -> list[str]:
        """Ids of every story with a timeline."""
        ...

    def checkpoint_get(self, key: str) -> tuple[int, dict[str, Any] | None]:
        """Return ``(version, value)``; version 0 and ``None`` when unset."""
        ...

    def checkpoint_put(self, key: str, value: dict[str, Any], *, expected_version: int) -> int:
        """Compare-and-set: write if the stored version equals ``expected_version``.

        Returns the new version.

        Raises:
            VersionConflict: the stored version is not ``expected_version``.
        """
        ...


@runtime_checkable
class DecisionGraph(Protocol):
    """Long-term memory: who decided what, when, why (Cypher graph).

    Contract: every write is an idempotent MERGE by id, so projecting the same
    events twice leaves the graph unchanged.
    """

    def project(self, event: FleetEvent) -> None:
        """Mirror one timeline event into the graph (idempotent).

        Raises:
            StorageUnavailable: the graph cannot be reached.
        """
        ...

    def decisions(self, story_id: str) -> list[dict[str, Any]]:
        """Who decided what, when and why for a story, with rejected alternatives.

        Raises:
            StorageUnavailable: the graph cannot be reached.
        """
        ...


@runtime_checkable
class ChatModel(Protocol):
    """OpenAI-compatible chat completions, optionally schema-constrained."""

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
        """One completion; ``stop``: the reply ends before the first of these strings is
        generated (OpenAI's ``stop``; the string itself is left out).

        Raises:
            ModelUnavailable: connection refused, 5xx or timeout after retries.
            BudgetExceeded: the caller's token or cost budget is spent.
        """
        ...


@runtime_checkable
class Sandbox(Protocol):
    """Runs a ``TaskSpec`` in isolation.

    "The sandbox could not run" is an exception; "the command failed" is a
    ``TaskResult`` with its status and exit code.
    """

    def run(self, spec: TaskSpec) -> TaskResult:
        """Run ``spec.cmd`` under its limits and return what happened.

        Raises:
            SandboxUnavailable: the backend is missing or broken (never falls back to unsandboxed).
        """
        ...


@runtime_checkable
class Tokenizer(Protocol):
    """The serving model's real tokenizer (token budgets are never a chars/4 guess)."""

    def count(self, text: str) -> int:
        """Tokens ``text`` costs in a prompt (no BOS/EOS added)."""
        ...

    def truncate(self, text: str, n: int) -> str:
        """The longest prefix of ``text`` that costs at most ``n`` tokens."""
        ...


@runtime_checkable
class PatchChecker(Protocol):
    """Checks a ``Patch`` against a clean checkout of its base commit (``git apply --check``)."""

    def check(self, patch: Patch) -> str | None:
        """Why ``patch`` does not apply (a reason a model can act on), or None when it applies.

        Raises:
            WorkspaceUnavailable: the repository cannot be read at all.
        """
        ...
