"""What the build pipeline asks of the world: repositories, the council, QA, the workspace.

The actors pass implementations over Ray handles and the adapters (``actors/story_ports.py``);
tests pass plain objects. Each port says what "could not run" raises; a failed change is a
result, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fleet.contracts import (
    ContextPack,
    Deliberation,
    Patch,
    RunContext,
    TestOutcome,
    WorkspaceReport,
)
from fleet.council import Brief, DeliberationRequest
from fleet.evidence import EvidenceSuite

# (story_id, role, phase, task_id, local repository, commit) -> the pack for that call
ContextSource = Callable[[str, str, str, str | None, str, str], ContextPack]


class Repository(Protocol):
    """A local git repository, read at a commit (``fleet.adapters.git_repo.GitRepo``)."""

    path: str

    def commit(self, ref: str = "HEAD") -> str: ...

    def files(self, ref: str) -> dict[str, str]: ...

    def read(self, ref: str, path: str) -> str | None: ...

    def check(self, patch: Patch) -> str | None:
        """Why ``patch`` does not apply to a clean checkout of its base, or None."""
        ...


@dataclass(frozen=True)
class Checkout:
    """The code a task builds on: a local repository, its branch (None: the default) and commit."""

    repo: Repository
    branch: str | None
    commit: str


class Sources(Protocol):
    """Local copies of a story's code: a local repository as it is, a URL cloned once per story.

    Raises:
        InvalidInput: the source is refused (a path outside the roots, a scheme not allowed).
        WorkspaceUnavailable: the clone failed.
    """

    def checkout(self, story_id: str, source: str, base: str | None) -> Checkout: ...


class Baseline(Protocol):
    """Runs an evidence suite on the base commit itself (no patch).

    Raises:
        SandboxUnavailable: the sandbox could not run it.
    """

    def baseline(
        self, suite: EvidenceSuite, *, source: str, base: str | None, context: RunContext
    ) -> Sequence[TestOutcome]: ...


class QaTeam(Protocol):
    """The council's QA members, asked concurrently; a member that fails adds nothing and is
    named in the notes (its candidates are optional evidence)."""

    def __len__(self) -> int: ...

    def write_tests(
        self, brief: Brief, criteria: Sequence[str], notes: list[str]
    ) -> list[Mapping[str, str]]: ...

    def write_examples(
        self, brief: Brief, criteria: Sequence[str], notes: list[str]
    ) -> list[Sequence[str]]: ...


class CouncilRunner(Protocol):
    """Runs one deliberation on the council (``BudgetExceeded`` / ``QuorumLost`` pass through)."""

    def run(self, request: DeliberationRequest) -> Deliberation: ...


@dataclass(frozen=True)
class Checked:
    """A change applied in a fresh workspace and checked there (not gated, not committed)."""

    workspace: str
    base_commit: str
    rejected: str = ""  # why the change did not apply (then there is no report)
    report: WorkspaceReport | None = None
    failing: tuple[str, ...] = ()


class Workspace(Protocol):
    """The workspace runner: a fresh clone with the change applied and checked in the sandbox,
    then committed or discarded on the pipeline's gate verdict.

    Raises:
        WorkspaceUnavailable: the source could not be cloned.
        SandboxUnavailable: the sandbox could not run the checks.
    """

    @property
    def keep(self) -> bool:
        """Whether workspaces stay after the run (for inspection)."""
        ...

    def check_change(
        self,
        source: str,
        change: str,
        *,
        branch: str,
        context: RunContext,
        base: str | None,
    ) -> Checked: ...

    def commit(self, ws: Path, message: str) -> str: ...

    def remove(self, ws: str | Path) -> None: ...
