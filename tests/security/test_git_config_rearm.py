"""Host git that a repository's own configuration cannot re-arm.

The user's repository (delivery's target, the source the council reads) and its ``.git/config``
are input: whatever that config says (command transports, URL rewrites, lazy fetches from a
promisor remote, an alternate-refs command), the host's git runs no command of its choosing, and
a repository the fleet's user does not own is refused before git reads it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fleet.adapters import git_host
from fleet.adapters.delivery import deliver
from fleet.adapters.git_repo import GitRepo
from fleet.adapters.workspace import Sources, WorkspaceRunner
from fleet.errors import WorkspaceUnavailable

GIT_ENV = {
    "GIT_AUTHOR_NAME": "user",
    "GIT_AUTHOR_EMAIL": "user@localhost",
    "GIT_COMMITTER_NAME": "user",
    "GIT_COMMITTER_EMAIL": "user@localhost",
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}
NOBODY = 65534


def _git(repo: Path | None, *args: str) -> str:
    cmd = ["git", *(["-C", str(repo)] if repo else []), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=GIT_ENV, check=True)
    return done.stdout.strip()


def _ref(repo: Path, ref: str) -> str | None:
    cmd = ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", ref]
    return subprocess.run(cmd, capture_output=True, text=True, env=GIT_ENV).stdout.strip() or None


def _ext(marker: Path) -> str:
    """A command transport URL that creates ``marker`` when git runs it (``% `` is a space)."""
    return f"ext::sh -c touch% {marker}% x"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A bare server, the user's clone of it (``origin``), and a fleet workspace with one commit."""
    server = tmp_path / "server.git"
    _git(None, "init", "-q", "--bare", "-b", "main", str(server))
    user = tmp_path / "user"
    _git(None, "clone", "-q", str(server), str(user))
    _git(user, "checkout", "-q", "-b", "main")
    (user / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    _git(user, "add", "-A")
    _git(user, "commit", "-qm", "base")
    _git(user, "push", "-q", "origin", "main")
    ws = tmp_path / "runs" / "ws-x" / "repo"
    _git(None, "clone", "-q", str(user), str(ws))
    _git(ws, "checkout", "-q", "-b", "fleet-s1-t1")
    (ws / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return 0\n"
    )
    _git(ws, "commit", "-qam", "fleet s1 t1")
    return {"server": server, "user": user, "ws": ws}


def _reports(ws: Path) -> list[dict[str, str]]:
    commit, base = _git(ws, "rev-parse", "HEAD"), _git(ws, "rev-parse", "HEAD~1")
    return [{"workspace": str(ws), "branch": "fleet-s1-t1", "commit": commit, "base_commit": base}]


def _alternate_refs(user: Path, tmp_path: Path, marker: Path) -> None:
    other = tmp_path / "other.git"
    _git(None, "init", "-q", "--bare", str(other))
    (user / ".git" / "objects" / "info" / "alternates").write_text(f"{other}/objects\n")
    _git(user, "config", "core.alternateRefsCommand", f"touch {marker} #")


def test_delivery_follows_no_url_rewrite_to_a_command_transport(world, tmp_path):
    marker = tmp_path / "pwned"
    user = world["user"]
    _git(user, "config", "protocol.ext.allow", "always")
    _git(user, "config", f"url.{_ext(marker)}.insteadOf", str(tmp_path))  # any path under it
    facts = deliver("s1", str(user), _reports(world["ws"]), data_dir=tmp_path / "d")
    assert not marker.exists(), "the user's repository config ran a command as the host"
    assert facts["delivered"] is True, facts
    assert _ref(user, "refs/heads/fleet/s1") == facts["commit"]


def test_delivery_runs_no_alternate_refs_command(world, tmp_path):
    marker = tmp_path / "pwned"
    _alternate_refs(world["user"], tmp_path, marker)
    facts = deliver("s1", str(world["user"]), _reports(world["ws"]), data_dir=tmp_path / "d")
    assert not marker.exists(), "core.alternateRefsCommand ran as the host"
    assert facts["delivered"] is True, facts


def test_push_follows_no_push_rewrite_of_the_users_repository(world, tmp_path):
    marker = tmp_path / "pwned"
    user = world["user"]
    _git(user, "config", "protocol.ext.allow", "always")
    _git(user, "config", f"url.{_ext(marker)}.pushInsteadOf", str(world["server"]))
    facts = deliver("s1", str(user), _reports(world["ws"]), data_dir=tmp_path / "d", push="origin")
    assert not marker.exists(), "a pushInsteadOf in the user's repository ran a command"
    assert facts["pushed"] is True, facts  # to origin's own URL, as configured
    assert _ref(world["server"], "refs/heads/fleet/s1") == facts["commit"]


def test_a_repository_that_allows_command_transports_still_gets_none(world, tmp_path):
    # the environment allowlist (GIT_ALLOW_PROTOCOL) beats protocol.ext.allow in any config file
    marker = tmp_path / "pwned"
    user = world["user"]
    _git(user, "config", "protocol.ext.allow", "always")
    _git(user, "config", "protocol.allow", "always")
    done = git_host.git(user, "ls-remote", "--", _ext(marker), check=False)
    assert done.returncode != 0 and "transport 'ext' not allowed" in done.stderr
    assert not marker.exists()


def test_a_subdirectory_of_a_repository_is_not_a_repository(world, tmp_path):
    (world["user"] / "sub").mkdir()
    with pytest.raises(WorkspaceUnavailable, match="not the top of a git repository"):
        GitRepo(world["user"] / "sub").commit()


def _promisor_repo(path: Path, marker: Path) -> Path:
    """A repository that says it is a partial clone whose promisor remote is a command: any
    missing object would be lazily fetched from it."""
    _git(None, "init", "-q", "-b", "main", str(path))
    (path / "a.py").write_text("A = 1\n")
    (path / "b.py").write_text("B = 2\n")
    _git(path, "add", "-A")
    _git(path, "commit", "-qm", "x")
    blob = _git(path, "rev-parse", "HEAD:b.py")
    os.unlink(path / ".git" / "objects" / blob[:2] / blob[2:])
    for key, value in (
        ("core.repositoryformatversion", "1"),
        ("extensions.partialClone", "origin"),
        ("remote.origin.promisor", "true"),
        ("remote.origin.url", _ext(marker)),
        ("protocol.ext.allow", "always"),
    ):
        _git(path, "config", key, value)
    return path


def test_reading_a_repository_never_fetches_from_its_promisor_remote(tmp_path):
    marker = tmp_path / "pwned"
    repo = GitRepo(_promisor_repo(tmp_path / "src", marker))
    files = repo.files("HEAD")
    assert repo.read("HEAD", "b.py") is None
    assert not marker.exists(), "a lazy fetch ran the promisor remote's command"
    assert files == {"a.py": "A = 1\n"}  # the missing object is left out, no crash


def test_cloning_a_promisor_repository_runs_no_command(tmp_path):
    marker = tmp_path / "pwned"
    src = _promisor_repo(tmp_path / "repos" / "src", marker)
    roots = Sources(repo_roots=[tmp_path / "repos"])
    runner = WorkspaceRunner(None, root=tmp_path / "runs", sources=roots)  # type: ignore[arg-type]
    with pytest.raises(WorkspaceUnavailable):
        runner.prepare(str(src), branch="fleet/x")
    assert not marker.exists(), "cloning ran the source's promisor command"
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_repository_whose_config_another_user_owns_is_refused(world, tmp_path):
    # git's own safe.directory check looks at the directories only: a config file that
    # another user owns (and may rewrite at any time) passed it
    user = world["user"]
    os.chown(user / ".git" / "config", NOBODY, NOBODY)
    facts = deliver("s1", str(user), _reports(world["ws"]), data_dir=tmp_path / "d")
    assert facts["delivered"] is False and "owned by" in facts["error"], facts
    assert _ref(user, "refs/heads/fleet/s1") is None


def test_a_repository_another_user_owns_is_refused(world, tmp_path):
    user = world["user"]
    for path in (user, *user.rglob("*")):
        os.lchown(path, NOBODY, NOBODY)
    facts = deliver("s1", str(user), _reports(world["ws"]), data_dir=tmp_path / "d")
    assert facts["delivered"] is False and "owned by" in facts["error"], facts
    with pytest.raises(WorkspaceUnavailable, match="owned by"):
        GitRepo(user).commit()
    roots = Sources(repo_roots=[tmp_path])
    runner = WorkspaceRunner(None, root=tmp_path / "runs2", sources=roots)  # type: ignore[arg-type]
    with pytest.raises(WorkspaceUnavailable, match="owned by"):
        runner.prepare(str(user), branch="fleet/x")
    assert list((tmp_path / "runs2").iterdir()) == []


def test_a_world_writable_git_directory_is_refused(world, tmp_path):
    user = world["user"]
    (user / ".git").chmod(0o777)  # anyone could replace the config in it
    facts = deliver("s1", str(user), _reports(world["ws"]), data_dir=tmp_path / "d")
    assert facts["delivered"] is False and "writable" in facts["error"], facts
