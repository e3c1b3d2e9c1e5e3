"""First-class fakes of the ports, for tests and benchmarks that isolate logic.

They are injected, never patched in, and every port they stand for also has a
test against the real component. ``ScriptedChatModel`` is also the ``scripted`` model backend
(see :mod:`fleet.testing`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from fleet.contracts import ChatMessage, ChatResponse, FleetEvent
from fleet.errors import ModelUnavailable, VersionConflict

Mode = Literal["EXCELLENT", "POOR", "STUBBORN", "ERROR_PRONE", "SLOW"]
Script = Callable[[Sequence[ChatMessage], dict[str, Any] | None], str]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._start = self._ms = start_ms

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._ms / 1000

    def advance(self, ms: int) -> None:
        self._ms += ms

    def at(self, seconds: float) -> FakeClock:
        """Set to ``seconds`` after the start; returns the clock (``clock=c.at(10)``)."""
        self._ms = self._start + int(seconds * 1000)
        return self


def _digest(*parts: object) -> int:
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16)


def instance_of(
    schema: dict[str, Any], *, text: str, seed: int, defs: dict[str, Any] | None = None
) -> Any:
    """A deterministic instance of a JSON schema; strings are built from ``text``."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return instance_of(defs[schema["$ref"].split("/")[-1]], text=text, seed=seed, defs=defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return instance_of(options[0], text=text, seed=seed, defs=defs)
    if "enum" in schema:
        return schema["enum"][seed % len(schema["enum"])]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {
            k: instance_of(v, text=f"{text} {k}", seed=seed + i, defs=defs)
            for i, (k, v) in enumerate(props.items())
        }
    if kind == "array":
        n = max(1, schema.get("minItems", 1))
        return [
            instance_of(schema.get("items", {}), text=text, seed=seed + i, defs=defs)
            for i in range(n)
        ]
    if kind == "integer":
        lo, hi = schema.get("minimum", 0), schema.get("maximum", 10)
        return lo + seed % (hi - lo + 1)
    if kind == "number":
        lo, hi = schema.get("minimum", 0.0), schema.get("maximum", 10.0)
        return lo + (seed % 100) / 100 * (hi - lo)
    if kind == "boolean":
        return seed % 2 == 0
    return text.strip()[: schema.get("maxLength", 400)]


def stopped(text: str, stop: Sequence[str], messages: Sequence[ChatMessage] = ()) -> str:
    """``text`` ended before the first ``stop`` string, as a server does: only generated text
    is searched, not a trailing assistant turn the reply begins with (a prefill)."""
    last = messages[-1] if messages else None
    begun = last.content if last is not None and last.role == "assistant" else ""
    head = begun if begun and text.startswith(begun) else ""
    rest = text[len(head) :]
    cut = min((i for s in stop if s and (i := rest.find(s)) >= 0), default=len(rest))
    return head + rest[:cut]


class ScriptedChatModel:
    """Deterministic ChatModel. ``script`` (messages, schema) -> text overrides the modes.

    Modes: EXCELLENT answers thoroughly; POOR answers tersely; STUBBORN gives the
    same answer whatever it is asked; ERROR_PRONE fails every other call;
    SLOW waits ``latency_ms`` before an EXCELLENT answer.
    """

    def __init__(
        self,
        mode: Mode = "EXCELLENT",
        *,
        name: str = "scripted",
        latency_ms: float = 0.0,
        script: Script | None = None,
    ) -> None:
        self.mode = mode
        self.name = name
        self.latency_ms = latency_ms
        self.script = script
        self.calls = 0
        self._lock = threading.Lock()

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
        start = time.monotonic()
        with self._lock:
            self.calls += 1
            call = self.calls
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.mode == "ERROR_PRONE" and call % 2 == 0:
            raise ModelUnavailable(model=self.name, reason=f"scripted failure on call {call}")
        text = (
            self.script(messages, schema)
            if self.script
            else self._answer(messages, schema, seed or 0)
        )
        text = stopped(text, stop, messages)
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        return ChatResponse(
            text=text,
            model=self.name,
            prompt_tokens=prompt_tokens,
            completion_tokens=min(max_tokens, len(text.split())),
            latency_ms=(time.monotonic() - start) * 1000,
        )

    def _answer(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None, seed: int
    ) -> str:
        last = messages[-1].content if messages else ""
        if self.mode == "STUBBORN":
            last, seed = "my original answer stands", 0
        elif self.mode == "POOR":
            last = " ".join(last.split()[:3]) or "ok"
        else:
            last = f"Answer to: {' '.join(last.split()[:40])}"
        seed = seed + _digest(last) % 1000
        if schema is None:
            return last
        return json.dumps(instance_of(schema, text=last, seed=seed))


class InMemoryEventLog:
    """EventLog in process memory: idempotent append, per-story order, CAS checkpoints."""

    def __init__(self) -> None:
        self._streams: dict[str, list[tuple[str, FleetEvent]]] = {}
        self._ids: dict[str, str] = {}
        self._checkpoints: dict[str, tuple[int, dict[str, Any]]] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def append(self, event: FleetEvent) -> str:
        with self._lock:
            if event.id in self._ids:
                return self._ids[event.id]
            self._seq += 1
            entry = f"{self._seq}-0"
            self._streams.setdefault(event.story_id, []).append((entry, event))
            self._ids[event.id] = entry
            return entry

    def read(
        self, story_id: str, *, after: str = "0", count: int | None = None
    ) -> list[tuple[str, FleetEvent]]:
        after_seq = int(after.split("-")[0])
        out = [
            (e, ev) for e, ev in self._streams.get(story_id, []) if int(e.split("-")[0]) > after_seq
        ]
        return out[:count] if count else out

    def stories(self) -> list[str]:
        return sorted(self._streams)

    def checkpoint_get(self, key: str) -> tuple[int, dict[str, Any] | None]:
        version, value = self._checkpoints.get(key, (0, None))
        return version, value

    def checkpoint_put(self, key: str, value: dict[str, Any], *, expected_version: int) -> int:
        with self._lock:
            version, _ = self._checkpoints.get(key, (0, None))
            if version != expected_version:
                raise VersionConflict(key=key, expected=expected_version, actual=version)
            self._checkpoints[key] = (version + 1, value)
            return version + 1
