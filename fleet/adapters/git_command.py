"""The git command line and environment every host git call starts from (see
:mod:`fleet.adapters.git_host` for why each setting is there).

A module of its own so that :mod:`fleet.adapters.git_host` (the commands on repositories and
workspaces) and :mod:`fleet.adapters.git_tree` (ownership, tree size, copying objects) both
build on it without importing each other.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fleet.errors import WorkspaceUnavailable

HARDENING = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.editor=false",
    "sequence.editor=false",
    "core.askPass=",
    "core.sshCommand=ssh -o BatchMode=yes",
    "core.alternateRefsCommand=true",  # its output lists no refs; a repository's would run
    "credential.helper=",
    "protocol.allow=never",
    "protocol.https.allow=always",
    "protocol.ssh.allow=always",
    "protocol.file.allow=always",
    "submodule.recurse=false",
    "diff.external=",
    "gc.auto=0",
    "maintenance.auto=false",
    "user.name=SWE AI Fleet",
    "user.email=fleet@localhost",
    "commit.gpgsign=false",
    "tag.gpgsign=false",
)
TRANSPORTS = "file:https:ssh"  # GIT_ALLOW_PROTOCOL of an ordinary call
ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_PROTOCOL_FROM_USER": "0",
    "GIT_NO_LAZY_FETCH": "1",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_ASKPASS": "/bin/false",
    "SSH_ASKPASS": "/bin/false",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "false",
    "LC_ALL": "C",
}

# Pushing (opt-in, per story) uses the user's own credentials: their global git config (its
# credential helper) and their ssh agent/keys. Nothing else of the hardening is relaxed.
PUSH_RELAXED = ("credential.helper=",)


def environment(*, user_credentials: bool = False, protocols: str = TRANSPORTS) -> dict[str, str]:
    """The environment of a host git process: only PATH, HOME and the ssh agent of the host's,
    then the hardening (``protocols``: ``GIT_ALLOW_PROTOCOL``)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SSH_AUTH_SOCK")}
    env = keep | ENV | {"GIT_ALLOW_PROTOCOL": protocols}
    if user_credentials:
        del env["GIT_CONFIG_GLOBAL"]  # the user's ~/.gitconfig: their credential helper
    return env


def command(repo: str | Path | None, *, user_credentials: bool = False) -> list[str]:
    """``git [-C repo] -c <hardening>...``: the start of every host git command line."""
    cmd = ["git"] + (["-C", str(repo)] if repo is not None else [])
    for setting in HARDENING:
        if not (user_credentials and setting in PUSH_RELAXED):
            cmd += ["-c", setting]
    return cmd


def git(
    repo: str | Path | None,
    *args: str,
    stdin: str | None = None,
    check: bool = True,
    timeout: float = 120.0,
    user_credentials: bool = False,
    protocols: str = TRANSPORTS,
) -> subprocess.CompletedProcess[str]:
    """Run ``git [-C repo] <hardening> args``; raise :class:`WorkspaceUnavailable` on failure.

    ``protocols``: the transports this call may use (``GIT_ALLOW_PROTOCOL``; ``""``: none).
    ``user_credentials`` (pushing only): the user's global git config and credential helper
    are used; hooks, transports and every other setting stay hardened.
    """
    try:
        proc = subprocess.run(
            [*command(repo, user_credentials=user_credentials), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment(user_credentials=user_credentials, protocols=protocols),
        )
    except subprocess.TimeoutExpired:
        raise WorkspaceUnavailable(
            source=str(repo or "-"), reason=f"git {args[0]}: timed out after {timeout:.0f}s"
        ) from None
    if check and proc.returncode != 0:
        raise WorkspaceUnavailable(
            source=str(repo or "-"), reason=f"git {args[0]}: {proc.stderr.strip()[:500]}"
        )
    return proc
