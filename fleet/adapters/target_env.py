"""The target repository's own environment: its dependencies, installed by ``uv`` in a sandbox.

What is installed comes from the repository's metadata, read on the host as data (TOML and INI
parsed, never executed): ``pyproject.toml`` (the project itself, non-editable, with the optional
dependency groups named ``test``, ``tests``, ``testing`` or ``dev`` when declared), ``setup.cfg``
/ ``setup.py`` (the project) and ``requirements*.txt`` at the root; plus pytest and coverage at
the fleet's own versions. A repository declaring none of it keeps the fleet's interpreter.

Installing runs repository code (build backends, ``setup.py``), so it runs in the sandbox as the
``installer`` role, with the network (``TaskSpec.network``) and one writable directory: a fresh
staging directory holding a copy of the repository, uv's cache and the new virtualenv. On success
the host removes the copy and the cache, checks that the environment's interpreter is the fleet's
own (a link to the same file), writes ``.ready`` and renames the staging directory to
``<root>/envs/<sha256 of the dependency files and versions>``: the next story on the same
dependencies finds it and pays nothing. Test runs see it read-only (``TaskSpec.expose``); the
code under test still comes from the workspace (the working directory, and ``src/`` for a src
layout, come first on ``sys.path``).
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import os
import re
import shutil
import stat
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fleet.contracts import Resources, RunContext, TaskSpec
from fleet.ports import Sandbox

TEST_EXTRAS = ("test", "tests", "testing", "dev")
_REQUIREMENTS = re.compile(r"^requirements[A-Za-z0-9._-]*\.txt$")
_MAX_FILE = 1_000_000
PROBLEM = "could not install"


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


def _tool_versions() -> str:
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


def plan(repo: Path, *, python_version: str) -> Plan | None:
    """What ``repo`` declares; None when it declares no dependency (the fleet's python will do)."""
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
    digest = hashlib.sha256(f"{python_version}\n{_tool_versions()}\n".encode())
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


# The fleet's own interpreter carries the fleet's pytest plugins (schemathesis, hypothesis,
# anyio...), which are not the target's: a repository that declares no dependencies gets none
# of them. Loading them was also most of every test run's cost (measured: 8 s wall, 2.3 s CPU
# for 3 tests on the busy 2-core machine; 1 s and 0.2 s without). ``-p name`` and a
# conftest's ``pytest_plugins`` still load plugins explicitly.
FLEET_ENV_VARS = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


@dataclass(frozen=True)
class TargetEnv:
    """The interpreter to run the target with; ``problem`` when the install failed; ``env``:
    variables every run with it gets (on the fleet's interpreter: no plugin autoloading)."""

    python: str
    expose: tuple[str, ...] = ()
    cached: bool = False
    seconds: float = 0.0
    problem: str | None = None
    note: str = ""
    env: tuple[tuple[str, str], ...] = ()


class TargetEnvs:
    """Builds and caches target environments under ``<root>/envs`` (see the module docstring)."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        root: Path,
        python: str,
        uv: str,
        uid: int,
        timeout_s: float = 900.0,
    ) -> None:
        self.sandbox = sandbox
        self.dir = root / "envs"
        self.python = python
        self.uv = uv
        self.uid = uid
        self.timeout_s = timeout_s
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:  # one build per environment at a time (evidence runs are parallel)
            return self._locks.setdefault(key, threading.Lock())

    def _ready(self, env: Path) -> bool:
        python = env / "venv" / "bin" / "python"
        same = os.path.realpath(python) == os.path.realpath(self.python)
        return (env / ".ready").is_file() and os.path.islink(python) and same

    def ensure(self, repo: Path, ctx: RunContext, *, python_version: str) -> TargetEnv:
        """The environment for ``repo``: cached, freshly installed, the fleet's, or a problem."""
        started = time.monotonic()
        found = plan(repo, python_version=python_version)
        if found is None:
            return TargetEnv(
                python=self.python,
                note="environment: the fleet's (no dependencies)",
                env=tuple(FLEET_ENV_VARS.items()),
            )
        with self._lock(found.key):
            return self._ensure(repo, found, ctx, started)

    def _ensure(self, repo: Path, found: Plan, ctx: RunContext, started: float) -> TargetEnv:
        final = self.dir / found.key
        if self._ready(final):
            took = time.monotonic() - started
            return self._env(final, cached=True, seconds=took)
        self.dir.mkdir(parents=True, exist_ok=True)
        stage = self.dir / f".build-{found.key[:16]}-{uuid.uuid4().hex[:8]}"
        try:
            problem = self._install(repo, stage, found, ctx)
            if problem is None:
                for scratch in ("src", "cache"):
                    shutil.rmtree(stage / scratch, ignore_errors=True)
                (stage / ".ready").write_text(found.key + "\n")
                if not self._ready(stage):
                    problem = f"{PROBLEM} {found.what()}: the environment's interpreter is not the fleet's"
                else:
                    with contextlib.suppress(OSError):  # built meanwhile by another story
                        os.rename(stage, final)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        took = time.monotonic() - started
        if problem is not None or not self._ready(final):
            return TargetEnv(
                python=self.python, seconds=took, problem=problem or f"{PROBLEM} {found.what()}"
            )
        return self._env(final, cached=False, seconds=took)

    def _env(self, env: Path, *, cached: bool, seconds: float) -> TargetEnv:
        how = "cached" if cached else "installed"
        return TargetEnv(
            python=str(env / "venv" / "bin" / "python"),
            expose=(str(env),),
            cached=cached,
            seconds=seconds,
            note=f"environment: {how} {env.name[:12]} in {seconds:.1f}s",
        )

    def _install(self, repo: Path, stage: Path, found: Plan, ctx: RunContext) -> str | None:
        stage.mkdir(mode=0o755)
        shutil.copytree(repo, stage / "src", symlinks=True, ignore=shutil.ignore_patterns(".git"))
        if os.geteuid() == 0:  # the sandboxed installer (another uid) writes only here
            for dirpath, dirs, files in os.walk(stage):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(dirpath, name), self.uid, self.uid, follow_symlinks=False)
            os.chown(stage, self.uid, self.uid)
        venv = str(stage / "venv")
        steps = [
            [self.uv, "venv", "--no-config", "--relocatable", "--python", self.python, venv],
            [
                self.uv,
                "pip",
                "install",
                "--no-config",
                "--native-tls",
                "--python",
                f"{venv}/bin/python",
            ]
            + ["--cache-dir", str(stage / "cache"), "--link-mode", "copy"]
            + ([f".[{','.join(found.extras)}]" if found.extras else "."] if found.project else [])
            + [arg for r in found.requirements for arg in ("-r", r)]
            + _tool_versions().split(),
        ]
        for i, cmd in enumerate(steps):
            result = self.sandbox.run(
                TaskSpec(
                    id=f"{ctx.task_id or 'ws'}:install{i}:{uuid.uuid4().hex[:8]}",
                    cmd=tuple(cmd),
                    workspace=str(stage),
                    cwd="src",
                    timeout_s=self.timeout_s,
                    network=i == 1,
                    resources=Resources(
                        cpu_seconds=int(self.timeout_s), memory_mb=2048, output_bytes=2_000_000
                    ),
                    context=ctx.model_copy(update={"role": "installer", "phase": "install"}),
                )
            )
            if result.status != "passed":
                said = (result.stderr.strip() or result.stdout.strip() or result.reason)[-800:]
                return f"{PROBLEM} {found.what()}: {result.status} {result.reason}: {said}".strip()
        return None
