"""Bounded output capture and safe artifact collection for sandbox backends.

Output is read while the run goes on and kept only up to a cap (the rest is
counted and dropped), so a command printing gigabytes never grows our memory.
"""

from __future__ import annotations

import os
import selectors
import stat
import time
from typing import IO

from fleet.adapters.untrusted_fs import Tree

MARKER = "\n[... output truncated by the sandbox at {cap} bytes; {dropped} more bytes dropped]\n"


class Capture:
    """Keeps the first ``cap`` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.buf)
        if room > 0:
            self.buf += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def text(self) -> str:
        body = self.buf.decode("utf-8", "replace")
        if self.truncated:
            body += MARKER.format(cap=self.cap, dropped=self.total - self.cap)
        return body

    def tail(self, n: int = 2000) -> str:
        return bytes(self.buf[-n:]).decode("utf-8", "replace")


def pump(
    out: IO[bytes],
    err: IO[bytes],
    cap_out: Capture,
    cap_err: Capture,
    *,
    deadline: float,
    ceiling: int,
) -> str | None:
    """Drain both pipes until EOF; return ``"timeout"``/``"output"`` if it had to stop early."""
    sel = selectors.DefaultSelector()
    sel.register(out, selectors.EVENT_READ, cap_out)
    sel.register(err, selectors.EVENT_READ, cap_err)
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            for key, _ in sel.select(timeout=min(left, 0.5)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                key.data.feed(chunk)
                if cap_out.total + cap_err.total > ceiling:
                    return "output"
        return None
    finally:
        sel.close()
        out.close()
        err.close()


def collect_artifacts(workspace: str, paths: tuple[str, ...], cap: int) -> dict[str, str]:
    """Read the requested files (text, capped) beneath the workspace, through no link at all.

    The sandboxed command controls the workspace, so a requested "artifact" may be a link (or
    sit below one) to a host secret; we read as the supervisor, so every path is resolved
    beneath the workspace with no link followed (``untrusted_fs``) and must be a regular file.
    """
    found: dict[str, str] = {}
    with Tree(workspace) as tree:
        for rel in paths:
            if os.path.isabs(rel) or ".." in rel.split("/"):
                found[rel] = "[refused: outside the workspace]"
                continue
            st = _lstat(tree, rel)
            if st is None:
                continue  # not produced
            if not stat.S_ISREG(st.st_mode):
                found[rel] = "[refused: not a regular file]"
                continue
            data = tree.read_bytes(rel, cap=cap + 1) or b""
            text = data[:cap].decode("utf-8", "replace")
            found[rel] = text + (MARKER.format(cap=cap, dropped="some") if len(data) > cap else "")
    return found


def _lstat(tree: Tree, rel: str) -> os.stat_result | None:
    """What sits at ``rel`` (a link as a link); a link on the way reads as a link too."""
    try:
        return tree.lstat(rel)
    except OSError:
        return os.stat_result((stat.S_IFLNK,) + (0,) * 9)
