"""Context packs: role/phase scoping, real-token budgets, compression and redaction.

- ``redact`` / ``RedactingFilter``: mask secrets in prompts, events and logs.
- ``StoryDigest``: a story's timeline folded incrementally into what packs need.
- ``ContextBuilder``: digest + scopes + tokenizer -> ``ContextPack``.
- ``ContextEngine``: keeps digests current from the event log and caches packs.
"""

from __future__ import annotations

from fleet.context.builder import ContextBuilder
from fleet.context.digest import StoryDigest
from fleet.context.redact import RedactingFilter, redact
from fleet.context.service import ContextEngine, MemoryScratch

__all__ = [
    "ContextBuilder",
    "ContextEngine",
    "MemoryScratch",
    "RedactingFilter",
    "StoryDigest",
    "redact",
]
