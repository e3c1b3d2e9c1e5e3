"""Host git on repositories before trusting them: who owns them, how big their tree is, and
moving objects between two repositories without a transport.

- :func:`check_owned`: the fleet's git only works in a repository its own user owns (the
  directory, the git directories, the config files), none of it writable by others; git's
  ``safe.directory`` check looks at directories only, and a root-run git skips it for the
  paths it does not check at all.
- :func:`check_tree`: a clone's tree measured from ``git ls-tree`` (streamed, stopped at the
  first limit passed) before anything is checked out: the sum of blob sizes, the file count,
  the depth.
- :func:`copy_commit`: ``pack-objects`` in one repository piped into ``index-pack`` in the
  other; neither reads a remote, a URL rewrite or an upload-pack setting.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from fleet.adapters.git_command import command, environment, git
from fleet.errors import WorkspaceUnavailable


def _refuse(path: str | Path, why: str) -> WorkspaceUnavailable:
    return WorkspaceUnavailable(source=str(path), reason=why)


def _git_dirs(top: Path) -> list[Path]:
    """The git directory of the repository at ``top`` and its common directory (a linked
    worktree's ``.git`` is a file naming the first; a bare repository is its own)."""
    dotgit = top / ".git"
    try:
        st = os.lstat(dotgit)
    except FileNotFoundError:
        if (top / "HEAD").is_file() and (top / "objects").is_dir():
            return [top]  # bare
        # a subdirectory of a worktree: git would use a repository above it, unchecked
        raise _refuse(top, f"{top} is not the top of a git repository (no .git in it)") from None
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(top, f"{dotgit} is a symbolic link")
    if stat.S_ISDIR(st.st_mode):
        gitdir = dotgit
    else:
        line = dotgit.read_text(errors="replace").strip()
        if not line.startswith("gitdir: "):
            raise _refuse(top, f"{dotgit} is neither a directory nor a gitdir file")
        gitdir = (top / line.removeprefix("gitdir: ")).resolve()
    common = gitdir
    if (gitdir / "commondir").is_file():
        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
    return [gitdir] if common == gitdir else [gitdir, common]


def check_owned(repo: str | Path) -> Path:
    """The repository's common git directory, if the fleet's user owns the repository.

    Checked: the directory itself, its git directories and their ``config`` (and
    ``config.worktree``) files are owned by this process's user, none is writable by others,
    and no config file is a link.

    Raises:
        WorkspaceUnavailable: not owned, writable by others, or not a repository.
    """
    uid = os.geteuid()
    top = Path(os.path.realpath(repo))
    if not top.is_dir():
        raise _refuse(repo, f"{top} is not a directory")
    dirs = _git_dirs(top)
    paths = [top, *dirs]
    for gitdir in dirs:
        paths += [p for p in (gitdir / "config", gitdir / "config.worktree") if os.path.lexists(p)]
    for path in paths:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise _refuse(repo, f"{path} is a symbolic link")
        if st.st_uid != uid:
            raise _refuse(
                repo, f"{path} is owned by uid {st.st_uid}, not by the fleet's user (uid {uid})"
            )
        if st.st_mode & stat.S_IWOTH:
            raise _refuse(repo, f"{path} is writable by every user; run chmod o-w on it")
    return dirs[-1]


def object_bytes(repo: Path) -> int:
    """Bytes the repository's object store takes (packs and loose objects)."""
    out = git(repo, "count-objects", "-v", protocols="").stdout
    kib = {k: v for k, _, v in (ln.partition(": ") for ln in out.splitlines())}
    return 1024 * sum(int(kib.get(k, "0")) for k in ("size", "size-pack"))


def check_tree(
    repo: Path, rev: str, *, max_bytes: int, max_files: int, max_depth: int
) -> tuple[int, int]:
    """``(bytes, files)`` of the clone ``repo`` once ``rev`` is checked out (its object store
    counted in), if within the limits.

    Streams ``git ls-tree -r -l`` and stops at the first limit passed, so a tree of millions of
    entries costs no more than the limit to refuse.

    Raises:
        WorkspaceUnavailable: over a limit (the message names it), or ``rev`` has no tree.
    """
    cmd = [*command(repo), "ls-tree", "-r", "-z", "--long", "--full-tree", rev, "--"]
    total, files, deepest = object_bytes(repo), 0, 0
    why = _over(total, files, deepest, max_bytes, max_files, max_depth)
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment(protocols="")
    ) as proc:
        assert proc.stdout is not None
        rest = b""
        while not why and (chunk := proc.stdout.read(1 << 16)):
            *entries, rest = (rest + chunk).split(b"\0")
            for entry in entries:
                meta, _, path = entry.partition(b"\t")
                size = meta.split()[-1]
                total += int(size) if size.isdigit() else 0
                files += 1
                deepest = max(deepest, path.count(b"/"))
                if why := _over(total, files, deepest, max_bytes, max_files, max_depth):
                    proc.kill()
                    break
    if why:
        raise _refuse(repo, why + " (measured before checkout; nothing was written)")
    if proc.returncode != 0:
        raise _refuse(repo, f"git ls-tree {rev} failed (exit {proc.returncode})")
    return total, files


