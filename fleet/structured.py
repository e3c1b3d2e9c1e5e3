"""Schema-constrained model calls: ask for JSON matching a pydantic model, validate, retry once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypedDict, TypeVar, Unpack

from pydantic import BaseModel, ValidationError

from fleet.contracts import ChatMessage
from fleet.errors import InvalidModelOutput
from fleet.ports import ChatModel

T = TypeVar("T", bound=BaseModel)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema sent as ``response_format`` for ``model`` (a fresh dict each call)."""
    schema: dict[str, Any] = json.loads(_schema_text(model))
    return schema


@lru_cache(maxsize=256)
def _schema_text(model: type[BaseModel]) -> str:
    # Generating a schema costs ~0.7 ms, more than a scripted call itself; cache the text.
    return json.dumps(model.model_json_schema())


class StructuredOptions(TypedDict, total=False):
    """How ``structured`` samples: ``temperature`` (0.0), ``seed`` (None; + attempt for attempt
    n), ``max_tokens`` (512), ``attempts`` (2: one retry) and the model's ``name`` in errors."""

    temperature: float
    seed: int | None
    max_tokens: int
    attempts: int
    name: str


def structured(
    chat: ChatModel,
    messages: Sequence[ChatMessage],
    schema: type[T],
    **options: Unpack[StructuredOptions],
) -> T:
    """Call ``chat`` with ``schema`` as response format and return the validated object.

    Raises:
        InvalidModelOutput: every attempt returned text that does not validate (raw text attached).
        ModelUnavailable / BudgetExceeded: from the underlying model.
    """
    if unknown := set(options) - set(StructuredOptions.__annotations__):
        raise TypeError(f"unknown structured option(s): {', '.join(sorted(unknown))}")
    temperature, seed = options.get("temperature", 0.0), options.get("seed")
    max_tokens, name = options.get("max_tokens", 512), options.get("name", "model")
    raw, reason = "", ""
    for attempt in range(options.get("attempts", 2)):
        response = chat.complete(
            messages,
            schema=json_schema(schema),
            temperature=temperature,
            seed=None if seed is None else seed + attempt,
            max_tokens=max_tokens,
        )
        raw = response.text
        try:
            return schema.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = f"{'.'.join(str(p) for p in first['loc']) or 'output'}: {first['msg']}"
            name = response.model or name
    raise InvalidModelOutput(model=name, reason=reason, raw=raw)
