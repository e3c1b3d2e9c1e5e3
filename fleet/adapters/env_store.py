"""Target environments on disk: sealed read-only after the build, checked on every use.

Every host operation here works beneath a directory file descriptor and never follows a link
(``O_NOFOLLOW``, ``follow_symlinks=False``, ``*at`` calls), and every walk is iterative with a
bounded number of open descriptors: what it walks was written by sandboxed build code.
(:mod:`fleet.adapters.env_export` writes the source, a commit's tree, the same way.)

- :func:`take_back` locks the sandbox user out of a built stage, keeps only ``venv`` and seals
  it (owner the host; directories 0555, files 0444 or 0555) while reading its manifest: kind,
  mode, size and sha256 (a link's target) of every entry. Anything but directories, regular
  files with one link and symbolic links is refused (:class:`Unsafe`), and so is a tree deeper
  than :data:`MAX_DEPTH`.
- :func:`publish` moves it under its key and writes the manifest next to it, outside anything a
  sandbox wrote; :func:`stored` says whether an environment still matches its manifest.
- :func:`remove` deletes a tree without following anything in it, flattening deep trees.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator

DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_DEPTH = 128  # deeper trees are refused; removal flattens them instead
CHUNK = 1 << 20
Entry = tuple[str, str, int, int, str]  # path, kind (d/f/l), mode bits, size, sha256 or target


class Unsafe(Exception):
    """The tree holds something a sealed environment may not (a device, a hard link, depth)."""


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
                os.fchmod(sub, 0o555)
            finally:
                os.close(sub)
            return (path, "d", 0o555, 0, "")
        return (path, "d", stat.S_IMODE(st.st_mode), 0, "")
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        raise Unsafe(f"{path!r} is not a plain file, directory or link")
    mode = stat.S_IMODE(st.st_mode)
    if seal_uid is not None:  # readable by the sandbox user of every later test run, as built
        mode = 0o555 if mode & 0o111 else 0o444
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


def sweep(envs: int, *, older_than_s: float) -> list[str]:
    """Remove the leftovers of builds that died (stages, proxy directories, half-written
    manifests, trash) last changed more than ``older_than_s`` ago; their names."""
    gone = []
    for name in os.listdir(envs):
        if not name.startswith((".build-", ".net-", ".trash-", ".manifest-")):
            continue
        with contextlib.suppress(OSError, Unsafe):
            if (
                time.time() - os.stat(name, dir_fd=envs, follow_symlinks=False).st_mtime
                > older_than_s
            ):
                remove(envs, name)
                gone.append(name)
    return gone


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


def sealed(st: os.stat_result) -> bool:
    """Owned by the host's user, with no write bit for anyone."""
    return st.st_uid == os.geteuid() and not st.st_mode & 0o222


def read_sealed(parent: int, name: str) -> bytes | None:
    """A sealed regular file of ``parent`` (never through a link); None otherwise."""
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent
        )
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        return fh.read() if stat.S_ISREG(st.st_mode) and sealed(st) else None


def stored(envs: int, key: str, *, verified: set[str]) -> list[Entry] | None:
    """The manifest of the environment ``<envs>/<key>`` if the environment matches it, else
    None. The manifest (``<key>.manifest``, written by the host next to the environment) and
    the environment's top directories must be sealed; the tree must match every content hash
    unless ``verified`` holds this manifest's digest (then kinds, modes and sizes), and a full
    match adds it there."""
    data = read_sealed(envs, f"{key}.manifest")
    entries = read_manifest(data, key) if data is not None else None
    if data is None or entries is None:
        return None
    proof = hashlib.sha256(data).hexdigest()
    full = proof not in verified
    try:
        top = open_dir(envs, key)
        try:
            if not sealed(os.fstat(top)) or os.listdir(top) != ["venv"]:
                return None
            venv = open_dir(top, "venv")
            try:
                found = walk(venv, hashes=full) if sealed(os.fstat(venv)) else None
            finally:
                os.close(venv)
        finally:
            os.close(top)
    except (OSError, Unsafe):
        return None
    if found != (entries if full else cheap(entries)):
        return None
    if full:
        verified.add(proof)
    return entries


def take_back(stage: int) -> list[Entry]:
    """Make a built stage the host's: lock the sandbox user out first, remove everything but
    ``venv``, seal that (owner the host, no write bit); its manifest.

    Raises:
        OSError, Unsafe: the stage holds something a sealed environment may not.
    """
    me = os.geteuid()
    os.fchown(stage, me, os.getegid())
    os.fchmod(stage, 0o700)  # before anything in it is read
    for name in os.listdir(stage):
        if name != "venv":
            remove(stage, name)
    venv = open_dir(stage, "venv")
    try:
        entries = walk(venv, hashes=True, seal_uid=me)
    finally:
        os.close(venv)
    os.fchmod(stage, 0o555)
    return entries


def publish(envs: int, stage: str, key: str, entries: list[Entry]) -> None:
    """Move the sealed ``stage`` to ``key`` and write its manifest next to it (last: the
    manifest is what makes it count). Built meanwhile by another process: that one stays."""
    note = f".manifest-{uuid.uuid4().hex[:16]}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(note, flags, 0o444, dir_fd=envs), "wb") as out:
        out.write(manifest_bytes(key, entries))
    try:
        os.rename(stage, key, src_dir_fd=envs, dst_dir_fd=envs)
        os.rename(note, f"{key}.manifest", src_dir_fd=envs, dst_dir_fd=envs)
    except OSError:
        os.unlink(note, dir_fd=envs)
