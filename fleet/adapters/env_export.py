"""A commit's tree, exported by host git into a fresh directory: what a target environment is
built from (never a working tree). Read with ``git ls-tree`` / ``git cat-file`` (hardened host
git, no filters, no attributes), written beneath a directory descriptor with ``O_EXCL`` and
``O_NOFOLLOW``; ``.git`` components, ``.``/``..`` and submodules are left out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import threading
from pathlib import Path

from fleet.adapters.env_store import DIR, Unsafe
from fleet.adapters.git_command import HARDENING
from fleet.adapters.git_command import environment as _env

SAFE = [arg for setting in HARDENING for arg in ("-c", setting)]
CHUNK = 1 << 20


def _git(repo: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["git", *SAFE, "-C", str(repo), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )


def tree_of(repo: Path, commit: str) -> str | None:
    """The tree id of ``commit`` in ``repo`` (None: not a repository, no such commit)."""
    proc = subprocess.run(
        ["git", *SAFE, "-C", str(repo), "rev-parse", "--verify", "--end-of-options"]
        + [f"{commit}^{{tree}}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _parts(path: bytes) -> list[bytes] | None:
    parts = path.split(b"/")
    bad = any(p in (b"", b".", b"..") or p.lower() == b".git" for p in parts)
    return None if bad else parts


def _listing(repo: Path, tree: str) -> list[tuple[bytes, bytes, bytes]]:
    """(mode, sha, path) of every blob of ``tree``; links and files, never submodules."""
    proc = _git(repo, "ls-tree", "-r", "-z", "--full-tree", tree)
    out, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise Unsafe(f"git ls-tree failed on {tree}")
    found = []
    for item in out.split(b"\0"):
        if not item:
            continue
        meta, path = item.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob" and _parts(path) is not None:
            found.append((mode, sha, path))
    return found


def _parent(root: int, parts: list[bytes], made: dict[tuple[bytes, ...], int]) -> int:
    """The descriptor of the directory holding ``parts[-1]``, made on the way (never a link)."""
    fd = root
    for i in range(len(parts) - 1):
        here = tuple(parts[: i + 1])
        if here not in made:
            with contextlib.suppress(FileExistsError):
                os.mkdir(parts[i], 0o755, dir_fd=fd)
            made[here] = os.open(parts[i], DIR, dir_fd=fd)
        fd = made[here]
    return fd


def export(repo: Path, tree: str, root: int, *, max_bytes: int, max_files: int) -> str:
    """Write ``tree`` beneath the directory ``root``; the sha256 of its paths, modes, contents.

    Raises:
        Unsafe: git failed, or the tree passes ``max_bytes`` or ``max_files``.
    """
    entries = _listing(repo, tree)
    if len(entries) > max_files:
        raise Unsafe(f"more than {max_files} files")
    digest = hashlib.sha256(b"tree\0")
    cat = _git(repo, "cat-file", "--batch")
    assert cat.stdin is not None and cat.stdout is not None
    feed = b"".join(sha + b"\n" for _, sha, _ in entries)
    feeder = threading.Thread(target=_feed, args=(cat.stdin, feed), daemon=True)
    feeder.start()
    made: dict[tuple[bytes, ...], int] = {}
    total = 0
    try:
        for mode, _sha, path in entries:
            header = cat.stdout.readline().split()
            if len(header) != 3:
                raise Unsafe(f"git cat-file: no blob for {os.fsdecode(path)!r}")
            size = int(header[2])
            total += size
            if total > max_bytes:
                raise Unsafe(f"more than {max_bytes // 1_000_000} MB")
            parts = _parts(path) or []
            blob = _write(cat.stdout, size, mode, _parent(root, parts, made), parts[-1])
            digest.update(mode + b" " + path + b"\0" + blob + b"\0")
            cat.stdout.read(1)  # the newline after each blob
    finally:
        cat.kill()
        cat.wait()
        feeder.join()
        for pipe in (cat.stdin, cat.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        for fd in made.values():
            os.close(fd)
    return digest.hexdigest()


def _feed(pipe: object, data: bytes) -> None:
    with contextlib.suppress(OSError):
        pipe.write(data)  # type: ignore[attr-defined]
        pipe.close()  # type: ignore[attr-defined]


def _write(src: object, size: int, mode: bytes, parent: int, name: bytes) -> bytes:
    """One blob from ``src`` into ``name`` (a new file or link); the sha256 of its content."""
    read = src.read  # type: ignore[attr-defined]
    sha = hashlib.sha256()
    if mode == b"120000":
        target = read(size)
        sha.update(target)
        os.symlink(target, name, dir_fd=parent)
        return sha.hexdigest().encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o755 if mode == b"100755" else 0o644, dir_fd=parent)
    with os.fdopen(fd, "wb") as out:
        left = size
        while left:
            chunk = read(min(left, CHUNK))
            if not chunk:
                raise Unsafe("git cat-file ended early")
            sha.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return sha.hexdigest().encode()
