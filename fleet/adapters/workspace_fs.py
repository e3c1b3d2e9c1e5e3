"""Host-side file helpers of the workspace and evidence runners.

None of them follows a link in a workspace: they go through :mod:`fleet.adapters.untrusted_fs`.
Besides the clone's size and the reports, they make what the gate reads unforgeable by the
change it judges: every sandboxed step that writes a report gets a fresh, randomly named
directory made by the host right before the step (nothing earlier can have planted a file
there), coverage runs with the fleet's own configuration, and the candidate's edits to test
infrastructure are replaced in the judged tree by the base commit's versions
(:mod:`fleet.testinfra`).
"""

from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path

from fleet.adapters import git_host
from fleet.adapters.untrusted_fs import Tree
from fleet.settings import settings
from fleet.testinfra import (
    SECTIONED,
    TOOL_MODULES,
    WHOLE_FILE,
    InfraChange,
    infra_changes,
    is_test_file,
    plugins_named,
)

# The fleet's coverage configuration: no plugin, no exclusion a change could add lines to (a
# never-matching pattern: `# pragma: no cover` in a change does not hide its lines).
COVERAGERC = """[run]
source = .
omit =
    tests/*
    */tests/*
plugins =

[report]
exclude_lines =
    a\\A
"""
# what the base's configuration can name as pytest plugins (read from the base commit)
_BASE_CONFIGS = (
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
    "conftest.py",
)


def default_roots(root: Path) -> tuple[str, ...]:
    configured = settings().repo_roots
    if configured is not None:
        return configured
    # The runner's root, the data dir holding it (the demo's sample repository lives there), the
    # temp dir and the home directory.
    return (str(root), str(root.parent), tempfile.gettempdir(), str(Path.home()))


def slug(story: str | None) -> str:
    """``<story>--`` for workspace names (letters, digits, ``-``, ``_`` only), or empty."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", story or "")[:40]
    return f"{clean}--" if clean else ""


def tree_bytes(path: Path, *, stop_at: int) -> int:
    """Bytes under ``path`` (lstat: links are not followed), counting stops past ``stop_at``.
    Iterative: a tree thousands of levels deep is counted, not a ``RecursionError``."""
    with Tree(path) as tree:
        return tree.usage(stop_at=stop_at)[0]


def read_report(out: Path, name: str, cap: int = 8_000_000) -> str | None:
    """A report the sandbox wrote into ``out``: a regular file, never through a link."""
    try:
        with Tree(out) as tree:
            return tree.read_text(name, cap=cap)
    except OSError:
        return None


def fresh_dir(box: Path, step: str, *, uid: int, rcfile: bool = False) -> Path:
    """A new, randomly named directory in ``box`` for one sandboxed step's reports, handed to
    the sandbox user; with ``rcfile``, the fleet's coverage configuration in it (host-owned,
    read-only: the step's own code runs only after coverage has read it)."""
    name = f"{step}-{uuid.uuid4().hex}"
    with Tree(box) as tree:
        tree.mkdir(name, mode=0o755)  # never exist_ok: the host makes it, nothing else may have
        if rcfile:
            tree.write_text(f"{name}/coveragerc", COVERAGERC, mode=0o444)
        tree.chown(name, uid, uid)
    return box / name


def _blob(ws: Path, spec: str) -> str | None:
    """A file's text from git (``HEAD:path``, ``:path`` for the index), None when absent."""
    try:
        got = git_host.git(ws, "cat-file", "blob", spec, check=False)
    except (UnicodeDecodeError, OSError):
        return None
    return got.stdout if got.returncode == 0 else None


def _maybe_infra(path: str, plugins: set[str]) -> bool:
    """Whether ``path`` needs its git versions read (a cheap filter before ``infra_changes``)."""
    name = path.rsplit("/", 1)[-1]
    top = path.removeprefix("src/").split("/", 1)[0].removesuffix(".py")
    return (
        name in WHOLE_FILE
        or name in SECTIONED
        or name.endswith(".pth")
        or is_test_file(path)
        or top in TOOL_MODULES
        or any(p.split(".", 1)[0] == top for p in plugins)
    )


def judge_with_base_infra(ws: Path) -> list[InfraChange]:
    """Put the base commit's test infrastructure into the working tree of ``ws`` wherever the
    staged change touches it (the index, and so the commit, keep the change); what was replaced.
    """
    raw = git_host.git(ws, "diff", "--cached", "--name-only", "-z", "--no-renames", "HEAD", "--")
    configs = {n: text for n in _BASE_CONFIGS if (text := _blob(ws, f"HEAD:{n}")) is not None}
    plugins = plugins_named(configs)
    changed = {
        path: (_blob(ws, f"HEAD:{path}"), _blob(ws, f":{path}"))
        for path in raw.stdout.split("\0")
        if path and _maybe_infra(path, plugins)
    }
    found = infra_changes(changed, plugins=plugins)
    with Tree(ws) as tree:
        for change in found:
            if change.judged is None:
                tree.remove(change.path)
            else:
                tree.write_text(change.path, change.judged, parents=True)
    return found
