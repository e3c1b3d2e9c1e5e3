"""GitRepo against real git: files at a commit, and patches checked on a clean tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleet.adapters.git_repo import GitRepo
from fleet.contracts import Patch
from fleet.patches import SearchReplace, apply_edits, make_patch


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "ops.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "init")
    return tmp_path


def test_files_and_check_of_a_made_patch(repo: Path) -> None:
    git = GitRepo(repo)
    base = git.commit()
    files = git.files(base)
    assert files == {"calc/ops.py": "def add(a, b):\n    return a - b\n"}  # binary left out
    (repo / "calc" / "ops.py").write_text("dirty worktree\n")  # the check ignores the worktree
    new = apply_edits(files, [SearchReplace("calc/ops.py", "a - b", "a + b"),
                              SearchReplace("calc/mul.py", "", "def mul(a, b):\n    return a * b")])  # fmt: skip
    patch = make_patch(base, files, new)
    assert git.check(patch) is None
    _git(repo, "checkout", "-q", "--", ".")
    subprocess.run(["git", "-C", str(repo), "apply", "-"], input=patch.diff, text=True, check=True)
    assert (repo / "calc" / "mul.py").read_text() == "def mul(a, b):\n    return a * b"
    assert "a + b" in (repo / "calc" / "ops.py").read_text()


def test_check_reports_why_a_patch_does_not_apply(repo: Path) -> None:
    git = GitRepo(repo)
    files = {"calc/ops.py": "def add(a, b):\n    return a * b\n"}  # not what the commit holds
    patch = make_patch(git.commit(), files, {"calc/ops.py": "def add(a, b):\n    return 0\n"})
    assert "does not apply" in (git.check(patch) or "")
    assert "unknown base commit" in (
        git.check(patch.model_copy(update={"base_commit": "f" * 40})) or ""
    )
    escape = Patch(base_commit=git.commit(), diff="--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n")
    assert "climbs out" in (git.check(escape) or "")


def test_read_gives_one_file_files_leaves_out_for_its_size(repo: Path) -> None:
    big = "def test_x():\n    assert True\n" + "# padding\n" * 30_000  # ~300 kB
    (repo / "tests").mkdir()
    (repo / "tests" / "test_big.py").write_text(big)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "big test module")
    git = GitRepo(repo)
    assert "tests/test_big.py" not in git.files("HEAD")  # over the context's cap
    assert git.read("HEAD", "tests/test_big.py") == big
    assert git.read("HEAD", "tests/test_big.py", max_bytes=1000) is None
    assert git.read("HEAD", "tests/nope.py") is None
    assert git.read("HEAD", "blob.bin") is None  # binary
    assert git.read("HEAD", "calc") is None  # a directory
    assert git.read("HEAD~1", "tests/test_big.py") is None  # not at that commit
