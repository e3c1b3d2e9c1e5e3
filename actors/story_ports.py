"""The build pipeline's ports (:mod:`fleet.pipeline.ports`) over Ray handles and the adapters.

Each class only translates: a port call becomes remote calls, a clone or a runner call.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ray

from fleet.adapters import git_host
from fleet.adapters.git_repo import GitRepo
from fleet.council import Brief
from fleet.diffscope import added_lines
from fleet.pipeline.ports import Checked, Checkout

READ_BRANCH = "fleet/read"  # the branch of a story's local clone of a remote repository


class StorySources:
    """``Sources``: a local repository as it is; a URL cloned once per story under ``root``
    (the council and the executor read the same clone, so the council's patches are diffs
    against the very commit the executor applies the winner to)."""

    def __init__(self, root: Path, clone: Callable[..., Path]) -> None:
        self.root = root
        self._clone = clone  # a runner's ``prepare``: the source and branch checks, the clone
        self._lock = threading.Lock()  # parallel tasks of a story share its clone

    def checkout(self, story_id: str, source: str, base: str | None) -> Checkout:
        if Path(source).is_dir():
            git = GitRepo(source)
            return Checkout(git, base, git.commit(base or "HEAD"))
        name = hashlib.sha256(f"{story_id}\n{source}@{base}".encode()).hexdigest()[:16]
        local = self.root / name
        with self._lock:
            if not local.is_dir():
                self.root.mkdir(parents=True, exist_ok=True)
                # moved, not renamed: the runner's root may be on another file system
                shutil.move(self._clone(source, branch=READ_BRANCH, base=base), local)
        git = GitRepo(local)
        return Checkout(git, READ_BRANCH, git.commit(READ_BRANCH))


class RayQaTeam:
    """``QaTeam`` over the QA members' agent actors, asked concurrently with a timeout."""

    def __init__(self, handles: Sequence[Any], *, timeout_s: float) -> None:
        self.handles, self.timeout_s = list(handles), timeout_s

    def __len__(self) -> int:
        return len(self.handles)

    def _gather(self, refs: list[Any], what: str, notes: list[str]) -> list[Any]:
        out = []
        for ref in refs:
            try:
                out.append(ray.get(ref, timeout=self.timeout_s))
            except Exception as exc:  # noqa: BLE001 - a QA candidate is optional evidence
                notes.append(f"a QA member wrote no {what}: {type(exc).__name__}")
        return out

    def write_tests(
        self, brief: Brief, criteria: Sequence[str], notes: list[str]
    ) -> list[Mapping[str, str]]:
        refs = [h.write_tests.remote(brief, tuple(criteria)) for h in self.handles]
        return [got for got in self._gather(refs, "tests", notes) if isinstance(got, dict)]

    def write_examples(
        self, brief: Brief, criteria: Sequence[str], notes: list[str]
    ) -> list[Sequence[str]]:
        refs = [h.write_examples.remote(brief, tuple(criteria)) for h in self.handles]
        return [got for got in self._gather(refs, "examples", notes) if isinstance(got, list)]


class LazyBaseline:
    """``Baseline`` through an evidence runner made on first use (a stored suite needs none)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make: Callable[[], Any] = make
        self._runner: Any = None

    def baseline(self, suite: Any, *, source: str, base: str | None, context: Any) -> Any:
        if self._runner is None:
            self._runner = self._make()
        return self._runner.baseline(suite, source=source, base=base, context=context)


class RunnerWorkspace:
    """``Workspace`` over a ``WorkspaceRunner``: a fresh clone, the change applied and checked
    in the sandbox; the pipeline gates it, then commits or removes it."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    @property
    def keep(self) -> bool:
        return bool(self.runner.keep)

    def check_change(
        self, source: str, change: str, *, branch: str, context: Any, base: str | None
    ) -> Checked:
        ws = self.runner.prepare(source, branch=branch, base=base, story=context.story_id)
        base_commit = git_host.head(ws)
        rejected = self.runner.apply(ws, change)
        if rejected:
            return Checked(workspace=str(ws), base_commit=base_commit, rejected=rejected)
        report, failing = self.runner.check(ws, context, added_lines(git_host.staged_diff(ws)))
        return Checked(str(ws), base_commit, report=report, failing=tuple(failing))

    def commit(self, ws: Path, message: str) -> str:
        return str(self.runner.commit(ws, message))

    def remove(self, ws: str | Path) -> None:
        self.runner.remove(ws)