def _over(
    total: int, files: int, depth: int, max_bytes: int, max_files: int, max_depth: int
) -> str:
    if total > max_bytes:
        return (
            f"the repository is larger than the workspace limit ({max_bytes // 2**20} MB): "
            f"{_mb(total)} with its history, counting {files} of its files"
        )
    if files > max_files:
        return f"the repository has {files} files, more than the file limit ({max_files})"
    if depth > max_depth:
        return (
            f"the repository's tree is {depth} directories deep, more than the depth limit "
            f"({max_depth})"
        )
    return ""


def _mb(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n} bytes"


def copy_commit(source: Path, target: str | Path, commit: str) -> None:
    """Give ``target`` every object of ``commit`` it lacks, read from ``source``.

    What ``target`` already holds is found by asking it about the commits ``source`` knows
    (its refs and the commit's first 1,000 ancestors); the rest is one pack from ``source``
    indexed into ``target``. No transport, no remote, no hook: only object data crosses.

    Raises:
        WorkspaceUnavailable: a git step failed, or ``target`` still lacks an object after.
    """
    known = git(source, "for-each-ref", "--format=%(objectname)").stdout.split()
    known += git(source, "rev-list", "--first-parent", "--max-count=1000", commit).stdout.split()
    probe = git(target, "cat-file", "--batch-check", stdin="\n".join(known) + "\n", protocols="")
    have = [ln.split()[0] for ln in probe.stdout.splitlines() if " commit " in ln]
    if commit in have:
        return
    revs = "".join([f"{commit}\n", *(f"^{h}\n" for h in have)])
    pack = subprocess.Popen(
        [*command(source), "pack-objects", "--revs", "--stdout", "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(protocols=""),
    )  # fmt: skip
    assert pack.stdin is not None and pack.stdout is not None
    pack.stdin.write(revs.encode())
    pack.stdin.close()
    index = subprocess.run(
        [*command(target), "index-pack", "--stdin"],
        stdin=pack.stdout, capture_output=True, env=environment(protocols=""), timeout=600,
    )  # fmt: skip
    pack.stdout.close()
    err = pack.stderr.read() if pack.stderr else b""
    if pack.stderr:
        pack.stderr.close()
    if pack.wait(timeout=600) != 0 or index.returncode != 0:
        err += index.stderr
        raise _refuse(target, f"copying {commit[:12]} failed: {err.decode(errors='replace')[:400]}")
    missing = git(target, "rev-list", "--objects", "--quiet", commit, *(f"^{h}" for h in have),
                  "--", check=False, protocols="")  # fmt: skip
    if missing.returncode != 0:
        raise _refuse(target, f"{commit[:12]} is incomplete after the copy")
