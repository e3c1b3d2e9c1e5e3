"""Target environments on disk: the source exported from git, sealed read-only, checked on use.

Every host operation here works beneath a directory file descriptor and never follows a link
(``O_NOFOLLOW``, ``follow_symlinks=False``, ``*at`` calls), and every walk is iterative with a
bounded number of open descriptors: what it walks was written by sandboxed build code.

- :func:`export` writes a commit's tree (read with ``git ls-tree`` / ``git cat-file``, never a
  working tree) into a fresh host-only directory and returns the sha256 of every path, mode and
  content in it (links as links, submodules left out): the environment's key covers exactly
  what the installer was given.
- :func:`seal` makes a built environment the host's and read-only (owner root, no write bit)
  and returns its manifest: kind, mode, size and sha256 (a link's target) of every entry.
  Anything but directories, regular files with one link and symbolic links is refused.
- :func:`walk` re-reads the manifest of a sealed tree (with or without content hashes) to
  verify it; :func:`remove` deletes a tree without following anything in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from fleet.adapters.git_host import HARDENING, _env

SAFE = [arg for setting in HARDENING for arg in ("-c", setting)]
DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_DEPTH = 128  # deeper trees are refused; removal flattens them instead
CHUNK = 1 << 20
Entry = tuple[str, str, int, int, str]  # path, kind (d/f/l), mode bits, size, sha256 or target


class Unsafe(Exception):
    """The tree holds something a sealed environment may not (a device, a hard link, depth)."""


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


def open_dir(parent: int, name: str) -> int:
    """A descriptor of the directory ``name`` in ``parent``; OSError when it is anything else."""
    return os.open(name, DIR, dir_fd=parent)


def give(root: int, uid: int) -> None:
    """Hand a freshly exported tree (nothing sandboxed touched it yet) to ``uid``."""
    for fd, _rel, names in _dirs(root):
        for name in names:
            os.chown(name, uid, uid, dir_fd=fd, follow_symlinks=False)
    os.fchown(root, uid, uid)


def _dirs(root: int) -> Iterator[tuple[int, str, list[str]]]:
    """(descriptor, relative path, entry names) of every directory beneath ``root``, depth
    first; descriptors are closed after their turn.

    Raises:
        Unsafe: deeper than :data:`MAX_DEPTH`.
    """
    stack: list[tuple[int, str, int]] = [(os.dup(root), "", 0)]
    try:
        while stack:
            fd, rel, depth = stack.pop()
            try:
                names = sorted(os.listdir(fd))
                yield fd, rel, names
                for name in names:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        if depth >= MAX_DEPTH:
                            raise Unsafe(f"deeper than {MAX_DEPTH} directories")
                        stack.append((open_dir(fd, name), f"{rel}{name}/", depth + 1))
            finally:
                os.close(fd)
    finally:
        for fd, _, _ in stack:
            os.close(fd)


def walk(root: int, *, hashes: bool, seal_uid: int | None = None) -> list[Entry]:
    """The manifest of the tree beneath ``root`` (sorted); with ``seal_uid``, each entry is
    first given to that uid with every write bit removed. ``hashes`` False: regular files get
    no content hash (a cheap check of a sealed tree).

    Raises:
        Unsafe: a device, fifo, socket, hard-linked file, or a tree too deep.
    """
    entries: list[Entry] = []
    for fd, rel, names in _dirs(root):
        for name in names:
            entries.append(_entry(fd, name, rel, hashes=hashes, seal_uid=seal_uid))
    if seal_uid is not None:
        os.fchown(root, seal_uid, seal_uid)
        os.fchmod(root, 0o555)
    return sorted(entries)


def _entry(fd: int, name: str, rel: str, *, hashes: bool, seal_uid: int | None) -> Entry:
    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    path = rel + name
    if stat.S_ISLNK(st.st_mode):
        if seal_uid is not None:
            os.chown(name, seal_uid, seal_uid, dir_fd=fd, follow_symlinks=False)
        return (path, "l", 0, 0, os.readlink(name, dir_fd=fd))
    if stat.S_ISDIR(st.st_mode):
        if seal_uid is not None:
            sub = open_dir(fd, name)
            try:
                os.fchown(sub, seal_uid, seal_uid)
                os.fchmod(sub, stat.S_IMODE(st.st_mode) & 0o555 | 0o500)
            finally:
                os.close(sub)
            return (path, "d", stat.S_IMODE(st.st_mode) & 0o555 | 0o500, 0, "")
        return (path, "d", stat.S_IMODE(st.st_mode), 0, "")
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        raise Unsafe(f"{path!r} is not a plain file, directory or link")
    mode = stat.S_IMODE(st.st_mode) & (0o555 if seal_uid is not None else 0o7777)
    if seal_uid is None and not hashes:
        return (path, "f", mode, st.st_size, "")
    ffd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
    try:
        if (os.fstat(ffd).st_ino, os.fstat(ffd).st_dev) != (st.st_ino, st.st_dev):
            raise Unsafe(f"{path!r} changed while sealing")
        if seal_uid is not None:
            os.fchown(ffd, seal_uid, seal_uid)
            os.fchmod(ffd, mode)
        sha = hashlib.sha256()
        while hashes and (chunk := os.read(ffd, CHUNK)):
            sha.update(chunk)
    finally:
        os.close(ffd)
    return (path, "f", mode, st.st_size, sha.hexdigest() if hashes else "")


def remove(parent: int, name: str) -> None:
    """Delete ``name`` in ``parent`` and everything beneath it, following nothing. Deep trees
    are flattened (their subdirectories moved up) rather than walked with a deep stack."""
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    trash = [name]
    while trash:
        top = trash.pop()
        fd = open_dir(parent, top)
        try:
            _empty(fd, parent, trash)
        finally:
            os.close(fd)
        os.rmdir(top, dir_fd=parent)


def _empty(fd: int, parent: int, trash: list[str]) -> None:
    """Remove what ``fd`` holds: files at once, subdirectories moved next to it (in ``parent``)
    for :func:`remove` to empty in turn."""
    with contextlib.suppress(PermissionError):
        os.fchmod(fd, 0o700)  # sealed directories have no write bit (root needs none)
    for name in os.listdir(fd):
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            moved = f".trash-{uuid.uuid4().hex}"
            os.rename(name, moved, src_dir_fd=fd, dst_dir_fd=parent)
            trash.append(moved)
        else:
            os.unlink(name, dir_fd=fd)


def manifest_bytes(key: str, entries: list[Entry]) -> bytes:
    """The manifest as stored (JSON; undecodable names kept as escaped surrogates)."""
    return json.dumps({"key": key, "entries": entries}, sort_keys=True).encode()


def read_manifest(data: bytes, key: str) -> list[Entry] | None:
    """The entries of a stored manifest of ``key`` (None: unreadable or another key's)."""
    try:
        found = json.loads(data)
        entries = [(str(p), str(k), int(m), int(s), str(v)) for p, k, m, s, v in found["entries"]]
    except (ValueError, TypeError, KeyError):
        return None
    return entries if found.get("key") == key else None


def cheap(entries: list[Entry]) -> list[Entry]:
    """``entries`` without the content hashes of regular files (what a cheap walk returns)."""
    return [(p, k, m, s, "" if k == "f" else v) for p, k, m, s, v in entries]
