"""The gateway's repository check on real git repositories (no Ray): what submission refuses,
with which reason, and the default branch the UI pre-fills."""

from __future__ import annotations

import socket
import subprocess
import threading
import time

import pytest

from fleet.errors import InvalidInput
from serve_apps.gateway.repos import RepoProbe

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}  # fmt: skip


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], check=True, env=ENV, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "proj"
    _git("init", "-q", "-b", "develop", str(path))
    (path / "a.txt").write_text("a\n")
    _git("-C", str(path), "add", "-A")
    _git("-C", str(path), "commit", "-q", "-m", "a")
    _git("-C", str(path), "branch", "feature/x")
    return path


@pytest.fixture
def probe(tmp_path):
    return RepoProbe(roots=(str(tmp_path),), timeout_s=3.0)


def _refused(probe, repo, branch=None) -> InvalidInput:
    with pytest.raises(InvalidInput) as err:
        probe.check(str(repo), branch)
    return err.value


def test_default_branch_and_branches_of_a_local_path_and_a_file_url(probe, repo):
    seen = probe.branches(str(repo))
    assert seen.default_branch == "develop" and seen.branches == ["develop", "feature/x"]
    assert probe.branches(f"file://{repo}").default_branch == "develop"
    assert probe.check(str(repo), "feature/x").default_branch == "develop"
    _git("-C", str(repo), "checkout", "-q", "--detach")
    assert probe.branches(str(repo)).default_branch is None  # detached HEAD: none to pre-fill


def test_what_submission_refuses_and_why(probe, repo, tmp_path):
    cases = {
        tmp_path / "missing": ("repo", "does not exist"),
        tmp_path: ("repo", "is not a readable git repository"),
        "/etc": ("repo", "outside the configured repository roots"),
        "https://[::1": ("repo", "not a repository URL or path"),
        "ext::sh -c id": ("repo", "not allowed"),
    }
    for source, (field, reason) in cases.items():
        err = _refused(probe, source)
        assert err.fields["field"] == field and reason in str(err), (source, str(err))
    err = _refused(probe, repo, "main")
    assert err.fields["field"] == "branch"
    assert "has no branch 'main' (its branches: develop, feature/x; default: develop)" in str(err)
    empty = tmp_path / "empty"
    _git("init", "-q", str(empty))
    assert "no branches yet" in str(_refused(probe, empty))
    # a repository whose config anyone may rewrite is refused as the clone would refuse it
    (empty / ".git" / "config").chmod(0o666)
    assert "writable by every user" in str(_refused(probe, empty))


def test_a_url_that_does_not_answer_is_refused_within_the_timeout(tmp_path):
    # a server that accepts and then says nothing: git must not hang the submission
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    probe = RepoProbe(roots=(str(tmp_path),), allow_private=True, timeout_s=2.0)
    started = time.monotonic()
    try:
        err = _refused(probe, f"https://127.0.0.1:{port}/r.git")
    finally:
        listener.close()
        for conn in held:
            conn.close()
    assert time.monotonic() - started < 10
    assert "timed out after 2s" in str(err), str(err)
    # without allow_private, a loopback URL is not even tried
    assert "local services are not repository sources" in str(
        _refused(RepoProbe(roots=()), "https://127.0.0.1/r.git")
    )
