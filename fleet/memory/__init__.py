"""Memory: event -> graph mapping, projector, report, rehydration (pure; adapters injected)."""

from fleet.memory.projector import Projector
from fleet.memory.rehydrate import StoryStatus, rehydrate, story_status
from fleet.memory.report import Report, build_report, render_report, report_markdown

__all__ = [
    "Projector",
    "Report",
    "StoryStatus",
    "build_report",
    "rehydrate",
    "render_report",
    "report_markdown",
    "story_status",
]
