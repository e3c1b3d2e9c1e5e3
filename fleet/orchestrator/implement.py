"""Turning a council's winning answer into a concrete change: whole files, schema-constrained.

The council decides *what* to do in a few short fields; the developer's model then
writes the files. Whole files (not diffs) because a small model cannot count diff
line numbers; the workspace runner applies them and the tests judge them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from fleet.contracts import ChatMessage, Proposal, Story, Task
from fleet.ports import ChatModel
from fleet.structured import structured

MAX_FILE_CHARS = 4_000


class FileChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$",
                      description="repository-relative path")
    content: str = Field(max_length=MAX_FILE_CHARS, description="the whole new file")


class Change(BaseModel):
    """The developer's change: whole files to write."""

    model_config = ConfigDict(extra="forbid")

    files: list[FileChange] = Field(min_length=1, max_length=3)


def prompt(story: Story, task: Task, winner: Proposal | None, files: Mapping[str, str],
           findings: Sequence[str]) -> list[ChatMessage]:
    """The implementation request: story, task, the council's decision, the code, the findings."""
    code = "\n\n".join(f"### {path}\n{text[:MAX_FILE_CHARS]}" for path, text in sorted(files.items()))
    lines = [
        f"Story: {story.title}", story.description,
        "Acceptance criteria:", *(f"- {c}" for c in story.acceptance_criteria),
        f"Task: {task.description}",
    ]
    if winner is not None:
        lines.append(f"The team decided: {winner.content}")
    if findings:
        lines += ["The last attempt failed; fix this:", *(f"- {f}" for f in findings[:8])]
    lines += ["Repository files:", code,
              "Reply with the complete new content of each file you change or add, tests included."]
    return [
        ChatMessage(role="system", content="You are a careful Python developer. Keep existing code working."),
        ChatMessage(role="user", content="\n".join(lines)),
    ]


def implement(chat: ChatModel, story: Story, task: Task, winner: Proposal | None,
              files: Mapping[str, str], findings: Sequence[str], *, max_tokens: int = 900,
              seed: int = 0) -> dict[str, str]:
    """Ask ``chat`` for the change; returns path -> content.

    Raises:
        InvalidModelOutput: the model's output never matched the schema.
        ModelUnavailable / BudgetExceeded: from the model.
    """
    change = structured(chat, prompt(story, task, winner, files, findings), Change,
                        max_tokens=max_tokens, seed=seed, name="developer")
    return {f.path: f.content for f in change.files}
