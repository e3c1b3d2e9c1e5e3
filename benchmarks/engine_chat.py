"""The benchmarks' model: an in-process llama.cpp engine (the embedded model server's engine) that
counts tokens, and the fleet's routing of one model to developers and another to the other roles.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleet.contracts import ChatMessage, ChatResponse

if TYPE_CHECKING:
    from fleet.config.models import LlamaCppModel


class EngineChat:
    """``ChatModel`` over an in-process llama.cpp engine (the embedded model server's engine),
    counting tokens per arm."""

    def __init__(self, gguf: str, *, threads: int = 2) -> None:
        from serve_apps.llm.engine import LlamaCppEngine

        spec, draft = served_spec(gguf, threads=threads)
        self.engine = LlamaCppEngine(spec, served_name=Path(gguf).stem, draft=draft)
        self.name = Path(gguf).stem
        self.tokens = 0
        self._lock = threading.Lock()
        self.trace: Path | None = None  # --trace: every call appended as a JSON line
        self.label = ""  # the arm and task being run, for the trace

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
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            body["seed"] = seed
        if stop:
            body["stop"] = list(stop)
        if schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"schema": schema}}
        start = time.monotonic()
        out = self.engine.chat(body)
        usage = out.get("usage", {})
        text = out["choices"][0]["message"]["content"] or ""
        with self._lock:
            self.tokens += usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
            if self.trace is not None:
                timings = {
                    k: v
                    for k, v in out.get("timings", {}).items()
                    if k.startswith(("draft", "predicted", "prompt"))
                }
                call = {"at": time.time(), "label": self.label, "model": self.name, **body,
                        "reply": text, "usage": usage, "timings": timings,
                        "seconds": round(time.monotonic() - start, 2)}  # fmt: skip
                with self.trace.open("a") as f:
                    f.write(json.dumps(call) + "\n")
        return ChatResponse(
            text=text,
            model=self.name,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            latency_ms=(time.monotonic() - start) * 1000,
            truncated=out["choices"][0].get("finish_reason") == "length",
        )

    def for_role(self, role: str) -> EngineChat:
        """The model a member of ``role`` is served by: this one for every role."""
        return self


def served_spec(gguf: str, *, threads: int = 2) -> tuple[LlamaCppModel, LlamaCppModel | None]:
    """The engine settings ``config/models.yaml`` serves ``gguf`` with (slots, context, shared
    cache, speculation, prompt cache), read from the model whose GGUF file has this name, with
    this path and ``threads``; and its draft model's spec when it drafts with one. A file no
    model names gets one slot and an 8k context. The benchmark then runs members' calls the way
    the fleet's model server does."""
    from fleet.config import load
    from fleet.config.models import LlamaCppModel

    models = load("models.yaml").models
    path = str(Path(gguf).expanduser())
    here = {"gguf": path, "parts": (), "n_threads": threads}
    for spec in models.values():
        if isinstance(spec, LlamaCppModel) and Path(spec.gguf).name == Path(path).name:
            sd = spec.speculative
            draft = models.get(sd.draft_model) if sd is not None and sd.draft_model else None
            assert draft is None or isinstance(draft, LlamaCppModel)  # checked when loaded
            return spec.model_copy(update=here), draft
    return LlamaCppModel(backend="llamacpp", n_ctx=8192, n_parallel=1, **here), None


def developer_routed() -> frozenset[str]:
    """The roles ``config/models.yaml`` routes to the developer's model first."""
    from fleet.config import load

    routing = load("models.yaml").routing
    return frozenset(r for r, chain in routing.items() if chain[0] == routing["developer"][0])


class RoutedChat:
    """The developer's model on one engine for the roles ``config/models.yaml``'s routing sends to
    it (``developer_routed``), every other role on another, as the fleet is served
    (``--developer-model``). Whoever calls :meth:`complete` directly is building a change (the
    ``single`` arm's and the build step's developer, ``raw``): the developer's model. Tokens are
    the two engines' together."""

    def __init__(
        self, default: EngineChat, developer: EngineChat, roles: frozenset[str] | None = None
    ) -> None:
        self.default, self.developer = default, developer
        self.roles = developer_routed() if roles is None else roles
        self.name = f"{developer.name} ({', '.join(sorted(self.roles))}) + {default.name}"

    @property
    def tokens(self) -> int:
        return self.default.tokens + self.developer.tokens

    @property
    def label(self) -> str:
        return self.developer.label

    @label.setter
    def label(self, value: str) -> None:
        self.default.label = self.developer.label = value

    @property
    def trace(self) -> Path | None:
        return self.developer.trace

    @trace.setter
    def trace(self, value: Path | None) -> None:
        self.default.trace = self.developer.trace = value

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
        return self.developer.complete(messages, **kw)

    def for_role(self, role: str) -> EngineChat:
        return self.developer if role in self.roles else self.default
