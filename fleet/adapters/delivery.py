"""Delivering a finished story where the user works: a branch, a patch file, the diff.

For a local repository the result is the branch ``fleet/<story-id>`` in the **user's
repository** (a ref fetched from the fleet's last committed workspace: the user's checked-out
branch, index and working tree are never touched); for a remote one it is the branch
``fleet/<story-id>`` of the fleet's clone (its last committed workspace, kept). Either way the
cumulative diff (from the commit the story started on) is written to
``<data_dir>/deliveries/<story-id>.patch`` and returned for the timeline.

The branch reaches the user's repository without a transport (objects copied with
``pack-objects | index-pack``, then ``git branch --force``), and only if the fleet's user owns
that repository (:func:`fleet.adapters.git_host.deliver_branch`): its own config cannot make the
host's git run anything.

Pushing is opt-in per story (``Story.push``: a remote the user names): the delivered branch is
pushed under the same name to a remote the repository (the user's, or the fleet's clone whose
``origin`` is the story's URL) already has, or to a URL under the operator's allowlist
(``delivery.push_urls`` in fleet.yaml), never to a special-purpose address unless
``delivery.push_private``; with the user's own git credentials (:func:`git_push.push`). A
refused or failed push is recorded, the delivery stands.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.adapters import git_host, git_push
from fleet.errors import ConfigError, InvalidInput, WorkspaceUnavailable

MAX_EVENT_DIFF = 200_000  # characters of diff kept in the timeline (the patch file has it all)


def committed(reports: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ``workspace.report`` data of the committed task runs, in timeline order."""
    return [r for r in reports if r.get("commit") and r.get("workspace") and r.get("branch")]


def story_diff(reports: Sequence[Mapping[str, Any]], where: str | Path | None = None) -> str:
    """The story's cumulative change: first committed run's base .. last committed commit
    (read in the last workspace, or in ``where``: a repository holding both commits)."""
    done = committed(reports)
    if not done:
        return ""
    first, last = done[0], done[-1]
    base = str(first.get("base_commit") or "")
    if not base:
        return ""
    return git_host.diff(str(where or last["workspace"]), base, str(last["commit"]))


def _delivered_before(target: str, branch: str, commit: str) -> bool:
    """Whether ``branch`` of the user's repository already points at ``commit``: a delivery
    that finished before a crash (its workspaces are gone, its branch holds the change)."""
    try:
        return git_host.branch_commit(target, branch) == commit
    except (WorkspaceUnavailable, InvalidInput):
        return False


def is_local(repo: str | None) -> bool:
    return bool(repo) and (str(repo).startswith("/") or str(repo).startswith("file://"))


@dataclass(frozen=True, kw_only=True)
class PushPolicy:
    """Where a story may push: the allowlist of URL prefixes and whether special-purpose
    (private, loopback...) addresses may be pushed to; None: fleet.yaml's ``delivery``."""

    allow: Sequence[str] | None = None
    private: bool | None = None


def push_policy() -> tuple[tuple[str, ...], bool]:
    """``delivery.push_urls`` and ``delivery.push_private`` of fleet.yaml."""
    from fleet.config import load

    settings = load("fleet.yaml").delivery
    return tuple(settings.push_urls), settings.push_private


def _push(
    where: str, remote: str, branch: str, allow: Sequence[str] | None, private: bool | None
) -> dict[str, Any]:
    """Push ``branch`` of ``where``; the facts (``pushed``, ``push_error``) for the event."""
    try:
        if allow is None or private is None:
            configured = push_policy()
            allow = configured[0] if allow is None else allow
            private = configured[1] if private is None else private
        said = git_push.push(where, remote, branch, allow=allow, allow_private=private)
    except (WorkspaceUnavailable, InvalidInput, ConfigError) as exc:
        return {"push": remote, "pushed": False, "push_error": str(exc)[:800]}
    return {"push": remote, "pushed": True, "push_result": said[:300]}


def deliver(
    story_id: str,
    repo: str | None,
    reports: Sequence[Mapping[str, Any]],
    *,
    data_dir: Path,
    push: str | None = None,
    policy: PushPolicy | None = None,
) -> dict[str, Any]:
    """Deliver the story's last committed change (and push it when ``push`` names a remote);
    the facts for a ``story.delivered`` event. ``policy``: the operator's (None: fleet.yaml's).
    """
    done = committed(reports)
    if not done:
        return {"delivered": False, "error": "no committed change to deliver"}
    last = done[-1]
    ws, commit = Path(str(last["workspace"])), str(last["commit"])
    branch = f"fleet/{story_id}"
    out: dict[str, Any] = {"commit": commit, "base_commit": done[0].get("base_commit")}
    target = str(repo).removeprefix("file://") if is_local(repo) else str(ws)
    # Delivered already, then the fleet crashed before recording it (the workspaces are removed
    # after a delivery): the same facts again, read from the user's repository.
    again = is_local(repo) and not ws.exists() and _delivered_before(target, branch, commit)
    diff = story_diff(reports, where=target if again else None)
    patch = data_dir / "deliveries" / f"{story_id}.patch"
    patch.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(patch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as fh:
        fh.write(diff)
    out |= {"patch_file": str(patch), "diff": diff[:MAX_EVENT_DIFF]}
    out["diff_truncated"] = len(diff) > MAX_EVENT_DIFF
    if is_local(repo) and not again:
        try:
            git_host.deliver_branch(target, ws, str(last["branch"]), branch)
        except (WorkspaceUnavailable, InvalidInput) as exc:
            return out | {"delivered": False, "repo": target, "branch": branch, "error": str(exc)}
    elif not is_local(repo):  # a remote repository: the branch lives in the fleet's clone (kept)
        try:
            git_host.set_branch(ws, branch, commit)
        except (WorkspaceUnavailable, InvalidInput) as exc:
            return out | {"delivered": False, "repo": target, "branch": branch, "error": str(exc)}
    out |= {"delivered": True, "repo": target, "branch": branch}
    if push:  # opt-in, per story; never by default
        policy = policy or PushPolicy()
        out |= _push(target, push, branch, policy.allow, policy.private)
    return out
