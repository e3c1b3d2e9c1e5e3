"""Which parts of a change touch test infrastructure, and what the judged tree holds instead.

A change is judged by running tests; whatever decides *how* they run or are counted must not
come from the change: ``conftest.py`` hooks, pytest's and coverage's configuration in any file
that can carry it, interpreter start-up files (``sitecustomize``, ``*.pth``), the plugin modules
the base's configuration loads, and markers added to existing tests that skip, expect to fail,
deselect (``-m``) or stop collecting them. :func:`infra_changes` names each such path with the
text the *judged* tree holds there: the base commit's version, or the candidate's test file with
only its added markers taken out. Pure: the runners read git and write files.
"""

from __future__ import annotations

import configparser
import contextlib
import difflib
import json
import re
import shlex
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

WHOLE_FILE = {
    "conftest.py": "pytest hooks (conftest.py)",
    "pytest.ini": "pytest configuration",
    ".pytest.ini": "pytest configuration",
    ".coveragerc": "coverage configuration",
    "sitecustomize.py": "interpreter start-up (sitecustomize)",
    "usercustomize.py": "interpreter start-up (usercustomize)",
}
# files that hold pytest/coverage configuration in some sections among other things
SECTIONED = {"tox.ini", "setup.cfg", "pyproject.toml"}
# the tools the runners start with `python -m` from the repository's directory (first on
# sys.path there) and what they import first: a module of that name at the top of the tree
# would run instead of the tool and print and write whatever it likes
TOOL_MODULES = {"pytest", "_pytest", "coverage", "compileall", "py_compile", "pluggy", "runpy"}
# markers that only shape a test (kept): anything else added to an existing test can hide it
_KEPT_MARKS = {"parametrize", "usefixtures", "filterwarnings", "asyncio", "anyio", "timeout"}
_MARK = re.compile(r"^\s*@(?:pytest\.)?mark\.(?P<name>\w+)")
_HIDING = re.compile(
    r"^\s*(?:"
    r"@(?:unittest\.)?(?:skip\w*|expectedFailure)\b"  # unittest decorators
    r"|pytestmark\s*[:=]|__test__\s*=|pytest_plugins\s*[:=]|collect_ignore\w*\s*[:=]"
    r"|(?:pytest\.(?:skip|xfail|importorskip|exit)|self\.skipTest|unittest\.skip\w*)\s*\("
    r"|raise\s+(?:unittest\.)?SkipTest\b|raise\s+pytest\.(?:skip|xfail)\.Exception\b"
    r")"
)


# the note a workspace report carries (read back by :func:`flagged`, e.g. by the pipeline, which
# must have the PO approve keeping these edits before delivering them)
INFRA_NOTE = (
    "test infrastructure the change edits, judged with the base commit's versions (keeping "
    "these edits needs the PO's approval): "
)


@dataclass(frozen=True)
class InfraChange:
    """One path of a change that touches test infrastructure."""

    path: str
    why: str
    judged: str | None  # what the judged tree holds at ``path`` (None: the file is absent)


def is_test_file(path: str) -> bool:
    """A pytest test module by the usual conventions (``test_*.py``, ``*_test.py``, ``tests/``)."""
    p = PurePosixPath(path)
    if p.suffix != ".py":
        return False
    return p.name.startswith("test_") or p.stem.endswith("_test") or "tests" in p.parts[:-1]


def hiding_lines(base: str, candidate: str) -> list[str]:
    """The lines ``candidate`` adds to ``base`` that can skip, xfail, deselect or uncollect a
    test (markers other than the shaping ones: ``-m`` in the configuration selects on any)."""
    return [line for _, line in _added(base, candidate) if _hides(line)]


def _hides(line: str) -> bool:
    mark = _MARK.match(line)
    if mark:
        return mark["name"] not in _KEPT_MARKS
    return bool(_HIDING.match(line))


def _added(base: str, candidate: str) -> list[tuple[int, str]]:
    """``(index in candidate, line)`` of every line the candidate adds or rewrites."""
    old, new = base.splitlines(), candidate.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        (j, new[j])
        for tag, _i1, _i2, j1, j2 in matcher.get_opcodes()
        if tag in ("insert", "replace")
        for j in range(j1, j2)
    ]


def _balanced(line: str) -> bool:
    depth = 0
    for ch in re.sub(r"(['\"]).*?\1", "", line.split("#", 1)[0]):
        depth += ch in "([{"
        depth -= ch in ")]}"
    return depth == 0 and not line.rstrip().endswith(("\\", ":", ","))


def neutralise(base: str, candidate: str) -> str | None:
    """``candidate`` without the hiding lines it adds (decorators dropped, statements replaced
    by ``pass`` at their indentation); None when one spans lines (then judge with ``base``)."""
    lines = candidate.splitlines(keepends=True)
    drop: set[int] = set()
    for j, line in _added(base, candidate):
        if not _hides(line):
            continue
        if not _balanced(line):
            return None
        if line.lstrip().startswith("@"):
            drop.add(j)
        else:
            indent = line[: len(line) - len(line.lstrip())]
            lines[j] = f"{indent}pass\n"
    return "".join(line for j, line in enumerate(lines) if j not in drop)


