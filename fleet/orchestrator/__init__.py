"""The orchestrator's pure logic: fold a story's timeline, decide its next step, drive it."""

from fleet.orchestrator.decide import next_step
from fleet.orchestrator.view import StoryView, fold

__all__ = ["StoryView", "fold", "next_step"]
