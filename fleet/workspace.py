"""Pure parts of the workspace runner: change validation and report parsing.

The runner (``fleet/adapters/workspace.py``) touches git and the sandbox; here
live the decisions that need neither: is a proposed path inside the repository,
what does a unified diff touch, and what did pytest/coverage/ruff report.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fleet import unified_diff as unified
from fleet.contracts import GateResult, WorkspaceReport

_RENAME = re.compile(r"^(?:rename|copy) (?:from|to) (?P<path>.+)$")
_SYMLINK_MODE = re.compile(r"^(?:new file mode|new mode|old mode|deleted file mode) 120000")


class WorkspaceOutcome(BaseModel):
    """What executing one change in a workspace produced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["rejected", "checked", "committed"] = Field(
        description="rejected: the change did not apply; checked: gated, not committed; committed"
    )
    branch: str
    workspace: str
    reason: str = ""
    report: WorkspaceReport | None = None
    gate: GateResult | None = None
    commit: str | None = None
    base_commit: str | None = Field(None, description="the commit the change was applied to")
    failed_tests: tuple[str, ...] = ()
    test_infra: tuple[str, ...] = Field(
        (),
        description="test-infrastructure files the change edits (conftest.py, pytest/coverage "
        "configuration, markers added to existing tests...): the gate judged the base commit's "
        "versions; keeping the change's needs the PO's explicit approval",
    )


def path_problem(path: str) -> str | None:
    """Why ``path`` may not be written by a change (``None`` when it is a safe relative path)."""
    if not path or "\x00" in path:
        return "empty path or NUL byte"
    if path.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", path):
        return f"{path!r} is absolute; changes may only touch files inside the repository"
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if ".." in parts:
        return f"{path!r} climbs out of the repository with '..'"
    if parts and parts[0] == ".git":
        return f"{path!r} is inside .git; changes may not edit repository internals"
    return None


def diff_paths(diff: str) -> tuple[list[str], list[str]]:
    """Paths a unified diff touches (each file's before and after, renames and copies
    included), and problems found in it (symlink modes; a text unidiff cannot read)."""
    try:
        files = unified.parse(diff)
    except unified.DiffError as exc:
        return [], [str(exc)]
    paths: list[str] = []
    problems: list[str] = []
    for f in files:
        paths += [p for p in (f.source, f.target) if p is not None]
        for line in f.header:
            if (rename := _RENAME.match(line)) is not None:
                paths.append(rename["path"].strip())
            elif _SYMLINK_MODE.match(line):
                problems.append(
                    "the patch creates or changes a symlink (mode 120000); symlinks are not accepted"
                )
    return list(dict.fromkeys(paths)), problems


def change_problem(change: str | Mapping[str, str]) -> str | None:
    """First reason a change (unified diff or ``{path: content}``) must be rejected, if any."""
    if isinstance(change, str):
        if not change.strip():
            return "the change is empty"
        paths, problems = diff_paths(change)
        if not paths:
            return (
                problems[0]
                if problems
                else ("not a unified diff: no '---'/'+++' or 'diff --git' headers found")
            )
    else:
        if not change:
            return "the change lists no files"
        paths, problems = list(change), []
    for p in paths:
        why = path_problem(p)
        if why:
            return why
    return problems[0] if problems else None


def parse_junit(xml_text: str) -> tuple[int, int, list[str]]:
    """``(passed, failed, failed test ids)`` from a pytest junit XML report.

    Errors count as failures; skipped tests count as neither.
    """
    root = ET.fromstring(xml_text)
    passed, failed, names = 0, 0, []
    for case in root.iter("testcase"):
        bad = case.find("failure") is not None or case.find("error") is not None
        if case.find("skipped") is not None and not bad:
            continue
        if bad:
            failed += 1
            names.append(_test_id(case))
        else:
            passed += 1
    return passed, failed, names


def failure_messages(xml_text: str, limit: int = 240) -> dict[str, str]:
    """Failed test id -> the first line of its failure message (pytest's ``assert ...`` line),
    from a pytest junit XML report: what the next attempt must fix, not only where."""
    out: dict[str, str] = {}
    for case in ET.fromstring(xml_text).iter("testcase"):
        bad = case.find("failure")
        bad = bad if bad is not None else case.find("error")
        if bad is None:
            continue
        text = (bad.get("message") or bad.text or "").strip()
        out[_test_id(case)] = " ".join(text.split("\n", 1)[0].split())[:limit]
    return out


