"""Agents that change code: the one-shot edit author and the bounded tool loop."""

from __future__ import annotations

from fleet.agents.author import (
    EDIT_FORMAT,
    PatchFailed,
    author_messages,
    write_change,
    write_patch,
)

__all__ = ["EDIT_FORMAT", "PatchFailed", "author_messages", "write_change", "write_patch"]
