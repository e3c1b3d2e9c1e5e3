"""Host-side file helpers of the workspace runner; none of them follows a link in a workspace."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path


def default_roots(root: Path) -> tuple[str, ...]:
    configured = os.environ.get("FLEET_REPO_ROOTS")
    if configured:
        return tuple(p for p in configured.split(os.pathsep) if p)
    # The runner's root, the data dir holding it (the demo's sample repository lives there), the
    # temp dir and the home directory.
    return (str(root), str(root.parent), tempfile.gettempdir(), str(Path.home()))


def slug(story: str | None) -> str:
    """``<story>--`` for workspace names (letters, digits, ``-``, ``_`` only), or empty."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", story or "")[:40]
    return f"{clean}--" if clean else ""


def tree_bytes(path: Path, *, stop_at: int) -> int:
    """Bytes under ``path`` (lstat: links are not followed), counting stops past ``stop_at``."""
    total = 0
    for dirpath, dirs, files in os.walk(path, followlinks=False):
        for name in files + dirs:
            total += os.lstat(os.path.join(dirpath, name)).st_size
            if total > stop_at:
                return total
    return total


def read_report(out: Path, name: str, cap: int = 8_000_000) -> str | None:
    """A report the sandbox wrote into ``out``: a regular file, never through a link."""
    try:
        fd = os.open(out / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return fh.read(cap).decode("utf-8", "replace")
