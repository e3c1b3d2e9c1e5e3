"""The host-side file API for untrusted trees (``fleet.adapters.untrusted_fs``) never follows a
link a tree holds, never writes through one, and walks trees of any depth without recursion.

Each case plants what a hostile repository or sandboxed run can leave behind (a link where the
host expects a directory or a report, a link in the middle of a path, a FIFO, a hard link, a
tree 1,200 and 3,000 levels deep) and checks that the host-side operation refuses or stays
inside the tree, and that the host files the links point at are untouched.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.adapters.untrusted_fs import Tree, has_openat2, rmtree, usage

# a link on the way (ENOTDIR, ELOOP), a climb or an absolute path (EXDEV, EINVAL)
REFUSED = "Not a directory|symbolic links|leaves the tree|not a relative path"


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("host data")
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    os.symlink(host, root / "out")  # where the host expects to make its report directory
    os.symlink("../../host", root / "a" / "up")  # a link in the middle of a path
    os.symlink(host / "secret", root / "report.xml")
    return root, host


def _host_untouched(host: Path) -> None:
    assert sorted(os.listdir(host)) == ["secret"]
    assert (host / "secret").read_text() == "host data"
    st = os.stat(host)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), 0o755), st


def test_this_kernel_resolves_with_openat2():
    """The fd-chain fallback exists for old kernels; here the kernel does the resolving."""
    assert has_openat2()


@pytest.mark.parametrize(
    "op",
    [
        lambda t: t.mkdir("out", exist_ok=True),
        lambda t: t.mkdir("out/sub", parents=True, exist_ok=True),
        lambda t: t.chown("out", 65534, 65534),
        lambda t: t.chmod("out", 0o777),
        lambda t: t.chmod("report.xml", 0o777),
        lambda t: t.write_text("out/planted", "x"),
        lambda t: t.write_text("a/up/secret", "x"),
        lambda t: t.mkdir("a/up/new", parents=True),
        lambda t: t.rename("out/secret", "stolen"),
        lambda t: t.open_dir("a/up"),
        lambda t: t.rmtree("out"),
        lambda t: t.write_text("../host/secret", "x"),
        lambda t: t.write_text("/tmp/x", "x"),
    ],
)
def test_no_operation_passes_through_a_link(planted, op):
    root, host = planted
    with Tree(root) as tree, pytest.raises(OSError, match=REFUSED):
        op(tree)
    _host_untouched(host)


def test_reads_through_links_find_nothing(planted):
    root, host = planted
    with Tree(root) as tree:
        assert tree.read_text("report.xml") is None
        assert tree.read_text("out/secret") is None
        assert tree.read_text("a/up/secret") is None
        assert not tree.is_dir("out") and not tree.is_dir("a/up")


def test_writing_replaces_a_link_or_hard_link_never_writes_through_it(planted, tmp_path):
    root, host = planted
    os.link(host / "secret", root / "a" / "hard")
    with Tree(root) as tree:
        tree.write_text("report.xml", "fleet's own")
        tree.write_text("a/hard", "fleet's own")
        assert tree.read_text("report.xml") == "fleet's own"
    assert not (root / "report.xml").is_symlink()
    _host_untouched(host)


def test_a_fifo_does_not_block_a_read(planted):
    root, _ = planted
    os.mkfifo(root / "junit.xml")
    with Tree(root) as tree:
        assert tree.read_text("junit.xml") is None


def test_removing_leaves_link_targets_alone(planted):
    root, host = planted
    rmtree(root)
    assert not root.exists()
    _host_untouched(host)


def test_a_directory_made_unreadable_by_its_owner_is_still_removed(tmp_path):
    root = tmp_path / "root"
    (root / "locked" / "in").mkdir(parents=True)
    (root / "locked" / "in" / "f").write_text("x")
    os.chmod(root / "locked", 0)
    rmtree(root)
    assert not root.exists()


@pytest.mark.parametrize("depth", [1_200, 3_000])
def test_deep_trees_are_walked_counted_and_removed_without_recursion(tmp_path, depth):
    """1,200 levels broke a recursive walk; 3,000 one-letter levels also pass PATH_MAX."""
    root = tmp_path / "deep"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    with os.fdopen(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as fh:
        fh.write("0123456789")
    os.symlink("/", "root-link", dir_fd=fd)
    os.close(fd)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk would need one frame per level
    try:
        with Tree(root) as tree:
            levels = list(tree.walk())
        used, entries = usage(root)
        rmtree(root)
    finally:
        sys.setrecursionlimit(limit)
        if root.exists():  # pytest's own clean-up of old tmp dirs is recursive
            subprocess.run(["rm", "-rf", str(root)], check=False)
    assert len(levels) == depth + 1
    assert levels[-1].files == ["f", "root-link"]
    assert entries == depth + 2
    assert not root.exists()


def test_walk_prunes_and_usage_stops_early(tmp_path):
    root = tmp_path / "t"
    for name in ("keep", ".git"):
        (root / name).mkdir(parents=True)
        (root / name / "blob").write_bytes(b"x" * 1000)
    with Tree(root) as tree:
        seen = []
        for entry in tree.walk():
            entry.dirs[:] = [d for d in entry.dirs if d != ".git"]
            seen.append(entry.path)
        assert seen == [".", "keep"]
        _, entries = tree.usage(stop_at=10)
        assert entries == 1  # the first entry already passed the limit


def test_mkdir_applies_the_mode_and_refuses_what_exists(tmp_path):
    with Tree(tmp_path) as tree:
        tree.mkdir("out", mode=0o700)
        assert stat.S_IMODE(os.stat(tmp_path / "out").st_mode) == 0o700
        with pytest.raises(FileExistsError):
            tree.mkdir("out")
        tree.mkdir("out", exist_ok=True)
        tree.write_text("out/a/b.txt", "hi", parents=True)
        assert tree.read_text("out/a/b.txt") == "hi"
        tree.rename("out/a/b.txt", "out/c.txt")
        assert tree.listdir("out") == ["a", "c.txt"]
        tree.remove("out")
        assert tree.lstat("out") is None


def test_writing_over_a_setuid_file_never_makes_a_setuid_file(tmp_path):
    """The host (root) replaces a file the sandbox user made setuid: the new one is not."""
    (tmp_path / "tool").write_text("old")
    os.chmod(tmp_path / "tool", 0o4777)
    with Tree(tmp_path) as tree:
        tree.write_text("tool", "new")
    assert stat.S_IMODE(os.stat(tmp_path / "tool").st_mode) == 0o755
