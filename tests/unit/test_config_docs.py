"""Every config schema documents itself: a class docstring and a description on every field.

STYLE.md rule 7 asks for a description on every config field; this keeps it true as schemas grow.
The walk starts at ``fleet.config.SCHEMAS`` and follows field annotations through containers,
optionals and discriminated unions, so nested models (``Thresholds``, ``Toleration``) and union
members (every ``models.yaml`` backend) are checked too.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from typing import Any, get_args

from pydantic import BaseModel

from fleet.config import SCHEMAS, Schema


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """Pydantic models named anywhere inside ``annotation`` (dict values, tuples, unions, Annotated)."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _reachable() -> set[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = list(SCHEMAS.values())
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for field in cls.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return seen


def _schema_classes() -> set[type[BaseModel]]:
    """Reachable schemas, their config-package base classes, and every schema class defined there."""
    out = _reachable()
    out |= {
        base for cls in out for base in cls.__mro__ if base.__module__.startswith("fleet.config")
    }
    for name, module in list(sys.modules.items()):
        if name.startswith("fleet.config"):
            out |= {
                obj
                for _, obj in inspect.getmembers(module, inspect.isclass)
                if issubclass(obj, Schema) and obj.__module__.startswith("fleet.config")
            }
    return out


def test_walk_reaches_nested_models_and_union_members():
    names = {cls.__name__ for cls in _reachable()}
    nested = {
        "TransitionSpec",
        "Thresholds",
        "RigorProfile",
        "Endpoint",
        "Limits",
        "Toleration",
        "SecretRef",
    }
    union_members = {"LlamaCppModel", "VllmModel", "OpenAIModel", "ScriptedModel"}
    assert nested | union_members | {cls.__name__ for cls in SCHEMAS.values()} <= names


def test_every_schema_class_has_a_docstring():
    missing = sorted(
        cls.__qualname__
        for cls in _schema_classes()
        if not (cls.__dict__.get("__doc__") or "").strip()
    )
    assert missing == [], f"config schemas without a class docstring: {missing}"


def test_every_schema_field_has_a_description():
    missing = sorted(
        f"{cls.__qualname__}.{name}"
        for cls in _schema_classes()
        for name, field in cls.model_fields.items()
        if not (field.description or "").strip()
    )
    assert missing == [], f"config fields without description=: {missing}"
