"""Delivery with real git (no stack): a remote story's branch ``fleet/<id>`` in the fleet's
clone, and the opt-in push (``Story.push``) with the user's own git configuration, hooks off,
never by default, with bad remotes refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleet.adapters import git_host
from fleet.adapters.delivery import deliver
from fleet.errors import WorkspaceUnavailable

GIT_ENV = {
    "GIT_AUTHOR_NAME": "user",
    "GIT_AUTHOR_EMAIL": "user@localhost",
    "GIT_COMMITTER_NAME": "user",
    "GIT_COMMITTER_EMAIL": "user@localhost",
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def _git(repo: Path | None, *args: str) -> str:
    cmd = ["git", *(["-C", str(repo)] if repo else []), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=GIT_ENV, check=True
    ).stdout.strip()


def _ref(repo: Path, ref: str) -> str | None:
    cmd = ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", ref]
    done = subprocess.run(cmd, capture_output=True, text=True, env=GIT_ENV)
    return done.stdout.strip() or None


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A bare "server" repository, the user's clone of it (``origin``, branch ``trunk``, work
    in progress), and a fleet workspace cloned from the user's repository with one commit."""
    server = tmp_path / "server.git"
    _git(None, "init", "-q", "--bare", "-b", "trunk", str(server))
    user = tmp_path / "user"
    _git(None, "clone", "-q", str(server), str(user))
    _git(user, "checkout", "-q", "-b", "trunk")
    (user / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    _git(user, "add", "-A")
    _git(user, "commit", "-qm", "base")
    _git(user, "push", "-q", "origin", "trunk")
    (user / "NOTES.txt").write_text("the user's own work\n")
    ws = tmp_path / "ws-x" / "repo"
    _git(None, "clone", "-q", str(user), str(ws))
    _git(ws, "checkout", "-q", "-b", "fleet-s1-t1")
    (ws / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    )
    _git(ws, "commit", "-qam", "fleet s1 t1")
    return {"server": server, "user": user, "ws": ws}


def _reports(ws: Path) -> list[dict[str, str]]:
    return [
        {
            "workspace": str(ws),
            "branch": "fleet-s1-t1",
            "commit": _git(ws, "rev-parse", "HEAD"),
            "base_commit": _git(ws, "rev-parse", "HEAD~1"),
        }
    ]


def test_no_push_unless_the_story_asks(world, tmp_path):
    facts = deliver("s1", str(world["user"]), _reports(world["ws"]), data_dir=tmp_path / "d")
    assert facts["delivered"] and facts["branch"] == "fleet/s1" and "push" not in facts
    assert _ref(world["user"], "refs/heads/fleet/s1") == facts["commit"]
    assert _ref(world["server"], "refs/heads/fleet/s1") is None  # never pushed by default


def test_a_delivery_repeated_after_its_workspaces_were_removed_gives_the_same_facts(
    world, tmp_path
):
    # a crash between the delivery (which removes the story's workspaces) and its event: the
    # story is driven again and delivers again, from the branch already in the user's repository
    import shutil

    first = deliver("s1", str(world["user"]), _reports(world["ws"]), data_dir=tmp_path / "d")
    reports = _reports(world["ws"])
    shutil.rmtree(world["ws"].parent)
    again = deliver("s1", str(world["user"]), reports, data_dir=tmp_path / "d")
    assert again["delivered"] and again == first
    assert "+def sub(a, b):" in again["diff"]
    # without the branch in place, a missing workspace is still an error, not a silent success
    _git(world["user"], "branch", "-q", "-D", "fleet/s1")
    with pytest.raises(WorkspaceUnavailable):
        deliver("s1", str(world["user"]), reports, data_dir=tmp_path / "d")


def test_a_local_story_pushes_to_the_named_remote_hooks_off(world, tmp_path):
    user = world["user"]
    hook = user / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\ntouch {tmp_path / 'hook-ran'}\nexit 1\n")
    hook.chmod(0o755)
    head, status = _git(user, "rev-parse", "HEAD"), _git(user, "status", "--short")
    facts = deliver("s1", str(user), _reports(world["ws"]), data_dir=tmp_path / "d", push="origin")
    assert facts["pushed"] is True, facts
    assert "refs/heads/fleet/s1" in facts["push_result"]
    assert _ref(world["server"], "refs/heads/fleet/s1") == facts["commit"]
    assert not (tmp_path / "hook-ran").exists()  # hooks stay off, even in the user's repository
    assert _git(user, "rev-parse", "HEAD") == head and _git(user, "status", "--short") == status
    assert _git(user, "branch", "--show-current") == "trunk"


def test_a_remote_story_gets_the_branch_in_the_fleet_clone_and_pushes_to_its_origin(
    world, tmp_path
):
    ws = world["ws"]
    _git(ws, "remote", "set-url", "origin", str(world["server"]))  # the URL it was cloned from
    url = "https://git.example.invalid/team/calc.git"  # the story's repo: only a name here
    facts = deliver("s2", url, _reports(ws), data_dir=tmp_path / "d", push="origin")
    assert facts["delivered"] and facts["repo"] == str(ws) and facts["branch"] == "fleet/s2"
    assert _ref(ws, "refs/heads/fleet/s2") == facts["commit"]
    assert Path(facts["patch_file"]).read_text().startswith("diff --git a/calc.py")
    assert facts["pushed"] is True, facts
    assert _ref(world["server"], "refs/heads/fleet/s2") == facts["commit"]


def test_a_failed_push_is_recorded_and_the_delivery_stands(world, tmp_path):
    facts = deliver(
        "s3", str(world["user"]), _reports(world["ws"]), data_dir=tmp_path / "d", push="upstream"
    )
    assert facts["delivered"] is True and facts["pushed"] is False
    assert "no remote named 'upstream'" in facts["push_error"]
    assert _ref(world["user"], "refs/heads/fleet/s3") == facts["commit"]


def test_push_uses_the_users_own_git_config(world, tmp_path, monkeypatch):
    """Credentials come from the user's git (global config: credential helper, url rewrites;
    ssh agent): here a ``url.insteadOf`` in ``~/.gitconfig`` proves that config is read for a
    push to a remote of the repository, while every other host git call still ignores it."""
    home = tmp_path / "home"
    home.mkdir()
    alias = "https://git.example.invalid/team/calc.git"
    (home / ".gitconfig").write_text(f'[url "{world["server"]}"]\n\tinsteadOf = {alias}\n')
    monkeypatch.setenv("HOME", str(home))
    _git(world["user"], "remote", "add", "team", alias)
    facts = deliver(
        "s4", str(world["user"]), _reports(world["ws"]), data_dir=tmp_path / "d", push="team"
    )
    assert facts["pushed"] is True, facts
    assert _ref(world["server"], "refs/heads/fleet/s4") == facts["commit"]
    plain = git_host.git(None, "config", "--get-regexp", "^url\\.", check=False)
    assert plain.stdout == ""  # the fleet's ordinary git calls do not see ~/.gitconfig


def test_a_bad_remote_in_a_story_is_a_recorded_refusal(world, tmp_path):
    facts = deliver(
        "s5",
        str(world["user"]),
        _reports(world["ws"]),
        data_dir=tmp_path / "d",
        push="https://u:p@example.com/x.git",
    )
    assert facts["delivered"] is True and facts["pushed"] is False
    assert "credentials in the URL" in facts["push_error"] and "u:p" not in facts["push_error"]
