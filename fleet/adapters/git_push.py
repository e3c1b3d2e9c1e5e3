"""Pushing a delivered branch: only where the repository already pushes, or where the operator
allowed, never to a special-purpose address, and never through the repository's own config.

Where: a remote *name* configured in the repository (its ``pushurl``, else its ``url``, read
as written: no ``insteadOf``/``pushInsteadOf`` of the repository applies), a URL that is one
of those, or a URL under a prefix of the operator's allowlist (``delivery.push_urls`` in
fleet.yaml). Every destination is an https or ssh URL whose host is no special-purpose address
(:mod:`fleet.adapters.addresses`; ``delivery.push_private`` allows them), or a local
repository the fleet's user owns (configured remotes only).

How: from a fresh bare repository of the fleet's that borrows the objects of the user's
repository (``objects/info/alternates``) and holds the one branch, so no remote setting,
receive-pack command, credential helper or URL rewrite of the user's repository is read; the
user's own global git config and ssh agent are (``user_credentials``): the push authenticates
as the user. Hooks stay off, transports are ``file``, ``https`` and ``ssh`` only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from fleet.adapters import git_host
from fleet.adapters.addresses import host_problem
from fleet.adapters.git_tree import check_owned
from fleet.errors import InvalidInput, WorkspaceUnavailable


def _bad(why: str) -> InvalidInput:
    return InvalidInput(what="story", field="push", problem=why)


def remotes(repo: str | Path) -> dict[str, list[str]]:
    """Remote name -> the URLs a push to it goes to (``pushurl`` values, else ``url`` ones), as
    written in the repository's config."""
    out = git_host.git(
        repo, "config", "--get-regexp", r"^remote\..*\.(push)?url$", check=False, protocols=""
    ).stdout
    urls: dict[str, dict[str, list[str]]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        name, _, kind = key.removeprefix("remote.").rpartition(".")
        urls.setdefault(name, {}).setdefault(kind, []).append(value)
    return {name: kinds.get("pushurl") or kinds.get("url", []) for name, kinds in urls.items()}


def allowed(url: str, allow: Sequence[str]) -> bool:
    """Whether ``url`` lies under a prefix of ``allow`` (a prefix ending in ``/`` or ``:``, or the
    exact URL: ``https://host/team/`` allows ``https://host/team/x.git``, not ``.../teamx``)."""
    for prefix in allow:
        if url == prefix or (prefix.endswith(("/", ":")) and url.startswith(prefix)):
            return True
    return False


def check_destination(url: str, *, allow_private: bool = False) -> str:
    """``url`` if the host's git may push there (see the module docstring), else why not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() if "://" in url else ""
    if scheme in ("https", "ssh") or (not scheme and git_host._SCP.match(url)):
        if "://" in url and parts.password is not None:
            raise _bad("credentials in the URL are not accepted; git uses your credential helper")
        host = parts.hostname if scheme else git_host._ssh_host(url)
        why = None if allow_private or not host else host_problem(host)
        if why:
            raise _bad(f"{why}; set delivery.push_private to push to such addresses")
        return url
    path = parts.path if scheme == "file" else url
    if (scheme == "file" or (not scheme and url.startswith("/"))) and os.path.isdir(path):
        check_owned(path)
        return path
    raise _bad(f"{url[:80]!r}: a remote must be an https or ssh URL, or a local repository")


def destinations(
    repo: str | Path, remote: str, *, allow: Sequence[str] = (), allow_private: bool = False
) -> list[str]:
    """The URLs a push of ``remote`` goes to, each checked (:func:`check_destination`).

    Raises:
        InvalidInput: ``remote`` is refused, or one of its URLs is.
        WorkspaceUnavailable: no such remote name in ``repo``.
    """
    remote = git_host.check_remote(remote, allow_private=True)  # the form; addresses below
    configured = remotes(repo)
    if git_host._REMOTE_NAME.match(remote):
        if not configured.get(remote):
            names = sorted(configured) or "none"
            raise WorkspaceUnavailable(
                source=str(repo), reason=f"no remote named {remote!r} (remotes: {names})"
            )
        urls = configured[remote]
    elif any(remote in u for u in configured.values()) or allowed(remote, allow):
        urls = [remote]
    else:
        raise _bad(
            f"{remote[:80]!r} is not a remote of the repository; push to one of its remotes "
            f"({', '.join(sorted(configured)) or 'none'}) or ask the operator to allow the URL "
            "(delivery.push_urls in fleet.yaml)"
        )
    return [check_destination(u, allow_private=allow_private) for u in urls]


def push(
    repo: str | Path,
    remote: str,
    branch: str,
    *,
    allow: Sequence[str] = (),
    allow_private: bool = False,
    timeout: float = 300.0,
) -> str:
    """Push ``refs/heads/<branch>`` of ``repo`` to the same branch of ``remote``, with the user's
    own credentials; git's summary line. Never forced: git refuses a non-ancestor update.

    Raises:
        InvalidInput: ``remote``, one of its URLs, or ``branch`` is refused.
        WorkspaceUnavailable: ``repo`` is not the fleet's user's, or the push failed.
    """
    git_host.check_branch(branch)
    common = check_owned(repo)
    urls = destinations(repo, remote, allow=allow, allow_private=allow_private)
    ref = f"refs/heads/{branch}"
    commit = git_host.git(
        repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}", protocols=""
    ).stdout.strip()
    said: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fleet-push-") as tmp:
        git_host.git(None, "init", "--quiet", "--bare", "--", tmp, protocols="")
        alternates = Path(tmp) / "objects" / "info" / "alternates"
        alternates.write_text(f"{(common / 'objects').resolve()}\n")
        git_host.git(tmp, "update-ref", ref, commit, protocols="")
        for url in urls:
            done = git_host.git(
                tmp, "push", "--porcelain", "--no-verify", "--no-recurse-submodules",
                "--", url, f"{ref}:{ref}", timeout=timeout, user_credentials=True,
            )  # fmt: skip
            lines = [ln for ln in done.stdout.splitlines() if ref in ln]
            said.append(lines[-1].strip() if lines else f"pushed {ref}")
    return "; ".join(said)