def _ini_sections(text: str, wanted: tuple[str, ...]) -> dict[str, dict[str, str]] | None:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return {
        name: dict(parser.items(name))
        for name in parser.sections()
        if name in wanted or name.startswith("coverage:")
    }


def _toml_tables(text: str) -> dict[str, object] | None:
    try:
        tool = tomllib.loads(text).get("tool", {})
    except (tomllib.TOMLDecodeError, AttributeError):
        return None
    return (
        {k: v for k, v in tool.items() if k in ("pytest", "coverage")}
        if isinstance(tool, dict)
        else None
    )


def _config_of(name: str, text: str | None) -> object:
    """The pytest/coverage part of a sectioned file (None: absent; "?" unreadable)."""
    if text is None:
        return None
    if name == "pyproject.toml":
        found: object = _toml_tables(text)
    else:
        found = _ini_sections(text, ("pytest",) if name == "tox.ini" else ("tool:pytest",))
    return "?" if found is None else found


def plugins_named(configs: Mapping[str, str]) -> set[str]:
    """Module names the base's configuration loads as pytest plugins: ``-p NAME`` in
    ``addopts`` and ``pytest_plugins`` in a ``conftest.py``."""
    names: set[str] = set()
    for path, text in configs.items():
        if PurePosixPath(path).name == "conftest.py":
            for group in re.findall(r"^pytest_plugins\s*=\s*(.+)$", text, re.M):
                names |= set(re.findall(r"['\"]([\w.]+)['\"]", group))
            continue
        for opts in re.findall(r"addopts\s*[=:]\s*(.+(?:\n[ \t]+.+)*)", text):
            try:
                words = shlex.split(opts.replace("[", " ").replace("]", " ").replace(",", " "))
            except ValueError:
                words = opts.split()
            for i, word in enumerate(words):
                if word == "-p" and i + 1 < len(words):
                    names.add(words[i + 1].strip("'\""))
                elif word.startswith("-p") and len(word) > 2 and word[2] != "-":
                    names.add(word[2:].lstrip("="))
    return {n for n in names if re.fullmatch(r"[A-Za-z_][\w.]*", n)}


def _shadowed_tool(path: str) -> str | None:
    parts = PurePosixPath(path).parts
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    top = parts[0].removesuffix(".py") if parts else ""
    is_module = len(parts) > 1 or parts[0].endswith(".py")
    return top if is_module and top in TOOL_MODULES else None


def _plugin_module(path: str, plugins: Collection[str]) -> str | None:
    parts = PurePosixPath(path).parts
    if parts and parts[0] == "src":
        parts = parts[1:]
    for name in plugins:
        dotted = tuple(name.split("."))
        module = (*dotted[:-1], dotted[-1] + ".py")
        if parts == module or parts[: len(dotted)] == dotted:
            return name
    return None


def infra_changes(
    changed: Mapping[str, tuple[str | None, str | None]], *, plugins: Collection[str] = ()
) -> list[InfraChange]:
    """For each changed path (``(base text, candidate text)``, None where the file is absent),
    whether it touches test infrastructure and what the judged tree holds there instead."""
    found: list[InfraChange] = []
    for path, (base, cand) in sorted(changed.items()):
        name = PurePosixPath(path).name
        why = WHOLE_FILE.get(name) or (
            "interpreter start-up (.pth)" if name.endswith(".pth") else None
        )
        if why is None and (tool := _shadowed_tool(path)):
            why = f"a module named like the test tool {tool!r}, which would run instead of it"
        if why is None and name in SECTIONED and _config_of(name, base) != _config_of(name, cand):
            why = f"pytest/coverage configuration in {name}"
        if why is None and (plugin := _plugin_module(path, plugins)):
            why = f"the pytest plugin {plugin} the configuration loads"
        if why is not None:
            found.append(InfraChange(path, why, base))
            continue
        if base is not None and cand is not None and is_test_file(path):
            hiding = hiding_lines(base, cand)
            if hiding:
                kept = neutralise(base, cand)
                why = f"adds to an existing test: {hiding[0].strip()[:80]}"
                found.append(InfraChange(path, why, base if kept is None else kept))
    return found


def infra_notes(found: list[InfraChange]) -> list[str]:
    """A report's notes on what the gate ignored: one naming the paths (JSON, read back by
    :func:`flagged`), one per path saying why."""
    if not found:
        return []
    return [INFRA_NOTE + json.dumps([c.path for c in found])] + [
        f"test infrastructure: {c.path}: {c.why}" for c in found
    ]


def flagged(notes: Collection[str]) -> tuple[str, ...]:
    """The paths an :func:`infra_notes` note among ``notes`` names: the change's edits to test
    infrastructure the gate did not judge; keeping them needs the PO's explicit approval."""
    for note in notes:
        if note.startswith(INFRA_NOTE):
            with contextlib.suppress(ValueError):
                return tuple(str(p) for p in json.loads(note[len(INFRA_NOTE) :]))
    return ()
