"""The target repository, checked when a story is submitted: it exists, git can read it, the
base branch is one of its branches; and its default branch, for the UI's form.

A bad path or branch used to be found at BUILD, after the PO had approved scope and design
("workspace from - unavailable: git clone: fatal: ..."). Now the gateway answers 400 with the
reason and records nothing. One ``git ls-remote --symref`` answers every question, for a local
path and a URL alike, through the host's hardened git (``fleet.adapters.git_host.git``: no
hooks, no global config, no prompts, https/ssh/file transports only) within a short timeout.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

from fleet.errors import InvalidInput, WorkspaceUnavailable

MAX_BRANCHES = 500  # listed in the answer; a repository may have more
HEADS = "refs/heads/"


class BranchesOut(BaseModel):
    """What the gateway sees of a repository (``GET /repos/branches``)."""

    repo: str = Field(description="the repository as given")
    default_branch: str | None = Field(
        None,
        description="the branch HEAD names (None: HEAD is detached or the repository is empty)",
    )
    branches: list[str] = Field(description=f"its branches, sorted (at most {MAX_BRANCHES})")


@dataclass(frozen=True)
class RepoProbe:
    """Checks a story's repository and branch the way the workspace runner will clone them.

    ``roots``: where local repositories may live (as for the runner: the ``repo_roots`` setting,
    else the data dir, the temp dir and the home directory); a path outside them is refused before
    git looks at it, so the check cannot tell whether some other path on the host exists.
    """

    roots: Sequence[str] = field(default_factory=tuple)
    allow_private: bool = False
    timeout_s: float = 15.0

    @classmethod
    def for_data_dir(cls, data_dir: str, **kw: object) -> RepoProbe:
        from fleet.adapters.workspace_fs import default_roots

        root = Path(data_dir).expanduser() / "workspaces"
        roots = tuple(dict.fromkeys((*default_roots(root), str(root))))
        return cls(roots=roots, **kw)  # type: ignore[arg-type]

    def branches(self, repo: str) -> BranchesOut:
        """The repository's default branch and branches (raises :class:`InvalidInput`)."""
        from fleet.adapters import git_host

        try:
            source = git_host.check_source(
                repo, local_roots=self.roots, allow_private=self.allow_private
            )
        except ValueError as exc:  # urlsplit's own refusals ("Invalid IPv6 URL", a bad port)
            raise _bad("repo", f"{repo[:80]!r} is not a repository URL or path: {exc}") from None
        local = source.startswith("/")
        if local and not os.path.isdir(source):
            raise _bad("repo", f"{source} does not exist (or is not a directory)")
        # as the clone will: a local repository must be the fleet user's own, and git may use
        # only the source's own transport
        scheme = "file" if local else ("https" if source.lower().startswith("https://") else "ssh")
        try:
            if local:
                from fleet.adapters.git_tree import check_owned

                check_owned(source)
            out = git_host.git(
                None,
                "ls-remote",
                "--symref",
                "--",
                source,
                timeout=self.timeout_s,
                protocols=scheme,
            ).stdout
        except WorkspaceUnavailable as exc:
            raise _bad("repo", f"{repo} is not a readable git repository: {_reason(exc)}") from None
        default, heads = _parse(out)
        if not heads:
            raise _bad("repo", f"{repo} has no branches yet (an empty repository): commit first")
        return BranchesOut(repo=repo, default_branch=default, branches=sorted(heads)[:MAX_BRANCHES])

    def check(self, repo: str, branch: str | None) -> BranchesOut:
        """:meth:`branches`, and ``branch`` (when given) must be one of them."""
        seen = self.branches(repo)
        if branch is not None and branch not in seen.branches:
            some = ", ".join(seen.branches[:10]) + (" ..." if len(seen.branches) > 10 else "")
            raise _bad(
                "branch",
                f"{repo} has no branch {branch!r} (its branches: {some}; default: "
                f"{seen.default_branch or 'none'}); leave it empty for the default branch",
            )
        return seen


def _parse(out: str) -> tuple[str | None, set[str]]:
    default, heads = None, set()
    for line in out.splitlines():
        target, _, ref = line.partition("\t")
        if target.startswith("ref: ") and ref == "HEAD":
            name = target[len("ref: ") :]
            default = name[len(HEADS) :] if name.startswith(HEADS) else None
        elif ref.startswith(HEADS):
            heads.add(ref[len(HEADS) :])
    return (default if default in heads else None), heads


def _reason(exc: WorkspaceUnavailable) -> str:
    # git's own words (or the ownership check's), without the "fatal:" noise and the command
    text = str(exc.fields.get("reason", exc)).removeprefix("git ls-remote: ")
    lines = [ln.removeprefix("fatal: ").strip() for ln in text.splitlines() if ln.strip()]
    return "; ".join(lines[:2])[:300] or "git could not read it"


def _bad(what: str, problem: str) -> InvalidInput:
    return InvalidInput(what="story", field=what, problem=problem)


def install_repo_api(app: FastAPI, probe: RepoProbe) -> None:
    """``GET /repos/branches?repo=...``: the UI pre-fills the base branch from it."""
    po = app.state.need("po")  # a probe of the host's repositories: only for who may submit

    @app.get("/repos/branches", response_model=BranchesOut, tags=["stories"])
    def branches(
        repo: str = Query(min_length=1, max_length=2_000, description="git URL or local path"),
        principal: object = po,
    ) -> BranchesOut:
        """The repository's default branch and its branches, as a story's submission checks
        them (400 with the reason when git cannot read it)."""
        return probe.branches(repo)
