"""ChatModel over any OpenAI-compatible ``/v1/chat/completions`` endpoint (the ``openai`` SDK).

Used for every served backend: the embedded llama.cpp Serve app, ``ray.serve.llm``
(vLLM) apps and external providers. Connection errors, timeouts, 429 and 5xx are
retried with exponential backoff, then reported as :class:`ModelUnavailable`
naming the URL, so a router can fall back to the next model.

Structured output: with ``strict=True`` (hosted OpenAI) the schema is sent in strict form
(every property required, ``additionalProperties: false``; see
:mod:`fleet.adapters.strict_schema`) and the nulls that form allows are removed from the
reply; llama.cpp and vLLM enforce any schema by grammar and get it as it is.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from fleet.adapters.strict_schema import drop_optional_nulls, to_strict
from fleet.contracts import ChatMessage, ChatResponse
from fleet.errors import ModelUnavailable
from fleet.settings import settings

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
NO_KEY = "not-needed"  # the SDK insists on a key; local servers ignore it

ALLOW_MODEL_REQUESTS = True
"""``False`` makes every request fail at once (``tests/unit`` sets it: unit tests never reach a model)."""


class ModelRequestsForbidden(RuntimeError):
    """A model request while :data:`ALLOW_MODEL_REQUESTS` is off: a test bug, never retried."""


@dataclass(frozen=True, kw_only=True)
class Retry:
    """One request's time limit, and how often (with what backoff) a failed one is repeated."""

    timeout_s: float = 60.0
    max_retries: int = 2
    backoff_s: float = 0.2


class OpenAIChatModel:
    """OpenAI-compatible chat client with timeouts and bounded retries.

    Picklable: the SDK client is created lazily in whichever process uses it,
    so the object can be passed to (or built inside) a Ray actor.
    """

    def __init__(
        self,
        base_url: str,
        model_id: str,
        *,
        api_key: str | None = None,
        retry: Retry = Retry(),
        name: str | None = None,
        strict: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_id = model_id
        self.api_key = api_key
        self.timeout_s = retry.timeout_s
        self.max_retries = retry.max_retries
        self.backoff_s = retry.backoff_s
        self.name = name or model_id
        self.strict = strict
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _sdk(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                # retries are ours (bounded, logged in the error); the SDK makes one attempt
                self._client = openai.OpenAI(
                    base_url=self.base_url,
                    api_key=self.api_key or NO_KEY,
                    timeout=self.timeout_s,
                    max_retries=0,
                )
            return self._client

    def close(self) -> None:
        """Release the connection pool (optional; also freed with the object)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def body(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: dict[str, Any] | None,
        temperature: float,
        seed: int | None,
        max_tokens: int,
    ) -> dict[str, Any]:
        """The request fields (``response_format`` json_schema when a schema is given)."""
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            body["seed"] = seed
        if schema is not None:
            spec: dict[str, Any] = {"name": "response", "schema": schema}
            if self.strict:
                spec = {"name": "response", "schema": to_strict(schema), "strict": True}
            body["response_format"] = {"type": "json_schema", "json_schema": spec}
        return body

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
        """One completion (``stop``: OpenAI's, sent when given).

        Raises:
            ModelUnavailable: connection refused, timeout, 429/5xx after retries, other
                HTTP errors, or a response that is not an OpenAI chat completion.
        """
        body = self.body(
            messages, schema=schema, temperature=temperature, seed=seed, max_tokens=max_tokens
        )
        if stop:
            body["stop"] = list(stop)
        start = time.monotonic()
        data = self._post(body)
        try:
            text = data.choices[0].message.content or ""
            usage = data.usage
            cut = getattr(data.choices[0], "finish_reason", None) == "length"
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self._unavailable(f"not a chat completion: {str(data)[:200]}") from None
        if schema is not None and self.strict:
            text = self._unstrict(text, schema)
        # the model_trace setting: every completion (request messages, sampling, reply) appended
        # as one JSON line, for reading what a model was asked and said (0600; prompts are
        # already redacted of the repository's secrets)
        if path := settings().model_trace:
            trace(str(path), model=self.name, body=body, reply=text)
        return ChatResponse(
            text=text,
            model=self.name,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            latency_ms=(time.monotonic() - start) * 1000,
            truncated=cut,
        )

    @staticmethod
    def _unstrict(text: str, schema: dict[str, Any]) -> str:
        try:
            return json.dumps(drop_optional_nulls(json.loads(text), schema))
        except ValueError:
            return text  # not JSON: the caller's validation reports it with the raw text

    def _post(self, body: dict[str, Any]) -> Any:
        if not ALLOW_MODEL_REQUESTS:
            raise ModelRequestsForbidden(
                f"model request to {self.url} while openai_chat.ALLOW_MODEL_REQUESTS is False"
            )
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(self.backoff_s * 2 ** (attempt - 1), 5.0))
            try:
                return self._sdk().chat.completions.create(**body)
            except openai.APITimeoutError:
                last = f"timed out after {self.timeout_s:g}s"
            except openai.APIConnectionError as exc:
                last = f"cannot connect ({type(exc.__cause__ or exc).__name__}: {exc})"
            except openai.APIStatusError as exc:
                detail = f"HTTP {exc.status_code}: {exc.response.text[:300]}"
                if exc.status_code not in RETRY_STATUS:
                    raise self._unavailable(detail) from None
                last = detail
            except (openai.APIResponseValidationError, ValueError) as exc:
                raise self._unavailable(f"not a chat completion: {exc}") from None
        raise self._unavailable(f"{last} (after {self.max_retries + 1} attempts)")

    def _unavailable(self, reason: str) -> ModelUnavailable:
        return ModelUnavailable(model=self.name, reason=f"{self.url}: {reason}")


def trace(path: str, *, model: str, body: dict[str, Any], reply: str) -> None:
    """Append one call to the trace file ``path`` (one ``write`` of one line: lines from several
    processes do not interleave)."""
    keep = ("messages", "temperature", "seed", "max_tokens", "response_format")
    record = {"at": time.time(), "model": model, **{k: body[k] for k in keep if k in body}}
    line = json.dumps({**record, "reply": reply}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
