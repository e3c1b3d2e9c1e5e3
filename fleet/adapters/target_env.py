"""The target repository's own environment: its dependencies, installed by ``uv`` in a sandbox.

What is installed comes from the repository's metadata, read on the host as data (TOML and INI
parsed, never executed): ``pyproject.toml`` (the project itself, non-editable, with the optional
dependency groups named ``test``, ``tests``, ``testing`` or ``dev`` when declared), ``setup.cfg``
/ ``setup.py`` (the project) and ``requirements*.txt`` at the root; plus pytest and coverage at
the fleet's own versions. A repository declaring none of it keeps the fleet's interpreter.

The source is a *commit* (``HEAD`` of the workspace unless told otherwise: the base commit, since
a change is only staged), never the working tree: the host exports that commit's tree from git
into a fresh staging directory (:mod:`fleet.adapters.env_export`). The environment's key is the
sha256 of everything that goes into it: every exported path, mode and content (links as links),
the dependency files, the interpreter, uv's, pytest's and coverage's versions. Two repositories
share an environment only when all of that is identical.

Installing runs repository code (build backends, ``setup.py``), so it runs in the sandbox as the
``installer`` role, with the network (``TaskSpec.network``) and one writable directory: the
staging directory (the source copy, uv's cache, the new virtualenv). Afterwards the host locks
the sandbox user out of it, removes everything but ``venv``, gives every entry to itself with
no write bit (refusing devices, fifos, sockets and hard links), checks that the interpreter is
the fleet's own (a link to the same file), writes the manifest (kind, mode, size, sha256 of
every entry) as ``<root>/envs/<key>.manifest`` -- outside the environment, where no sandbox ever
wrote -- and renames the stage to ``<root>/envs/<key>``. Every host operation on the stage works
beneath a directory descriptor and follows no link. On use, an environment counts only if it
matches its manifest: all content hashes the first time a process uses it, kinds, modes and
sizes after that; one that does not is removed and built anew. Test runs see it read-only
(``TaskSpec.expose``); the code under test still comes from the workspace (the working
directory, and ``src/`` for a src layout, come first on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from fleet.adapters import env_export, env_store
from fleet.adapters.index_proxy import INDEX_HOSTS, IndexProxy
from fleet.adapters.target_plan import TEST_EXTRAS, Plan, plan, tool_versions
from fleet.contracts import Resources, RunContext, TaskSpec
from fleet.ports import Sandbox

PROBLEM = "could not install"
STALE_S = 6 * 3600.0  # a build's leftovers older than this are from a process that died
SCHEME = "target-env/2"  # what a key means; a change here never reuses an older environment
__all__ = ["TEST_EXTRAS", "BuildOptions", "Plan", "TargetEnv", "TargetEnvs", "plan"]


# The fleet's own interpreter carries the fleet's pytest plugins (schemathesis, hypothesis,
# anyio...), which are not the target's: a repository that declares no dependencies gets none
# of them. Loading them was also most of every test run's cost (measured: 8 s wall, 2.3 s CPU
# for 3 tests on the busy 2-core machine; 1 s and 0.2 s without). ``-p name`` and a
# conftest's ``pytest_plugins`` still load plugins explicitly.
TARGET_ENV_VARS = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


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


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How an environment is built: the install's time limit, the largest source tree it
    exports, and the package-index hosts the installer may reach (on 443, nothing else)."""

    timeout_s: float = 900.0
    max_source_mb: int = 500
    max_source_files: int = 200_000
    index_hosts: tuple[str, ...] = INDEX_HOSTS


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
        options: BuildOptions = BuildOptions(),
    ) -> None:
        self.sandbox = sandbox
        self.dir = Path(os.path.realpath(root)) / "envs"
        self.python = python
        self.uv = uv
        self.uid = uid
        self.timeout_s = options.timeout_s
        self.max_source_bytes = options.max_source_mb * 1_000_000
        self.max_source_files = options.max_source_files
        self.index_hosts = options.index_hosts  # the installer's only route: these hosts, on 443
        self._plans: dict[tuple[str, str], Plan | None] = {}
        self._verified: set[str] = set()  # manifests whose every content hash was re-read
        self._tools = ""
        self._swept = False
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:  # one build per source tree at a time (evidence runs are parallel)
            return self._locks.setdefault(key, threading.Lock())

    def tools(self) -> str:
        """What else goes into every environment: the installer's version, pytest's, coverage's."""
        if not self._tools:
            try:
                uv = subprocess.run(
                    [self.uv, "--version"], capture_output=True, text=True, timeout=60
                ).stdout.strip()
            except OSError as exc:  # no uv: a repository with dependencies fails at install
                uv = f"uv unavailable ({exc.strerror})"  # with this reason; one without needs none
            self._tools = f"{uv} {tool_versions()}"
        return self._tools

    def ensure(
        self, repo: Path, ctx: RunContext, *, python_version: str, commit: str = "HEAD"
    ) -> TargetEnv:
        """The environment for ``commit`` of the git repository ``repo`` (its committed tree;
        the working tree and the index are never read): cached, freshly installed, the fleet's,
        or a problem."""
        started = time.monotonic()
        tree = env_export.tree_of(repo, commit)
        if tree is None:
            return TargetEnv(python=self.python, problem=f"{PROBLEM}: {commit} is not a commit")
        memo = (tree, python_version)
        with self._lock(memo):
            if memo in self._plans:
                found = self._plans[memo]
                if found is None:
                    return _fleets(self.python)
                if self._ready(found.key):
                    return self._env(found.key, cached=True, started=started)
            return self._build(repo, memo, ctx, started)

    def _open(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        return os.open(self.dir, env_store.DIR)

    def _build(
        self, repo: Path, memo: tuple[str, str], ctx: RunContext, started: float
    ) -> TargetEnv:
        envs = self._open()
        if not self._swept:  # what builds of a killed process left behind
            self._swept = True
            env_store.sweep(envs, older_than_s=STALE_S)
        stage = f".build-{uuid.uuid4().hex[:16]}"
        os.mkdir(stage, 0o700, dir_fd=envs)
        found: Plan | None = None
        built, problem = False, None
        try:
            found = self._source(repo, memo, envs, stage)
            if found is not None and not self._ready(found.key):
                self._discard(envs, found.key)  # a half-stored or tampered one: built anew
                built = True
                problem = self._install(stage, envs, found, ctx)
        except (OSError, env_store.Unsafe) as exc:
            what = found.what() if found else "the dependencies"
            problem = f"{PROBLEM} {what}: {type(exc).__name__}: {exc}"[:800]
        finally:
            with contextlib.suppress(OSError):
                env_store.remove(envs, stage)
            os.close(envs)
        if problem is None and found is None:
            return _fleets(self.python)
        if problem is None and found is not None and self._ready(found.key):
            return self._env(found.key, cached=not built, started=started)
        what = found.what() if found else "the dependencies"
        took = time.monotonic() - started
        return TargetEnv(python=self.python, seconds=took, problem=problem or f"{PROBLEM} {what}")

    def _source(self, repo: Path, memo: tuple[str, str], envs: int, stage: str) -> Plan | None:
        """Export the tree into ``<stage>/src`` and plan from it; the plan's key covers the
        exported content, the interpreter and the tools."""
        fd = env_store.open_dir(envs, stage)
        try:
            os.mkdir("src", 0o755, dir_fd=fd)
            src = env_store.open_dir(fd, "src")
            try:
                content = env_export.export(
                    repo,
                    memo[0],
                    src,
                    max_bytes=self.max_source_bytes,
                    max_files=self.max_source_files,
                )
            finally:
                os.close(src)
        finally:
            os.close(fd)
        version = f"{SCHEME}\n{memo[1]}\n{os.path.realpath(self.python)}\n{self.tools()}"
        found = plan(self.dir / stage / "src", python_version=version, content=content)
        self._plans[memo] = found
        return found

    def _discard(self, envs: int, key: str) -> None:
        for name in (key, f"{key}.manifest"):
            env_store.remove(envs, name)

    def _ready(self, key: str) -> bool:
        """The stored environment ``key`` matches its manifest (:func:`env_store.stored`) and
        its interpreter is the fleet's own."""
        try:
            envs = self._open()
        except OSError:
            return False
        try:
            entries = env_store.stored(envs, key, verified=self._verified)
        finally:
            os.close(envs)
        return entries is not None and self._interpreter(key, entries)

    def _interpreter(self, name: str, entries: list[env_store.Entry]) -> bool:
        """``venv/bin`` is a directory and ``venv/bin/python`` a link to the fleet's python."""
        kinds = {path: kind for path, kind, *_ in entries}
        python = self.dir / name / "venv" / "bin" / "python"
        plain = kinds.get("bin") == "d" and kinds.get("bin/python") == "l"
        return plain and os.path.realpath(python) == os.path.realpath(self.python)

    def _env(self, key: str, *, cached: bool, started: float) -> TargetEnv:
        seconds = time.monotonic() - started
        how = "cached" if cached else "installed"
        return TargetEnv(
            python=str(self.dir / key / "venv" / "bin" / "python"),
            expose=(str(self.dir / key),),
            cached=cached,
            seconds=seconds,
            note=f"environment: {how} {key[:12]} in {seconds:.1f}s",
        )

    def _install(self, stage: str, envs: int, found: Plan, ctx: RunContext) -> str | None:
        fd = env_store.open_dir(envs, stage)
        try:
            if os.geteuid() == 0:  # the sandboxed installer (another uid) writes only here
                env_store.give(fd, self.uid)
            os.fchmod(fd, 0o755)
            problem = self._run(stage, found, ctx)
            return problem or self._store(envs, stage, fd, found)
        finally:
            os.close(fd)

    def _run(self, stage: str, found: Plan, ctx: RunContext) -> str | None:
        venv = str(self.dir / stage / "venv")
        made = [self.uv, "venv", "--no-config", "--relocatable", "--python", self.python, venv]
        problem = self._step(stage, made, found, ctx)
        if problem is not None:
            return problem
        install = [self.uv, "pip", "install", "--no-config", "--native-tls"]
        install += [
            "--python",
            f"{venv}/bin/python",
            "--cache-dir",
            str(self.dir / stage / "cache"),
        ]
        install += ["--link-mode", "copy"]
        install += (
            [f".[{','.join(found.extras)}]" if found.extras else "."] if found.project else []
        )
        install += [arg for r in found.requirements for arg in ("-r", r)]
        install += tool_versions().split()
        # No network namespace of its own network: the index is reached only through the host's
        # proxy (its socket in a host-owned directory, read-only in the sandbox).
        envs = self._open()
        net = f".net-{uuid.uuid4().hex[:16]}"
        os.mkdir(net, 0o700, dir_fd=envs)
        fd = env_store.open_dir(envs, net)
        os.fchmod(fd, 0o755)  # whatever the umask: the sandbox user reaches the socket
        os.close(fd)
        try:
            sock = self.dir / net / "index.sock"
            with IndexProxy(sock, hosts=self.index_hosts) as proxy:
                forward = [self.python, "-I", "-m", "fleet.adapters.index_forward", str(sock), "--"]
                problem = self._step(stage, forward + install, found, ctx, (str(self.dir / net),))
            if problem is not None and proxy.refused:
                problem += f" (refused: {', '.join(sorted(set(proxy.refused))[:5])})"
            return problem
        finally:
            env_store.remove(envs, net)
            os.close(envs)

    def _step(
        self,
        stage: str,
        cmd: list[str],
        found: Plan,
        ctx: RunContext,
        expose: tuple[str, ...] = (),
    ) -> str | None:
        """One installer run in the stage, never with the network; why it failed, or None."""
        result = self.sandbox.run(
            TaskSpec(
                id=f"{ctx.task_id or 'ws'}:install:{uuid.uuid4().hex[:8]}",
                cmd=tuple(cmd),
                workspace=str(self.dir / stage),
                cwd="src",
                expose=expose,
                timeout_s=self.timeout_s,
                resources=Resources(
                    cpu_seconds=int(self.timeout_s), memory_mb=2048, output_bytes=2_000_000
                ),
                context=ctx.model_copy(update={"role": "installer", "phase": "install"}),
            )
        )
        if result.status == "passed":
            return None
        said = (result.stderr.strip() or result.stdout.strip() or result.reason)[-800:]
        return f"{PROBLEM} {found.what()}: {result.status} {result.reason}: {said}".strip()

    def _store(self, envs: int, stage: str, fd: int, found: Plan) -> str | None:
        """Seal the built stage, check its interpreter, publish it under its key."""
        entries = env_store.take_back(fd)
        if not self._interpreter(stage, entries):
            return f"{PROBLEM} {found.what()}: the environment's interpreter is not the fleet's"
        env_store.publish(envs, stage, found.key, entries)
        return None


def _fleets(python: str) -> TargetEnv:
    return TargetEnv(
        python=python,
        note="environment: the fleet's (no dependencies)",
        env=tuple(TARGET_ENV_VARS.items()),
    )
