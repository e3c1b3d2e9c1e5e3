"""Make a JSON schema acceptable to OpenAI's strict structured outputs, and undo it on the reply.

Strict mode (``response_format.json_schema.strict: true``) accepts an object schema only if
every property is listed in ``required`` and ``additionalProperties`` is ``false``, on every
object, nested ones and ``$defs`` included; ``default`` is not allowed. Pydantic schemas have
optional fields (with defaults), so :func:`to_strict` makes each optional property required
but nullable, and :func:`drop_optional_nulls` removes those nulls from the reply again, so the
field's default applies when the reply is validated against the original model.
"""

from __future__ import annotations

import copy
from typing import Any

NULL = {"type": "null"}


def to_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict-mode copy of ``schema`` (the input is not modified)."""
    out = copy.deepcopy(schema)
    _walk(out)
    return out


def _walk(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item)
        return
    if not isinstance(node, dict):
        return
    node.pop("default", None)
    if node.get("type") == "object" or "properties" in node:
        props = node.setdefault("properties", {})
        required = set(node.get("required", []))
        for name, prop in props.items():
            if name not in required:
                props[name] = _nullable(prop)
        node["required"] = list(props)
        node["additionalProperties"] = False
    for value in node.values():
        _walk(value)


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    prop = dict(prop)
    prop.pop("default", None)
    if NULL in prop.get("anyOf", []):
        return prop
    return {"anyOf": [prop, dict(NULL)]}


def drop_optional_nulls(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` without the nulls :func:`to_strict` allowed for originally optional properties."""
    defs = schema.get("$defs", {})

    def resolve(s: dict[str, Any]) -> dict[str, Any]:
        ref = s.get("$ref", "")
        return defs.get(ref.rsplit("/", 1)[-1], s) if ref.startswith("#/$defs/") else s

    def clean(v: Any, s: dict[str, Any]) -> Any:
        s = resolve(s)
        if isinstance(v, dict) and "properties" in s:
            required = set(s.get("required", []))
            return {
                k: clean(x, s["properties"].get(k, {}))
                for k, x in v.items()
                if not (x is None and k not in required)
            }
        if isinstance(v, list) and isinstance(s.get("items"), dict):
            return [clean(x, s["items"]) for x in v]
        for option in s.get("anyOf", []):
            if isinstance(option, dict) and option.get("type") != "null":
                return clean(v, option)
        return v

    return clean(value, schema)
