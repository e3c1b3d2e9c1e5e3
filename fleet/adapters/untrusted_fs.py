"""Host-side file operations on trees that a sandbox, a repository or a build could have written.

Every path inside such a tree is *relative to a root directory* and is resolved beneath the
root's file descriptor with **no symbolic link followed anywhere** (not in the middle, not at
the end): ``openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`` where the
kernel has it (Linux 5.6+), else a chain of ``openat(O_NOFOLLOW | O_DIRECTORY)`` one component
at a time. A link, a ``..`` or an absolute path raises :class:`OSError` (``ELOOP``, ``EXDEV``,
``EINVAL``); so does a component of the wrong type. Walks are iterative and hold one directory
descriptor at a time (going back up through ``..``, checked against the device and inode seen on
the way down), so a tree thousands of levels deep neither recurses nor runs out of descriptors.

Usage::

    with Tree(box) as t:               # box: a directory the host made (its own path is trusted)
        t.mkdir("out", mode=0o755)      # never through a link the tree holds
        t.chown("out", uid, uid)
        text = t.read_text("out/junit.xml", cap=8_000_000)   # None: absent or not a regular file
        t.write_text("repo/pkg/mod.py", "...", parents=True)   # atomic replace, no link followed
        for rel, dirs, files in t.walk("repo"):                # like os.walk, topdown, prunable
            dirs[:] = [d for d in dirs if d != ".git"]
        used, count = t.usage("repo", stop_at=2**27)            # bytes and entries (lstat)
        t.rmtree("repo")                                         # iterative, never follows a link

Functions for a one-off operation: :func:`rmtree` (remove a tree given its path) and
:func:`usage`. The root path itself is opened with ``O_NOFOLLOW``: its parents are the caller's
(a fleet-owned directory), its last component must not be a link.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Tree", "rmtree", "usage", "has_openat2"]

_SYS_OPENAT2 = 437  # the same number on every Linux architecture (the unified syscall table)
_RESOLVE_NO_MAGICLINKS, _RESOLVE_NO_SYMLINKS, _RESOLVE_BENEATH = 0x02, 0x04, 0x08
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO cannot block a read
_openat2_ok: bool | None = None


def _libc_syscall() -> Any:
    try:
        fn = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_long
    return fn


_syscall = _libc_syscall()


def _openat2(dir_fd: int, rel: str, flags: int, mode: int = 0) -> int:
    how = struct.pack(
        "QQQ",
        flags | os.O_CLOEXEC,
        mode if flags & os.O_CREAT else 0,
        _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS,
    )
    assert _syscall is not None
    fd = _syscall(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(dir_fd),
        ctypes.c_char_p(os.fsencode(rel)),
        ctypes.c_char_p(how),
        ctypes.c_size_t(len(how)),
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), rel)
    return int(fd)


def has_openat2() -> bool:
    """Whether this kernel (and any seccomp filter around us) lets us call ``openat2``."""
    global _openat2_ok
    if _openat2_ok is None:
        _openat2_ok = False
        if _syscall is not None:
            root = os.open("/", _DIR)
            try:
                os.close(_openat2(root, ".", _DIR))
                _openat2_ok = True
            except OSError:
                pass
            finally:
                os.close(root)
    return _openat2_ok


def _parts(rel: str | Path) -> list[str]:
    """The components of a relative path; ``..``, absolute paths and NUL bytes are refused."""
    text = os.fspath(rel)
    if "\0" in text or text.startswith("/"):
        raise OSError(errno.EINVAL, "not a relative path inside the tree", text)
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise OSError(errno.EXDEV, "'..' leaves the tree", text)
    return parts


def _open_beneath(root_fd: int, rel: str | Path, flags: int, mode: int = 0) -> int:
    """An fd for ``rel`` beneath ``root_fd``, no link followed (``flags`` gets O_NOFOLLOW)."""
    parts = _parts(rel)
    flags |= os.O_NOFOLLOW | os.O_CLOEXEC
    if not parts:
        return os.open(".", flags & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC), dir_fd=root_fd)
    if has_openat2():
        try:
            return _openat2(root_fd, "/".join(parts), flags, mode)
        except OSError as exc:
            if exc.errno != errno.ENAMETOOLONG:  # past PATH_MAX: the chain below still works
                raise
    fd = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return os.open(parts[-1], flags, mode, dir_fd=fd)
    finally:
        os.close(fd)


class Entry(NamedTuple):
    """One directory level of :meth:`Tree.walk`: like ``os.walk``'s triple, paths relative."""

    path: str
    dirs: list[str]
    files: list[str]


