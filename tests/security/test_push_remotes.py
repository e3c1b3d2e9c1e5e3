"""A story's ``push`` reaches only a remote the repository already has, or a URL the operator
allowed (``delivery.push_urls`` in fleet.yaml), and never a loopback or other special-purpose
address: through delivery (``deliver(..., push=...)``), with a local listener that counts every
connection the host's git makes to it."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.adapters.delivery import PushPolicy, deliver

GIT_ENV = {
    "GIT_AUTHOR_NAME": "user",
    "GIT_AUTHOR_EMAIL": "user@localhost",
    "GIT_COMMITTER_NAME": "user",
    "GIT_COMMITTER_EMAIL": "user@localhost",
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}
TEAM = "https://git.example.invalid/team/calc.git"  # never resolves: only rewrites reach it


def _git(repo: Path | None, *args: str) -> str:
    cmd = ["git", *(["-C", str(repo)] if repo else []), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=GIT_ENV, check=True)
    return done.stdout.strip()


def _ref(repo: Path, ref: str) -> str | None:
    cmd = ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", ref]
    return subprocess.run(cmd, capture_output=True, text=True, env=GIT_ENV).stdout.strip() or None


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A loopback TCP port that records every connection (a local service git must not reach)."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    hits: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = sock.accept()
            except TimeoutError:
                continue
            hits.append(str(peer))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], hits
    stop.set()
    thread.join()
    sock.close()


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
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
        "def add(a, b):\n    return a + b\n\n\ndef neg(a):\n    return -a\n"
    )
    _git(ws, "commit", "-qam", "fleet s1 t1")
    return {"server": server, "user": user, "ws": ws}


def _deliver(world: dict[str, Path], tmp_path: Path, push: str, **kw: object) -> dict:
    ws = world["ws"]
    reports = [
        {
            "workspace": str(ws),
            "branch": "fleet-s1-t1",
            "commit": _git(ws, "rev-parse", "HEAD"),
            "base_commit": _git(ws, "rev-parse", "HEAD~1"),
        }
    ]
    return deliver("s1", str(world["user"]), reports, data_dir=tmp_path / "d", push=push, **kw)  # type: ignore[arg-type]


def _team_rewrite(tmp_path: Path, server: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own ``~/.gitconfig`` sends the team URL to the test's server repository."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f'[url "{server}"]\n\tinsteadOf = {TEAM}\n')
    monkeypatch.setenv("HOME", str(home))


def test_a_push_to_a_loopback_url_is_refused_and_nothing_connects(world, tmp_path, listener):
    port, hits = listener
    for url in (f"https://127.0.0.1:{port}/x.git", f"https://localhost:{port}/x.git"):
        facts = _deliver(world, tmp_path, url)
        assert facts["delivered"] is True and facts["pushed"] is False, facts
        assert "not a remote of the repository" in facts["push_error"], facts
    assert hits == [], "the host's git connected to a local service"


def test_a_push_to_an_arbitrary_url_is_refused(world, tmp_path):
    facts = _deliver(world, tmp_path, "https://git.example.invalid/someone-else/x.git")
    assert facts["pushed"] is False and "not a remote of the repository" in facts["push_error"]
    assert "delivery.push_urls" in facts["push_error"]  # says how an operator allows one


def test_a_named_remote_on_a_loopback_address_is_refused(world, tmp_path, listener):
    port, hits = listener
    _git(world["user"], "remote", "add", "local", f"https://127.0.0.1:{port}/x.git")
    facts = _deliver(world, tmp_path, "local")
    assert facts["pushed"] is False and "special-purpose" in facts["push_error"], facts
    assert hits == []


def test_a_url_of_a_remote_the_repository_has_is_pushed(world, tmp_path, monkeypatch):
    _git(world["user"], "remote", "add", "team", TEAM)
    _team_rewrite(tmp_path, world["server"], monkeypatch)
    facts = _deliver(world, tmp_path, TEAM)
    assert facts["pushed"] is True, facts
    assert _ref(world["server"], "refs/heads/fleet/s1") == facts["commit"]


def test_an_operator_allowed_url_is_pushed(world, tmp_path, monkeypatch):
    _team_rewrite(tmp_path, world["server"], monkeypatch)
    refused = _deliver(world, tmp_path, TEAM)
    assert refused["pushed"] is False, refused
    allowed = _deliver(
        world, tmp_path, TEAM, policy=PushPolicy(allow=("https://git.example.invalid/team/",))
    )
    assert allowed["pushed"] is True, allowed
    assert _ref(world["server"], "refs/heads/fleet/s1") == allowed["commit"]
    # a prefix allows what lies under it, not a sibling that shares its first characters
    sibling = _deliver(
        world, tmp_path, TEAM, policy=PushPolicy(allow=("https://git.example.invalid/tea",))
    )
    assert sibling["pushed"] is False, sibling


def test_an_allowed_url_on_a_special_purpose_address_is_still_refused(world, tmp_path, listener):
    port, hits = listener
    url = f"https://127.0.0.1:{port}/x.git"
    facts = _deliver(world, tmp_path, url, policy=PushPolicy(allow=(url,)))
    assert facts["pushed"] is False and "special-purpose" in facts["push_error"], facts
    assert hits == []