def _test_id(case: ET.Element) -> str:
    """``tests/test_x.py::test_name`` of a junit test case."""
    cls = case.get("classname", "")
    module = cls.replace(".", "/") + ".py" if cls else "?"
    return f"{module}::{case.get('name', '?')}"


def is_e2e(classname: str) -> bool:
    """End-to-end tests by convention: anything under an ``e2e`` directory (``tests/e2e/``)."""
    return "e2e" in classname.split(".")[:-1]


def e2e_counts(xml_text: str) -> tuple[int, int]:
    """``(passed, failed)`` among the end-to-end tests of a pytest junit XML report."""
    passed = failed = 0
    for case in ET.fromstring(xml_text).iter("testcase"):
        if not is_e2e(case.get("classname", "")):
            continue
        bad = case.find("failure") is not None or case.find("error") is not None
        if case.find("skipped") is not None and not bad:
            continue
        failed, passed = (failed + 1, passed) if bad else (failed, passed + 1)
    return passed, failed


_COLLECTED = re.compile(r"^collected (\d+) items?(?:[^\n]*? / (\d+) selected)?", re.M)
_SUMMARY = re.compile(r"^=+ (?P<body>[^=\n]*?) in [\d.]+s(?: \([^)]*\))? =+$", re.M)
# the same line when the repository's addopts make pytest quiet (-q): no borders, no "collected"
_QUIET_SUMMARY = re.compile(
    r"^(?P<body>\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)"
    r"[^=\n]*?) in [\d.]+s(?: \([^)]*\))?$",
    re.M,
)
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def junit_problem(xml_text: str, stdout: str, exit_code: int | None) -> str | None:
    """Why a JUnit report that claims no failures disagrees with the run that produced it.

    The tests run in the process that writes the report, so they can overwrite it; the report
    is only believed when pytest's own terminal output (what it collected, its summary line)
    and the exit code tell the same story.
    """
    try:
        passed, failed, _ = parse_junit(xml_text)
        cases = sum(1 for _ in ET.fromstring(xml_text).iter("testcase"))
    except ET.ParseError:
        return "the junit report is not XML"
    if failed:
        return None  # a report admitting failures blocks the gate anyway
    full = _SUMMARY.findall(stdout)
    summaries = full + _QUIET_SUMMARY.findall(stdout)
    if len(summaries) != 1:
        return "pytest's output has no single summary line"
    # "collected 10 items / 2 deselected / 8 selected": the report lists the selected ones
    collected = [int(sel or n) for n, sel in _COLLECTED.findall(stdout)]
    quiet = not full  # -q prints no "collected" line
    if len(collected) > 1 or (not collected and not quiet):
        return "pytest's output does not say (once) how many tests it collected"
    if collected and cases != collected[0]:
        return f"the junit report lists {cases} tests, collection found {collected[0]}"
    counts = {kind.rstrip("s"): int(n) for n, kind in _COUNT.findall(summaries[0])}
    if counts.get("failed") or counts.get("error"):
        return f"pytest reported {summaries[0]!r} but the junit report claims no failures"
    if counts.get("passed", 0) != passed:
        return f"pytest reported {summaries[0]!r}, the junit report {passed} passed"
    if exit_code not in (0, None):
        return f"pytest exited with {exit_code} but the junit report claims no failures"
    return None


def parse_coverage(json_text: str) -> float | None:
    """Total percent covered from ``coverage json`` output."""
    try:
        pct = json.loads(json_text)["totals"]["percent_covered"]
    except (ValueError, KeyError, TypeError):
        return None
    return round(min(100.0, max(0.0, float(pct))), 2)


def parse_ruff(json_text: str) -> int:
    """Number of findings in ``ruff check --output-format json`` output."""
    try:
        findings = json.loads(json_text or "[]")
    except ValueError:
        return 0
    return len(findings) if isinstance(findings, list) else 0
