"""Shared pieces of the config schemas: the base model and the domain vocabularies."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
)

DIMENSIONS = ("build", "unit", "coverage", "static_analysis", "lint", "e2e")
STATES = ("BACKLOG", "DRAFT", "DESIGN", "BUILD", "TEST", "DOCS", "DONE")
PHASES = ("draft", "design", "build", "test", "docs")
# Identities of the fleet's own machinery (not team roles): policy.yaml may give them rules.
SYSTEM_ROLES = ("runner", "installer")


class Schema(BaseModel):
    """Base of every config schema: frozen, and an unknown key is an error (``extra="forbid"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