class Tree:
    """A directory whose contents the host does not trust; every method resolves beneath it.

    Raises (every method): ``OSError`` when a path is absent where it must exist, passes
    through or ends in a symbolic link, climbs with ``..``, or has the wrong type.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.fd = os.open(self.root, _DIR)

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # ------------------------------------------------------------ descriptors
    def open_dir(self, rel: str | Path = ".") -> int:
        """A descriptor of directory ``rel`` (the caller closes it)."""
        return _open_beneath(self.fd, rel, _DIR)

    def _parent(self, rel: str | Path, *, parents: bool = False) -> tuple[int, str]:
        parts = _parts(rel)
        if not parts:
            raise OSError(errno.EINVAL, "the tree's root has no parent here", os.fspath(rel))
        if parents and len(parts) > 1:
            self.mkdir("/".join(parts[:-1]), parents=True, exist_ok=True)
        return self.open_dir("/".join(parts[:-1])), parts[-1]

    def lstat(self, rel: str | Path) -> os.stat_result | None:
        """``lstat`` of ``rel`` (a link is reported as a link), or None when it does not exist;
        its parent directories must be plain directories."""
        parts = _parts(rel)
        if not parts:
            return os.stat(self.fd)
        try:
            fd, name = self._parent(rel)
        except FileNotFoundError:
            return None
        try:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        finally:
            os.close(fd)

    def is_dir(self, rel: str | Path) -> bool:
        """A plain directory (not a link to one); False on anything unusual on the way."""
        try:
            st = self.lstat(rel)
        except OSError:
            return False
        return st is not None and stat.S_ISDIR(st.st_mode)

    def listdir(self, rel: str | Path = ".") -> list[str]:
        fd = self.open_dir(rel)
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    # ------------------------------------------------------------ create and change
    def mkdir(
        self, rel: str | Path, *, mode: int = 0o755, parents: bool = False, exist_ok: bool = False
    ) -> None:
        """Create directory ``rel`` (and missing parents with ``parents``); an existing link (to
        anything) is never accepted, even with ``exist_ok``. ``mode`` is applied exactly (not
        masked by the umask) to the directories this call creates."""
        parts = _parts(rel)
        if not parts:
            if exist_ok:
                return
            raise FileExistsError(errno.EEXIST, "the tree's root exists", os.fspath(rel))
        fd = os.dup(self.fd)
        try:
            for i, part in enumerate(parts):
                last, made = i == len(parts) - 1, False
                if last or parents:
                    try:
                        os.mkdir(part, mode, dir_fd=fd)
                        made = True
                    except FileExistsError:
                        if last and not exist_ok:
                            raise
                nxt = os.open(part, _DIR, dir_fd=fd)  # ELOOP/ENOTDIR: a link or a file
                os.close(fd)
                fd = nxt
                if made:
                    os.fchmod(fd, mode)
        finally:
            os.close(fd)

    def chown(self, rel: str | Path, uid: int, gid: int) -> None:
        """Change the owner of a plain directory or regular file (never through a link)."""
        fd = self._open_plain(rel)
        try:
            os.fchown(fd, uid, gid)
        finally:
            os.close(fd)

    def chmod(self, rel: str | Path, mode: int) -> None:
        """Change the mode of a plain directory or regular file (never through a link)."""
        fd = self._open_plain(rel)
        try:
            os.fchmod(fd, mode)
        finally:
            os.close(fd)

    def _open_plain(self, rel: str | Path) -> int:
        fd = _open_beneath(self.fd, rel, _FILE)
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            os.close(fd)
            raise OSError(errno.EPERM, "neither a directory nor a regular file", os.fspath(rel))
        return fd

    def write_bytes(
        self, rel: str | Path, data: bytes, *, mode: int | None = None, parents: bool = False
    ) -> None:
        """Write ``rel`` by atomic replacement: a fresh file next to it, renamed over it. The
        old directory entry (a link, a hard link to another file) is replaced, never written
        through. ``mode``: default the replaced regular file's permission bits (at most 0o755), else
        0o644."""
        fd, name = self._parent(rel, parents=parents)
        tmp = f".fleet-tmp-{uuid.uuid4().hex}"
        try:
            if mode is None:
                try:
                    old = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    # the replaced file's permission bits, never its setuid/setgid/sticky
                    # bits or write access for others: the new file is the host's
                    mode = old.st_mode & 0o755 if stat.S_ISREG(old.st_mode) else 0o644
                except FileNotFoundError:
                    mode = 0o644
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            out = os.open(tmp, flags, 0o600, dir_fd=fd)
            try:
                os.fchmod(out, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view) :]
            finally:
                os.close(out)
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            raise
        finally:
            os.close(fd)

    def write_text(
        self, rel: str | Path, text: str, *, mode: int | None = None, parents: bool = False
    ) -> None:
        """:meth:`write_bytes` of ``text`` encoded as UTF-8."""
        self.write_bytes(rel, text.encode("utf-8"), mode=mode, parents=parents)

    def rename(self, src: str | Path, dst: str | Path) -> None:
        """Rename within the tree (both parents resolved beneath the root, no link followed;
        a link at ``src`` is moved as the link itself)."""
        sfd, sname = self._parent(src)
        try:
            dfd, dname = self._parent(dst)
            try:
                os.rename(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)

    def remove(self, rel: str | Path, *, missing_ok: bool = True) -> None:
        """Remove ``rel``: a file or a link is unlinked (the link, never its target), a
        directory is removed with everything in it (:meth:`rmtree`)."""
        st = self.lstat(rel)
        if st is None:
            if not missing_ok:
                raise FileNotFoundError(errno.ENOENT, "no such file", os.fspath(rel))
            return
        if stat.S_ISDIR(st.st_mode):
            self.rmtree(rel)
            return
        fd, name = self._parent(rel)
        try:
            os.unlink(name, dir_fd=fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------ read
    def read_bytes(self, rel: str | Path, *, cap: int = 8_000_000) -> bytes | None:
        """At most ``cap`` bytes of regular file ``rel``; None when it is absent, unreachable
        without a link, or not a regular file (a FIFO, a device, a directory)."""
        try:
            fd = _open_beneath(self.fd, rel, _FILE)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            chunks, left = [], cap
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def read_text(self, rel: str | Path, *, cap: int = 8_000_000) -> str | None:
        """:meth:`read_bytes` decoded as UTF-8 (bad bytes replaced)."""
        data = self.read_bytes(rel, cap=cap)
        return None if data is None else data.decode("utf-8", "replace")

    # ------------------------------------------------------------ walk
    def walk(self, rel: str | Path = ".") -> Iterator[Entry]:
        """Iterative top-down walk of directory ``rel`` (like ``os.walk``; links are listed
        among ``files`` and never entered); prune by editing ``entry.dirs`` in place. One
        directory descriptor is open at a time, whatever the depth."""
        for entry, _fd in self._walk(rel):
            yield entry

    def _walk(self, rel: str | Path) -> Iterator[tuple[Entry, int]]:
        """The walk with the current directory's descriptor (valid until the next step)."""
        fd = self.open_dir(rel)
        base = "/".join(_parts(rel)) or "."
        # each level: (its path, its (dev, ino), subdirectories still to visit)
        stack: list[tuple[str, tuple[int, int], list[str]]] = []
        try:
            path = base
            while True:
                entry = _scan(fd, path)
                yield entry, fd
                st = os.fstat(fd)
                stack.append((path, (st.st_dev, st.st_ino), list(reversed(entry.dirs))))
                fd, path = _next_dir(fd, stack)
                if fd < 0:
                    return
        finally:
            if fd >= 0:
                os.close(fd)

    def usage(self, rel: str | Path = ".", *, stop_at: int | None = None) -> tuple[int, int]:
        """``(bytes, entries)`` under ``rel`` (lstat sizes; links counted, never followed);
        counting stops once bytes pass ``stop_at``."""
        total = count = 0
        for entry, fd in self._walk(rel):
            for name in entry.dirs + entry.files:
                try:
                    total += os.stat(name, dir_fd=fd, follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue
                count += 1
                if stop_at is not None and total > stop_at:
                    return total, count
        return total, count

    def rmtree(self, rel: str | Path = ".") -> None:
        """Remove directory ``rel`` and everything under it (``"."``: empty the root, keep it).
        Iterative; a link is removed as a link; missing entries are fine."""
        parts = _parts(rel)
        fd = self.open_dir(rel)
        # each level: its name in the parent, its (dev, ino)
        stack: list[tuple[str, tuple[int, int]]] = []
        try:
            while True:
                sub = _empty_files(fd)
                if sub is not None:
                    child = _open_child(fd, sub)
                    if child is None:  # gone, replaced, or unreadable: rmdir it or fail loudly
                        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                            os.rmdir(sub, dir_fd=fd)
                        continue
                    st = os.fstat(fd)
                    stack.append((sub, (st.st_dev, st.st_ino)))
                    os.close(fd)
                    fd = child
                    continue
                if not stack:
                    break
                name, ident = stack.pop()
                fd = _up(fd, ident)
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(name, dir_fd=fd)
        finally:
            os.close(fd)
        if parts:
            pfd, name = self._parent(rel)
            try:
                os.rmdir(name, dir_fd=pfd)
            finally:
                os.close(pfd)


def _scan(fd: int, path: str) -> Entry:
    dirs: list[str] = []
    files: list[str] = []
    with os.scandir(fd) as it:
        for item in it:
            try:
                is_dir = item.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(item.name)
    return Entry(path, sorted(dirs), sorted(files))


def _open_child(fd: int, name: str) -> int | None:
    """A subdirectory's descriptor, or None when it vanished or is no longer a directory."""
    try:
        return os.open(name, _DIR, dir_fd=fd)
    except PermissionError:
        # a directory its (sandboxed) owner made unreadable: give it back to the host
        with contextlib.suppress(OSError):
            path_fd = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            try:
                os.chmod(f"/proc/self/fd/{path_fd}", 0o700)  # the very inode just opened
            finally:
                os.close(path_fd)
            return os.open(name, _DIR, dir_fd=fd)
        return None
    except (FileNotFoundError, NotADirectoryError, OSError):
        return None


def _up(fd: int, ident: tuple[int, int]) -> int:
    """The parent of ``fd``, checked to be the directory the walk came down from."""
    parent = os.open("..", _DIR, dir_fd=fd)
    os.close(fd)
    st = os.fstat(parent)
    if (st.st_dev, st.st_ino) != ident:
        os.close(parent)
        raise OSError(errno.ESTALE, "the tree moved while it was walked")
    return parent


def _next_dir(fd: int, stack: list[tuple[str, tuple[int, int], list[str]]]) -> tuple[int, str]:
    """Step to the next directory of a top-down walk: into the next pending subdirectory, or
    up (verified) until a level has one left; ``(-1, "")`` at the end (``fd`` closed)."""
    while stack:
        path, _ident, todo = stack[-1]
        while todo:
            name = todo.pop()
            child = _open_child(fd, name)
            if child is not None:
                os.close(fd)
                return child, name if path == "." else f"{path}/{name}"
        stack.pop()
        if stack:
            fd = _up(fd, stack[-1][1])
    os.close(fd)
    return -1, ""


def _empty_files(fd: int) -> str | None:
    """Unlink every non-directory in ``fd``; the first subdirectory left, or None."""
    with os.scandir(fd) as it:
        items = list(it)
    for item in items:
        try:
            if item.is_dir(follow_symlinks=False):
                return item.name
            os.unlink(item.name, dir_fd=fd)
        except FileNotFoundError:
            continue
    return None


def rmtree(path: str | Path, *, missing_ok: bool = True) -> None:
    """Remove the directory ``path`` and everything in it, never following a link inside it
    (``path``'s parent is trusted; ``path`` itself, if a link, is removed as a link)."""
    path = Path(os.path.abspath(path))
    try:
        with Tree(path.parent) as parent:
            parent.remove(path.name, missing_ok=missing_ok)
    except FileNotFoundError:
        if not missing_ok:
            raise


def usage(path: str | Path, *, stop_at: int | None = None) -> tuple[int, int]:
    """``(bytes, entries)`` under directory ``path`` (see :meth:`Tree.usage`)."""
    with Tree(path) as tree:
        return tree.usage(stop_at=stop_at)
