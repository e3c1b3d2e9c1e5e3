"""The pipeline's repository port: a remote repository is cloned once per story (the council and
the executor read the same clone, at the same commit); a local repository is read in place."""

from __future__ import annotations

import subprocess
from pathlib import Path

from actors.story_ports import READ_BRANCH, StorySources

URL = "https://git.example.invalid/team/calc.git"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def _origin(tmp_path: Path) -> Path:
    repo = tmp_path / "origin"
    repo.mkdir()
    (repo / "ops.py").write_text("def add(a, b):\n    return a + b\n")
    _git("-C", str(repo), "init", "-q", "-b", "main")
    _git("-C", str(repo), "add", "-A")
    _git("-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "base")
    return repo


def test_a_remote_repository_is_cloned_once_per_story_and_a_local_one_never(tmp_path):
    origin = _origin(tmp_path)
    clones: list[tuple[str, str | None]] = []

    def clone(source: str, *, branch: str, base: str | None) -> Path:
        clones.append((source, base))
        ws = tmp_path / "runs" / f"ws-{len(clones)}" / "repo"
        _git("clone", "-q", str(origin), str(ws))
        _git("-C", str(ws), "checkout", "-q", "-b", branch)
        return ws

    sources = StorySources(tmp_path / "sources", clone)
    first = sources.checkout("s1", URL, "main")
    again = sources.checkout("s1", URL, "main")  # the council, then the executor
    assert clones == [(URL, "main")] and first.repo.path == again.repo.path
    assert first.branch == READ_BRANCH and first.commit == again.commit == _git(
        "-C", str(origin), "rev-parse", "HEAD"
    )
    assert first.repo.files(first.commit) == {"ops.py": "def add(a, b):\n    return a + b\n"}
    other = sources.checkout("s2", URL, "main")
    assert len(clones) == 2 and other.repo.path != first.repo.path
    local = sources.checkout("s3", str(origin), None)
    assert len(clones) == 2 and local.repo.path == str(origin) and local.branch is None
