"""Where a task's code is: the story's latest committed workspace, else its repository."""

from __future__ import annotations

from fleet.contracts import Story
from fleet.errors import UserError
from fleet.orchestrator.view import StoryView
from fleet.pipeline.ports import Checkout, Sources


def source_of(story: Story, view: StoryView) -> tuple[str, str | None]:
    """(source, branch) the next task builds on: each task builds on the last committed one, so
    history accumulates and a restart loses nothing."""
    committed = view.source()
    if committed is not None:
        return committed
    if not story.repo:
        raise UserError(f"story {story.id} has no repository: set 'repo' to a git URL or path")
    return story.repo, story.branch


def checkout(sources: Sources, story: Story, view: StoryView) -> Checkout:
    """The local repository, branch and commit the council's patches and the executor's change
    are made against (the same for both: a URL is cloned once per story)."""
    source, base = source_of(story, view)
    return sources.checkout(story.id, source, base)
