"""Old and new file contents -> a git-format unified diff (``Patch``), by difflib."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from fleet.contracts import Patch

NO_NEWLINE = "\\ No newline at end of file\n"


def file_diff(path: str, old: str | None, new: str | None) -> str:
    """The git-format diff of one file (``old`` None: created; ``new`` None: deleted)."""
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    head = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        head.append("new file mode 100644\n")
    elif new is None:
        head.append("deleted file mode 100644\n")
    src = "/dev/null" if old is None else f"a/{path}"
    dst = "/dev/null" if new is None else f"b/{path}"
    body = list(difflib.unified_diff(a, b, src, dst, n=3))
    if not body:
        return "".join(head) if old is None or new is None else ""
    body[0], body[1] = f"--- {src}\n", f"+++ {dst}\n"
    out = []
    for line in body:
        out.append(line)
        if not line.endswith("\n"):
            out[-1] = line + "\n" + NO_NEWLINE
    return "".join(head + out)


def make_patch(
    base_commit: str,
    old_files: Mapping[str, str],
    new_files: Mapping[str, str],
    rationale: str = "",
) -> Patch:
    """The patch taking ``old_files`` to ``new_files`` (paths missing from ``new_files`` are
    unchanged; an empty new file created from nothing is kept)."""
    parts, files = [], []
    for path in sorted(new_files):
        old = old_files.get(path)
        if old == new_files[path]:
            continue
        diff = file_diff(path, old, new_files[path])
        if diff:
            parts.append(diff)
            files.append(path)
    return Patch(
        base_commit=base_commit, diff="".join(parts), files=tuple(files), rationale=rationale
    )
