"""Agents that change code: the one-shot edit author and the bounded tool loop."""

from __future__ import annotations

from fleet.agents.author import PatchFailed, author_messages, write_change, write_patch
from fleet.agents.options import PatchRequest, SamplingOptions
from fleet.prompts import render

__all__ = [
    "EDIT_FORMAT",
    "PatchFailed",
    "PatchRequest",
    "SamplingOptions",
    "author_messages",
    "write_change",
    "write_patch",
]


def __getattr__(name: str) -> str:
    """``EDIT_FORMAT``: the template ``author.edit_format``, rendered when read (the prompts are
    loaded on first use, not on import)."""
    if name == "EDIT_FORMAT":
        return render("author.edit_format")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
