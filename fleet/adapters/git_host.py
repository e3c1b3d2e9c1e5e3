"""Every git command the host runs on a repository or a workspace, hardened in one place
(:mod:`fleet.adapters.git_command`: the command line and environment each call starts from).

A workspace is hostile: the repository chose its contents and sandboxed code ran in it. The
user's own repository is input too: its ``.git/config`` may name command transports, URL
rewrites, a promisor remote or an alternate-refs command. So host-side git here always runs

- with the transports allowed by ``GIT_ALLOW_PROTOCOL`` (an environment variable, which no
  configuration file overrides; ``file:https:ssh`` unless a call needs fewer, none for the
  calls that only read a repository), so ``protocol.ext.allow`` in a repository re-arms nothing;
- with hooks off (``core.hooksPath=/dev/null``, ``--no-verify``), no fsmonitor, no pager or
  editor, no alternate-refs command, no automatic gc, no lazy fetch of missing objects
  (``GIT_NO_LAZY_FETCH``), no system or global config (``GIT_CONFIG_NOSYSTEM``,
  ``GIT_CONFIG_GLOBAL=/dev/null``), no terminal prompts; command-line settings (``-c``) beat the
  repository's own for every single-valued key;
- never a transport *from inside* the user's repository: delivery copies objects with
  ``pack-objects | index-pack`` and moves one ref, so no ``url.insteadOf``, ``remote.*`` or
  ``uploadpack`` of that repository is consulted; pushing runs from a fresh repository of the
  fleet's (:mod:`fleet.adapters.git_push`), the one call that reads the user's global config
  (their credential helper), so the push authenticates as the user;
- only on a repository the fleet's user owns (``git_tree.check_owned``: the directory, its
  git directories and config files, none writable by others);
- with ``--end-of-options`` (or ``--``) before every value that came from a user, so a ``repo``
  of ``--upload-pack=...`` is never parsed as an option (:func:`check_source` refuses it anyway);
- reading what git *recorded* (index modes), never diff text, to decide whether a change
  brings a symlink or a submodule;
- measuring a clone from its trees before checking it out (``git_tree.check_tree``): unpacked
  size, file count and depth against limits, so a small pack cannot fill the disk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from fleet.adapters.addresses import host_problem
from fleet.adapters.git_command import git as git  # re-exported: callers use git_host.git
from fleet.adapters.git_tree import check_owned, check_tree, copy_commit
from fleet.errors import InvalidInput
from fleet.settings import env_name

SPECIAL_MODES = {"120000": "a symlink", "160000": "a submodule (gitlink)"}
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.*")

# Limits a clone is measured against before checkout (the workspace runner passes its own size).
MAX_BYTES = 512 * 2**20
MAX_FILES = 100_000
MAX_DEPTH = 128


_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


# ----------------------------------------------------------------------------- input checks
def check_branch(name: str, *, field: str = "branch") -> str:
    """``name`` if it is a valid, option-free branch name (``git check-ref-format --branch``)."""
    if not name or name.startswith("-") or any(c in name for c in "\0\n\r"):
        raise InvalidInput(what="repository", field=field, problem=f"{name!r} is not a branch name")
    proc = git(None, "check-ref-format", "--branch", name, check=False)
    if proc.returncode != 0:
        raise InvalidInput(what="repository", field=field, problem=f"{name!r} is not a branch name")
    return name


def _ssh_host(source: str) -> str | None:
    """The host of an ``ssh://`` or ``user@host:path`` URL."""
    if "://" in source:
        return urlsplit(source).hostname
    return source.split("@", 1)[1].split(":", 1)[0] if "@" in source else None


