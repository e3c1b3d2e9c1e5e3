"""Memory: event -> graph mapping, projector, report, rehydration (pure; adapters injected)."""

from fleet.memory.projector import Projector
from fleet.memory.rehydrate import StoryStatus, fold, rehydrate
from fleet.memory.report import Report, build_report, render_report, report_markdown

__all__ = [
    "Projector",
    "Report",
    "StoryStatus",
    "build_report",
    "fold",
    "rehydrate",
    "render_report",
    "report_markdown",
]
