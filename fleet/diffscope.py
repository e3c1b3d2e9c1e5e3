"""Gates judge the change, not the repository's history: findings and coverage on changed lines.

A real repository arrives with lint findings and untested code of its own; a one-line fix must
not be blocked by them, and must not hide its own. So the runner counts lint and static-analysis
findings on the lines the change adds, and coverage of the executable lines it adds (diff
coverage, as diff-cover does). Pure functions over the tools' JSON and a unified diff.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from fleet.unified_diff import parse

Added = Mapping[str, set[int]]
"""Path (relative to the repository) -> line numbers the change adds or rewrites there."""


def added_lines(diff: str) -> dict[str, set[int]]:
    """The lines each file gains in ``diff`` (a git unified diff; deleted files gain none).

    Raises:
        DiffError: ``diff`` is not a unified diff (``fleet.unified_diff``).
    """
    return {f.target: {n for n, _ in f.added} for f in parse(diff) if f.target and f.added}


def _owner(filename: str, added: Added) -> str | None:
    """The repository path a tool's (possibly absolute) file name is."""
    name = filename.replace("\\", "/").removeprefix("./")
    for path in added:
        if name == path or name.endswith("/" + path):
            return path
    return None


def findings_on(json_text: str, added: Added) -> int:
    """Findings of ``ruff check --output-format json`` that sit on lines the change adds."""
    try:
        findings = json.loads(json_text or "[]")
    except ValueError:
        return 0
    count = 0
    for f in findings if isinstance(findings, list) else []:
        try:
            path, row = _owner(str(f["filename"]), added), int(f["location"]["row"])
        except (KeyError, TypeError, ValueError):
            continue
        count += path is not None and row in added[path]
    return count


def diff_coverage(json_text: str, added: Added) -> float | None:
    """Percent of the change's executable lines that the tests ran (``coverage json`` output);
    100.0 when the change adds no executable line in a measured file; None when unreadable."""
    try:
        files = json.loads(json_text)["files"]
    except (ValueError, KeyError, TypeError):
        return None
    run = total = 0
    for name, data in files.items() if isinstance(files, dict) else []:
        path = _owner(str(name), added)
        if path is None:
            continue
        lines = added[path]
        executed = lines & set(data.get("executed_lines", []))
        missing = lines & set(data.get("missing_lines", []))
        run, total = run + len(executed), total + len(executed) + len(missing)
    return 100.0 if total == 0 else round(100.0 * run / total, 2)