def check_source(
    source: str, *, local_roots: Sequence[str | Path], allow_private: bool = False
) -> str:
    """The clone source to use for ``source``, or :class:`InvalidInput` saying why not.

    Accepted: ``https://``, ``ssh://`` and ``user@host:path`` URLs whose host is no
    special-purpose address (:mod:`fleet.adapters.addresses`; unless ``allow_private``), and local paths (or ``file://``) whose real path
    lies under one of ``local_roots``. Nothing that starts with ``-``.
    """

    def bad(why: str) -> InvalidInput:
        return InvalidInput(what="story", field="repo", problem=why)

    if not source or source.startswith("-") or any(c in source for c in "\0\n\r"):
        raise bad(f"{source[:80]!r} is not a repository URL or path")
    parts = urlsplit(source)
    scheme = parts.scheme.lower() if "://" in source else ""
    if scheme == "https":
        if not parts.hostname:
            raise bad(f"{source[:80]!r} has no host")
        why = None if allow_private else host_problem(parts.hostname)
        if why:
            raise bad(why + "; local services are not repository sources")
        return source
    if scheme == "ssh" or (not scheme and _SCP.match(source) and not source.startswith("/")):
        host = _ssh_host(source)
        why = None if allow_private or not host else host_problem(host)
        if why:
            raise bad(why + "; local services are not repository sources")
        return source
    if scheme and scheme != "file":
        raise bad(f"scheme {scheme!r} is not allowed; use https://, ssh:// or a local path")
    if not scheme and "::" in source:
        raise bad("transport syntax ('<transport>::') is not allowed")
    path = parts.path if scheme == "file" else source
    real = os.path.realpath(os.path.expanduser(path))
    roots = [os.path.realpath(os.path.expanduser(str(r))) for r in local_roots]
    if not any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
        raise bad(
            f"local path {real} is outside the configured repository roots "
            f"({', '.join(roots) or 'none'}); set {env_name('repo_roots')} to allow it"
        )
    return real


# ----------------------------------------------------------------------------- operations
def clone(
    source: str,
    dest: Path,
    *,
    base: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES,
    max_depth: int = MAX_DEPTH,
) -> None:
    """Clone ``source`` into the new directory ``dest`` (local sources through the file transport,
    so links inside the source's ``.git`` are not followed) and check it out, but only once its
    tree is measured within the limits (:func:`fleet.adapters.git_tree.check_tree`).

    Raises:
        WorkspaceUnavailable: the clone failed, or the tree is over a limit (nothing checked out).
    """
    local = source.startswith("/")
    if local and os.path.isdir(source):  # else git says what is wrong with it
        check_owned(source)
    args = ["clone", "--quiet", "--no-checkout", "--no-hardlinks", "--no-recurse-submodules"]
    args += ["--no-local"] if local else []
    args += ["--branch", check_branch(base, field="branch")] if base else []
    scheme = "file" if local else ("https" if source.lower().startswith("https://") else "ssh")
    git(None, *args, "--", source, str(dest), protocols=scheme)
    check_tree(dest, "HEAD", max_bytes=max_bytes, max_files=max_files, max_depth=max_depth)
    git(dest, "checkout", "--quiet", "--force", "HEAD", protocols="")


def checkout_new(ws: Path, branch: str) -> None:
    git(ws, "checkout", "--quiet", "-b", check_branch(branch), "--")


def stage_all(ws: Path) -> None:
    git(ws, "add", "--all", "--", ".")


def special_entries(ws: Path) -> list[str]:
    """Staged changes (against ``HEAD``) that git recorded as a symlink or a submodule."""
    raw = git(ws, "diff", "--cached", "--raw", "-z", "--no-renames", "HEAD", "--").stdout
    fields = raw.split("\0")
    found: list[str] = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        new_mode = meta[1:].split(" ")[1]
        if new_mode in SPECIAL_MODES:
            found.append(f"{path!r} is {SPECIAL_MODES[new_mode]}")
    return found


def staged_diff(ws: Path) -> str:
    """What :func:`stage_all` staged, against ``HEAD``, without context lines."""
    return git(
        ws, "diff", "--cached", "--no-ext-diff", "--no-textconv", "--no-color", "-U0", "HEAD", "--"
    ).stdout


def commit_staged(ws: Path, message: str) -> str:
    """Commit what is staged (never re-reading the tree), hooks off; return the commit id."""
    git(ws, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)
    return git(ws, "rev-parse", "--verify", "HEAD").stdout.strip()


