"""What a target repository asks to install, read from its metadata as data (never executed).

See :mod:`fleet.adapters.target_env` for how the result is installed and keyed.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TEST_EXTRAS = ("test", "tests", "testing", "dev")
_REQUIREMENTS = re.compile(r"^requirements[A-Za-z0-9._-]*\.txt$")
_MAX_FILE = 1_000_000


def _read(path: Path) -> str | None:
    """A regular file of the repository (never through a link), capped; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return fh.read(_MAX_FILE).decode("utf-8", "replace")


def tool_versions() -> str:
    pins = []
    for name in ("pytest", "coverage"):
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return " ".join(pins)


@dataclass(frozen=True)
class Plan:
    """What to install for one repository, and the cache key of the result."""

    project: bool  # the project itself (pyproject.toml [project]/[build-system], setup.py/cfg)
    extras: tuple[str, ...]
    requirements: tuple[str, ...]
    key: str
    name: str = ""  # the project's declared name, when it declares one

    def what(self) -> str:
        """What is installed, for a finding: ``numerals[test] and -r requirements.txt``."""
        parts = []
        if self.project:
            name = self.name or "the project"
            parts.append(f"{name}[{','.join(self.extras)}]" if self.extras else name)
        parts += [f"-r {r}" for r in self.requirements]
        return " and ".join(parts) or "the dependencies"


def _name(name: str | None, text: str) -> str:
    """The project's declared name (``[project] name`` / ``[metadata] name``), if any."""
    if name != "pyproject.toml" and name != "setup.cfg":
        return ""
    try:
        if name == "pyproject.toml":
            found = tomllib.loads(text).get("project", {}).get("name")
        else:
            parser = configparser.ConfigParser(interpolation=None)
            parser.read_string(text)
            found = parser.get("metadata", "name", fallback="")
    except (tomllib.TOMLDecodeError, configparser.Error, AttributeError):
        return ""
    return found if isinstance(found, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,100}", found) else ""


def _pyproject(text: str) -> tuple[bool, bool, set[str]]:
    """(is a project, declares dependencies, optional groups) of a pyproject.toml."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False, False, set()
    project = data.get("project")
    if not isinstance(project, dict):
        return "build-system" in data, False, set()
    dynamic = project.get("dynamic") or []
    groups = project.get("optional-dependencies")
    extras = set(groups) if isinstance(groups, dict) else set()
    declared = bool(project.get("dependencies")) or any(
        d in dynamic for d in ("dependencies", "optional-dependencies")
    )
    return True, declared, extras


def _setup_cfg(text: str) -> tuple[bool, bool, set[str]]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return False, False, set()
    extras = set(parser["options.extras_require"]) if "options.extras_require" in parser else set()
    requires = parser.get("options", "install_requires", fallback="").strip()
    return parser.has_option("metadata", "name"), bool(requires), extras


def plan(repo: Path, *, python_version: str, content: str = "") -> Plan | None:
    """What ``repo`` declares; None when it declares no dependency (the fleet's python will do).
    The key covers the dependency files, ``python_version`` and ``content`` (the digest of the
    whole tree, for an environment: see :class:`TargetEnvs`)."""
    texts = {n: _read(repo / n) for n in ("pyproject.toml", "setup.cfg", "setup.py")}
    project, declared, extras = False, False, set[str]()
    for name, parse in (("pyproject.toml", _pyproject), ("setup.cfg", _setup_cfg)):
        text = texts[name]
        if text is not None:
            is_project, has_deps, groups = parse(text)
            project, declared, extras = project or is_project, declared or has_deps, extras | groups
    if texts["setup.py"] is not None:
        project = declared = True  # its dependencies are known only by running it (sandboxed)
    requirements = tuple(
        sorted(
            p.name for p in repo.iterdir() if _REQUIREMENTS.match(p.name) and _read(p) is not None
        )
    )
    wanted = tuple(e for e in TEST_EXTRAS if e in extras)
    if not (declared or wanted or requirements):
        return None
    digest = hashlib.sha256(f"{python_version}\n{tool_versions()}\n{content}\n".encode())
    for name in sorted({*(n for n, t in texts.items() if t is not None), *requirements}):
        digest.update(f"{name}\0{_read(repo / name) or ''}\0".encode())
    name = next(
        (n for n in (_name(f, texts[f] or "") for f in ("pyproject.toml", "setup.cfg")) if n), ""
    )
    return Plan(
        project=project,
        extras=wanted,
        requirements=requirements,
        key=digest.hexdigest(),
        name=name,
    )
