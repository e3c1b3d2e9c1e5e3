"""Limits before work: a repository is measured from its trees before anything is checked out.

Through the workspace runner's clone path (``WorkspaceRunner.prepare``): a tiny pack that
unpacks to far more than the workspace limit, a tree of more files than the file quota, and a
tree nested deeper than the depth limit are each refused with a clear error before ``git
checkout`` writes a single file, and the workspace is removed. The repositories are built
object by object, so each costs kilobytes here, whatever it would cost to check out.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import zlib
from pathlib import Path

import pytest

from fleet.adapters.workspace import Sources, WorkspaceRunner
from fleet.errors import WorkspaceUnavailable

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def _git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=GIT_ENV, check=True).stdout


def _put(repo: Path, kind: str, body: bytes) -> bytes:
    """Write one loose object; its binary id."""
    raw = f"{kind} {len(body)}\0".encode() + body
    oid = hashlib.sha1(raw).hexdigest()
    where = repo / ".git" / "objects" / oid[:2] / oid[2:]
    where.parent.mkdir(exist_ok=True)
    if not where.exists():
        where.write_bytes(zlib.compress(raw, 1))
    return bytes.fromhex(oid)


def _tree(repo: Path, entries: list[tuple[str, str, bytes]]) -> bytes:
    body = b"".join(f"{mode} {name}".encode() + b"\0" + oid for mode, name, oid in entries)
    return _put(repo, "tree", body)


def _repo_with_tree(path: Path, build) -> Path:
    """A repository whose one commit on ``main`` has the tree ``build(path)`` returns."""
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    tree = build(path).hex()
    commit = _git(path, "commit-tree", tree, "-m", "hostile tree").strip()
    _git(path, "update-ref", "refs/heads/main", commit)
    return path


def _runner(tmp_path: Path, **kw: object) -> WorkspaceRunner:
    roots = Sources(repo_roots=[tmp_path / "repos"])
    return WorkspaceRunner(None, root=tmp_path / "runs", sources=roots, **kw)  # type: ignore[arg-type]


def _refused_cleanly(runner: WorkspaceRunner, repo: Path, match: str) -> None:
    with pytest.raises(WorkspaceUnavailable, match=match):
        runner.prepare(str(repo), branch="fleet/x")
    assert list(runner.root.iterdir()) == []  # the clone is gone too


def test_a_small_pack_that_unpacks_past_the_limit_is_refused_before_checkout(tmp_path):
    # 32 names for one 32 MB blob of zeros: a pack of some 32 kB, 1 GB once checked out
    def build(repo: Path) -> bytes:
        blob = _put(repo, "blob", b"\0" * (32 * 2**20))
        return _tree(repo, [("100644", f"z{i:02}", blob) for i in range(32)])

    repo = _repo_with_tree(tmp_path / "repos" / "bomb", build)
    runner = _runner(tmp_path)  # the default limit: 512 MB
    runner.root.mkdir(parents=True)
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:  # did a checked-out file ever appear in a workspace?
        while not done.is_set():
            for ws in runner.root.glob("ws-*/repo"):
                seen.extend(p.name for p in ws.glob("z*"))
            done.wait(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        _refused_cleanly(
            runner, repo, r"larger than the workspace limit \(512 MB\).*before checkout"
        )
    finally:
        done.set()
        watcher.join()
    assert seen == [], f"files were checked out before the size check: {sorted(set(seen))[:3]}"


def test_more_files_than_the_quota_is_refused_before_checkout(tmp_path):
    # one directory of 1,000 empty files, named 101 times: 101,000 files from 3 objects
    def build(repo: Path) -> bytes:
        empty = _put(repo, "blob", b"")
        inner = _tree(repo, [("100644", f"f{i:04}", empty) for i in range(1000)])
        return _tree(repo, [("40000", f"d{i:03}", inner) for i in range(101)])

    repo = _repo_with_tree(tmp_path / "repos" / "many", build)
    _refused_cleanly(_runner(tmp_path), repo, r"has 10\d{4} files, more than the file limit")


def test_a_tree_deeper_than_the_limit_is_a_clear_error_and_no_workspace_is_left(tmp_path):
    def build(repo: Path) -> bytes:
        tree = _tree(repo, [("100644", "leaf.py", _put(repo, "blob", b"X = 1\n"))])
        for _ in range(1200):
            tree = _tree(repo, [("40000", "d", tree)])
        return tree

    repo = _repo_with_tree(tmp_path / "repos" / "deep", build)
    _refused_cleanly(_runner(tmp_path), repo, "1200 directories deep.*depth limit")


def test_a_repository_within_the_limits_is_checked_out(tmp_path):
    def build(repo: Path) -> bytes:
        leaf = _tree(repo, [("100644", "m.py", _put(repo, "blob", b"X = 1\n"))])
        return _tree(
            repo, [("40000", "pkg", leaf), ("100644", "README", _put(repo, "blob", b"hi\n"))]
        )

    repo = _repo_with_tree(tmp_path / "repos" / "fine", build)
    ws = _runner(tmp_path).prepare(str(repo), branch="fleet/x")
    assert (ws / "pkg" / "m.py").read_text() == "X = 1\n" and (ws / "README").exists()
    assert _git(ws, "status", "--porcelain") == ""  # a clean checkout of the base commit
    assert _git(ws, "branch", "--show-current").strip() == "fleet/x"
    assert os.stat(ws).st_uid == os.geteuid()