def write_exclude(ws: Path, patterns: str) -> None:
    """Append to ``.git/info/exclude`` without following links."""
    info = ws / ".git" / "info"
    if not info.exists():
        info.mkdir()
    fd = os.open(info / "exclude", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "a") as fh:
        fh.write(patterns)


def head(ws: Path) -> str:
    """The commit ``HEAD`` of ``ws`` points at."""
    return git(ws, "rev-parse", "--verify", "HEAD").stdout.strip()


def diff(ws: str | Path, base: str, commit: str) -> str:
    """The unified diff ``base..commit`` as git computes it (no external diff, no textconv)."""
    for rev in (base, commit):
        if not re.fullmatch(r"[0-9a-f]{7,64}", rev):
            raise InvalidInput(what="diff", field="commit", problem=f"{rev!r} is not a commit id")
    return git(
        ws, "diff", "--no-ext-diff", "--no-textconv", "--no-color", base, commit, "--",
        protocols="",
    ).stdout  # fmt: skip


def deliver_branch(target: str | Path, ws: Path, ws_branch: str, branch: str) -> str:
    """Make ``branch`` in the user's repository ``target`` point at ``ws_branch`` of ``ws``.

    The commit's objects are copied in without a transport (:func:`git_tree.copy_commit`), so
    nothing in ``target``'s config (URL rewrites, command transports, remotes, alternate-refs
    commands) is consulted; then only a ref is written (``git branch --force``): the user's
    checked-out branch, index and working tree are never touched, and git refuses to move a
    branch that is checked out there. Returns the delivered commit.

    Raises:
        WorkspaceUnavailable: ``target`` is not the fleet's user's (:func:`git_tree.check_owned`),
            or a git step failed (e.g. ``branch`` is checked out in ``target``).
    """
    check_branch(branch)
    check_branch(ws_branch, field="workspace branch")
    check_owned(target)
    commit = git(
        ws, "rev-parse", "--verify", "--end-of-options", f"refs/heads/{ws_branch}^{{commit}}"
    ).stdout.strip()
    copy_commit(ws, target, commit)
    git(target, "branch", "--quiet", "--force", "--no-track", "--", branch, commit, protocols="")
    return git(
        target, "rev-parse", "--verify", "--end-of-options", f"refs/heads/{branch}", protocols=""
    ).stdout.strip()


def branch_commit(repo: str | Path, branch: str) -> str | None:
    """The commit ``refs/heads/<branch>`` of ``repo`` points at (None: no such branch)."""
    check_branch(branch)
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"refs/heads/{branch}",
               check=False, protocols="")  # fmt: skip
    return done.stdout.strip() or None


def check_remote(remote: str, *, allow_private: bool = False) -> str:
    """``remote`` if it can be pushed to: a remote *name* (``origin``) or an https/ssh URL
    without credentials in it (the fleet never holds them: the user's git does)."""

    def bad(why: str) -> InvalidInput:
        return InvalidInput(what="story", field="push", problem=why)

    if not remote or remote.startswith("-") or any(c in remote for c in "\0\n\r"):
        raise bad(f"{remote[:80]!r} is not a remote name or URL")
    if _REMOTE_NAME.match(remote):
        return remote
    parts = urlsplit(remote)
    if "://" in remote and parts.password is not None:
        raise bad("credentials in the URL are not accepted; git uses your credential helper")
    scheme = parts.scheme.lower() if "://" in remote else ""
    if scheme not in ("https", "ssh") and not (not scheme and _SCP.match(remote)):
        raise bad(f"{remote[:80]!r}: push to a remote name, an https:// or an ssh URL")
    return check_source(remote, local_roots=(), allow_private=allow_private)


def set_branch(ws: Path, branch: str, commit: str) -> None:
    """Point ``branch`` of ``ws`` at ``commit`` (created or moved; never checked out)."""
    check_branch(branch)
    if not re.fullmatch(r"[0-9a-f]{7,64}", commit):
        raise InvalidInput(what="branch", field="commit", problem=f"{commit!r} is not a commit id")
    git(ws, "branch", "--force", "--no-track", "--", branch, commit)
