"""Host-side file operations of the runners never follow what a repository ships (real git,
bubblewrap, pytest; run as root, where it matters).

- The evidence runner's report directory: a repository that ships ``out -> <host dir>`` used to
  make root ``chown`` that host directory to the sandbox user (``mkdir(exist_ok=True)`` followed
  the link) and pytest then wrote into it.
- A tree 1,200 levels deep: the host's size count (a recursive ``os.walk``) raised an uncaught
  ``RecursionError`` and left the workspace behind; now it is measured (or refused by a depth
  limit) and removed, whatever the depth.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.adapters.untrusted_fs import rmtree
from fleet.adapters.workspace import Toolchain, WorkspaceRunner
from fleet.config import load
from fleet.contracts import Patch, Proposal, RunContext, TaskSpec
from fleet.errors import WorkspaceUnavailable
from fleet.evidence import EvidenceSuite
from fleet.policy import PolicyEngine
from tests.integration.test_council_evidence import ACCEPT, _git

CTX = RunContext(story_id="s-fs", task_id="t-1", role="developer", phase="build")


def _commit(repo: Path) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")


def test_the_evidence_runner_never_hands_a_host_directory_to_the_sandbox(tmp_path):
    host = tmp_path / "host-dir"
    host.mkdir(mode=0o755)
    (host / "keep").write_text("host data")
    before = os.stat(host)
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "tests" / "test_old.py").write_text(
        "from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
    )
    os.symlink(host, repo / "out")  # where the evidence runner used to put its report
    _commit(repo)
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=1)
    suite = EvidenceSuite(files={"tests/test_acceptance.py": ACCEPT}, test_paths=("tests",))
    tests = runner.baseline(suite, source=str(repo), base="main", context=RunContext())
    after = os.stat(host)
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid), "host dir chowned"
    assert stat.S_IMODE(after.st_mode) == 0o755
    assert sorted(os.listdir(host)) == ["keep"], os.listdir(host)
    assert {t.test_id: t.passed for t in tests} == {
        "tests/test_acceptance.py::test_add": True,
        "tests/test_old.py::test_zero": True,
    }


def test_a_proposal_still_gets_evidence_when_the_repository_ships_out(tmp_path):
    """A repository may hold a real ``out/`` directory (a build output, say): evidence runs."""
    repo = tmp_path / "repo"
    (repo / "out").mkdir(parents=True)
    (repo / "out" / "evidence.xml").write_text("<testsuites/>")
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    _commit(repo)
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    diff = _git(repo, "diff")
    _git(repo, "checkout", "-q", "--", ".")
    patch = Patch(base_commit="main", diff=diff, files=("calc.py",), rationale="r")
    prop = Proposal(
        id="p", deliberation_id="d", author="a", role="developer", content="c", patch=patch
    )
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=1)
    suite = EvidenceSuite(files={"tests/test_acceptance.py": ACCEPT}, test_paths=("tests",))
    (ev,) = runner.run([prop], suite, source=str(repo), base="main", context=RunContext())
    assert ev.passed and ev.tests_passed == 1, ev


@pytest.fixture
def deep_repo(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "deep"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    # os.makedirs is recursive in its own way; build it one openat at a time
    fd = os.open(repo, os.O_RDONLY)
    for _ in range(1_200):
        os.mkdir("d", dir_fd=fd)
        nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    with os.fdopen(os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as fh:
        fh.write("bottom\n")
    os.close(fd)
    _commit(repo)
    yield repo
    rmtree(repo)  # pytest's own clean-up of old tmp dirs is recursive: it would fail on this


def _deep(root: Path) -> None:
    """Remove whatever a run left under ``root`` (iteratively)."""
    for name in os.listdir(root) if root.exists() else ():
        rmtree(root / name)


def test_a_1200_deep_tree_is_measured_and_removed_without_recursion(tmp_path, deep_repo):
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
    root = tmp_path / "runs"
    runner = WorkspaceRunner(sandbox, root=root, tools=Toolchain(python=sys.executable))
    try:
        try:
            out = runner.execute(
                str(deep_repo), {"README.md": "d\n"}, branch="fleet/deep", level="L0", context=CTX
            )
        except WorkspaceUnavailable as exc:  # a clear refusal (a depth limit) is fine too
            refused = str(exc)
        else:
            refused = ""
            assert out.status in ("checked", "committed"), out
            runner.remove(out.workspace)
        assert not refused or "deep" in refused, refused
        assert os.listdir(root) == [], os.listdir(root)
    finally:
        _deep(root)


def test_artifacts_are_read_beneath_the_workspace_through_no_link(tmp_path):
    """What a sandboxed run leaves where the host reads its artifacts: a link in the middle of
    the path, a link to a file inside, a FIFO, a climb with ``..``: nothing is read through."""
    ws = tmp_path / "ws"
    ws.mkdir(mode=0o777)
    os.chmod(ws, 0o777)  # the sandbox user writes here
    script = (
        "mkdir -p real && echo ok > real/report.xml && ln -s /etc sub && ln -s real alias "
        "&& mkfifo pipe.xml"
    )
    result = BwrapSandbox().run(
        TaskSpec(
            id="art-links",
            cmd=("sh", "-c", script),
            workspace=str(ws),
            artifacts=(
                "real/report.xml",
                "sub/passwd",
                "alias/report.xml",
                "pipe.xml",
                "../ws/real/report.xml",
                "/etc/passwd",
            ),
        )  # fmt: skip
    )
    assert result.status == "passed", result
    got = result.artifacts
    assert got["real/report.xml"] == "ok\n"
    for refused in ("sub/passwd", "alias/report.xml", "pipe.xml", "../ws/real/report.xml"):
        assert got[refused].startswith("[refused"), (refused, got[refused])
    assert got["/etc/passwd"].startswith("[refused"), got
    assert "root:" not in "".join(got.values())
