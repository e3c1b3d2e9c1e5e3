"""Local sandbox backend: bubblewrap + rlimits + a per-run memory/pids cgroup.

What a run gets (see README "Sandbox"):

- new network, pid, ipc and uts namespaces: no network at all, only its own processes (a spec
  with ``network=True``, the target's dependency installer, keeps the host's network);
- the host root read-only, a fresh ``/proc`` and ``/dev``, private tmpfs on ``/tmp``,
  ``/var/tmp``, ``/run``, ``/home`` and ``/root`` (the interpreter prefix is re-exposed
  read-only when it lives there, and so are ``spec.expose`` directories); only the workspace
  is writable;
- a real non-root uid (``setpriv`` after bwrap built the mounts as root; no capabilities,
  ``no_new_privs``), a new session, ``--die-with-parent``;
- rlimits (CPU seconds, address space, file size, open files, processes) and, where the
  host allows, a memory + pids cgroup, both applied to bwrap before it starts anything (see
  ``sandbox_spawn``: launches are armed ahead of time, so a run pays only for bwrap itself);
  a wall-clock timeout that kills the whole tree;
- stdout/stderr captured up to ``resources.output_bytes`` each while reading; a run that
  keeps printing far past the cap is killed (``limit_hit="output"``).

Missing bwrap raises :class:`SandboxUnavailable`; it never runs anything unsandboxed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from fleet.adapters import cgroups
from fleet.adapters.sandbox_io import Capture, collect_artifacts, pump
from fleet.adapters.sandbox_spawn import Armed, Prewarmer, arm, fire
from fleet.contracts import TaskResult, TaskSpec
from fleet.errors import InvalidInput, SandboxUnavailable

INSTALL_HINT = (
    "bubblewrap (bwrap) is not installed; install it with `apt-get install -y bubblewrap` "
    "(Debian/Ubuntu) or `dnf install bubblewrap` (Fedora); the fleet never runs tools unsandboxed"
)
MASKED = ("/tmp", "/var/tmp", "/run", "/home", "/root")
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The launcher's and bwrap's environment, which the command inherits; a spec's env is added
# with --setenv.
BASE_ENV = {"PATH": SAFE_PATH, "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
SIGNALS = {9: "SIGKILL", 24: "SIGXCPU", 25: "SIGXFSZ", 11: "SIGSEGV", 6: "SIGABRT"}
# bwrap itself (not the command: that shows as 128+9) SIGKILLed by nobody in this sandbox: no
# cancel, timeout, output cap or limit explains it. Typically the host tearing the supervisor
# down (Ray's force-exit SIGKILLs every child of the worker process just before it exits).
EXTERNAL_KILL = "killed by SIGKILL from outside the sandbox"


def fleet_python() -> str:
    """The fleet's interpreter at a path the sandbox shows: ``sys.executable`` with the links of its
    directory resolved, its own name kept. The sandbox re-exposes the venv at its real place only
    (``interpreter_paths``), so a venv reached through a link under a masked directory (a worktree
    under ``/tmp`` whose ``.venv`` links to the checkout's) would not be found there: every run
    would exit 127. The name is kept: a venv's ``python`` links to the base interpreter, which
    resolved would run outside the venv."""
    exe = os.path.abspath(sys.executable)
    return os.path.join(os.path.realpath(os.path.dirname(exe)), os.path.basename(exe))


def interpreter_paths() -> tuple[str, ...]:
    """What the fleet's interpreter needs that a masked directory would hide, to re-expose read-only.

    The interpreter prefix (pyenv in ``/root``), the venv (a checkout under ``/tmp``, ``/home`` or
    anywhere else), the ``fleet`` package itself and every package directory a ``.pth`` file put on
    ``sys.path`` (an install that reuses another venv's packages): the fleet's interpreter in the
    sandbox must import pytest, coverage and the fleet wherever the user installed them. Only ``site-packages`` directories: a working
    directory on ``sys.path`` (Ray adds the driver's) may be ``/tmp`` itself.
    """
    wanted = [os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)]
    # the fleet's own package (an editable install maps ``fleet`` to the checkout): the installer
    # runs ``python -I -m fleet.adapters.index_forward`` in the sandbox
    wanted.append(os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        packages = os.path.basename(real) in ("site-packages", "dist-packages")
        if packages and os.path.isdir(real) and any(_under(real, m) for m in MASKED):
            wanted.append(real)
    kept: list[str] = []
    for path in sorted(set(wanted), key=len):  # a parent already exposed covers its children
        if not any(_under(path, k) for k in kept):
            kept.append(path)
    return tuple(kept)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass
class _Run:
    proc: subprocess.Popen[bytes]
    cgroup: cgroups.RunCgroup | None
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 9)
        if self.cgroup is not None:  # also what left the process group; reaped in the background
            self.cgroup.kill_once()


class BwrapSandbox:
    """``fleet.ports.Sandbox`` on bubblewrap. Thread-safe; runs may be cancelled by spec id."""

    name = "bwrap"

    def __init__(
        self,
        *,
        uid: int = 65534,
        use_cgroups: bool = True,
        expose: tuple[str, ...] | None = None,
        output_ceiling_factor: int = 16,
        prewarm: int = 2,
        tmpfs_mb: int = 512,
    ) -> None:
        self._bwrap = shutil.which("bwrap")
        self._root = os.geteuid() == 0
        self._setpriv = shutil.which("setpriv") if self._root else None
        self._dash = shutil.which("dash") or shutil.which("sh") or "/bin/sh"
        self._env = shutil.which("env", path=SAFE_PATH) or "/usr/bin/env"
        self.uid = uid if self._root else os.geteuid()
        self.use_cgroups = use_cgroups and self._root
        self._expose = expose if expose is not None else interpreter_paths()
        self._ceiling = output_ceiling_factor
        self.tmpfs_mb = tmpfs_mb  # each private tmpfs (/tmp, /dev/shm...) holds at most this much
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        # Armed launches: bwrap already started and inside its cgroup, waiting for its argv.
        self._arm = functools.partial(arm, self._dash, BASE_ENV, use_cgroups=self.use_cgroups)
        self._spawner = Prewarmer(self._arm, prewarm if self._bwrap else 0)
        if self.use_cgroups and prewarm > 0:
            cgroups.sweep_stale()  # left by a supervisor that was killed without finalizers
        self._finalizer = weakref.finalize(self, self._spawner.close)

    def close(self) -> None:
        """Kill the launches armed in advance and remove their cgroups (also done at exit)."""
        self._finalizer()

    # -------------------------------------------------------------- health
    def check(self) -> None:
        """Raise :class:`SandboxUnavailable` unless a run could start right now."""
        if self._bwrap is None:
            raise SandboxUnavailable(backend=self.name, reason=INSTALL_HINT)
        if self._root and self._setpriv is None:
            raise SandboxUnavailable(
                backend=self.name,
                reason="setpriv (util-linux) is missing, so the run cannot drop to a non-root uid; "
                "install util-linux",
            )

    def cgroup_status(self) -> str:
        """Whether per-run cgroups work here, e.g. ``"cgroup v1"`` or why not."""
        if not self.use_cgroups:
            return "disabled"
        cg, why = cgroups.create(memory_mb=64, processes=8)
        if cg is not None:
            cg.remove()
        return why

    # -------------------------------------------------------------- argv
    def _mounts(
        self, workspace: str | None, cwd: str | None = None, expose: tuple[str, ...] = ()
    ) -> list[str]:
        args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        size = str(self.tmpfs_mb * 1024 * 1024)
        # /dev/shm writable (multiprocessing's locks and queues need it), size-limited like the rest.
        args += ["--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
        for masked in MASKED:
            # Scratch dirs must be writable by the unprivileged uid, like on a normal host.
            perms = "1777" if masked.endswith("tmp") else "0755"
            args += ["--perms", perms, "--size", size, "--tmpfs", masked]
        made: set[str] = set()
        binds = [(p, "--ro-bind") for p in (*self._expose, *expose)]
        if workspace:
            binds.append((workspace, "--bind"))
        for path, kind in binds:
            under = next((m for m in MASKED if path == m or path.startswith(m + "/")), None)
            if under:  # parents inside a tmpfs would otherwise be created 0700 (root-only)
                parts = Path(path).relative_to(under).parts[:-1]
                for i in range(1, len(parts) + 1):
                    d = str(Path(under, *parts[:i]))
                    if d not in made:
                        made.add(d)
                        args += ["--perms", "0755", "--dir", d]
            args += [kind, path, path]
        for repo in dict.fromkeys(p for p in (workspace, cwd) if p):
            dot_git = os.path.join(repo, ".git")
            with contextlib.suppress(OSError):
                mode = os.lstat(dot_git).st_mode
                if stat.S_ISDIR(mode) or stat.S_ISREG(mode):  # never a link: bwrap would follow
                    args += ["--ro-bind", dot_git, dot_git]  # hooks and config stay the host's
        return args

    def argv(self, spec: TaskSpec, workspace: str | None) -> list[str]:
        """The full bwrap argv for ``spec`` (exposed for tests and the docs)."""
        assert self._bwrap is not None
        return [self._bwrap, *self._options(spec, workspace)]

    def _options(self, spec: TaskSpec, workspace: str | None) -> list[str]:
        _reject_nul(spec)
        cwd = _start_dir(spec, workspace)
        args = ["--unshare-ipc", "--unshare-pid", "--unshare-uts"]
        args += [] if spec.network else ["--unshare-net"]  # only the target's installer has it
        args += ["--unshare-cgroup-try"] if self._root else ["--unshare-user"]
        args += self._mounts(workspace, cwd, _exposed(spec))
        args += ["--chdir", cwd or workspace or "/tmp", "--hostname", "sandbox"]
        args += ["--die-with-parent", "--new-session", "--"]
        if self._root:
            assert self._setpriv is not None
            args += [self._setpriv, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
            args += ["--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"]
        # The spec's environment is applied only here, by `env` running after the drop: nothing
        # of it (LD_PRELOAD, PATH...) ever reaches bwrap or setpriv, which still hold privileges.
        # PATH is pinned.
        run_env = {**BASE_ENV, **{k: v for k, v in spec.env.items() if k != "PATH"}}
        args += [self._env, "-i", "--", *(f"{k}={v}" for k, v in run_env.items())]
        return args + list(spec.cmd)

    # -------------------------------------------------------------- run
    def run(self, spec: TaskSpec) -> TaskResult:
        """Run ``spec`` isolated; see the module docstring for what isolation means here."""
        self.check()
        workspace = os.path.realpath(spec.workspace) if spec.workspace else None
        if workspace and not os.path.isdir(workspace):
            raise SandboxUnavailable(
                backend=self.name, reason=f"workspace {workspace} is not a directory"
            )
        options = self._options(spec, workspace)
        armed = self._spawner.take()
        started = time.monotonic()
        try:
            fire(armed, [self._bwrap or "bwrap", *options], spec.resources)
        except OSError:  # the armed bwrap died or refused a limit: retry once on a fresh one
            armed.discard()
            armed = self._arm()
            started = time.monotonic()
            try:
                fire(armed, [self._bwrap or "bwrap", *options], spec.resources)
            except OSError as exc:
                armed.discard()
                raise SandboxUnavailable(
                    backend=self.name, reason=f"cannot apply limits: {exc}"
                ) from None
        return self._supervise(spec, armed, started, workspace)

    def _supervise(
        self, spec: TaskSpec, armed: Armed, started: float, workspace: str | None
    ) -> TaskResult:
        run = _Run(armed.proc, armed.cgroup)
        with self._lock:
            self._runs[spec.id] = run
        try:
            return self._finish(spec, run, started, workspace, armed.cg_note)
        finally:
            with self._lock:
                self._runs.pop(spec.id, None)
            run.kill()  # the tree is gone even if a daemon escaped the process group
            if armed.cgroup is not None:
                self._spawner.dispose(armed.cgroup)

    def _finish(
        self, spec: TaskSpec, run: _Run, started: float, ws: str | None, cg_note: str
    ) -> TaskResult:
        cap = spec.resources.output_bytes
        out, err = Capture(cap), Capture(cap)
        deadline = started + spec.timeout_s
        assert run.proc.stdout is not None and run.proc.stderr is not None
        stop = pump(
            run.proc.stdout,
            run.proc.stderr,
            out,
            err,
            deadline=deadline,
            ceiling=cap * self._ceiling,
        )
        if stop:
            run.kill()
        _, status, usage = os.wait4(run.proc.pid, 0)
        run.proc.returncode = os.waitstatus_to_exitcode(status)
        duration = time.monotonic() - started
        cpu = usage.ru_utime + usage.ru_stime
        status_, limit, reason = self._classify(spec, run, stop, run.proc.returncode, cpu, err)
        return TaskResult(
            spec_id=spec.id,
            status=status_,
            exit_code=run.proc.returncode,
            stdout=out.text(),
            stderr=err.text(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            artifacts=collect_artifacts(ws, spec.artifacts, cap) if ws else {},
            duration_s=round(duration, 4),
            limit_hit=limit,
            backend=f"bwrap ({cg_note})",
            reason=reason,
        )

    def _classify(
        self, spec: TaskSpec, run: _Run, stop: str | None, code: int, cpu: float, err: Capture
    ) -> tuple[str, str | None, str]:
        launcher_failed = code in (126, 127) and err.text().startswith(f"{self._dash}: 1: exec: ")
        if not stop and ((code == 1 and err.text().startswith("bwrap:")) or launcher_failed):
            raise SandboxUnavailable(backend=self.name, reason=f"setup failed: {err.text()[:300]}")
        if run.cancelled:
            return "killed", None, "cancelled"
        failed = code != 0
        limit: str | None = None
        if failed and run.cgroup is not None and run.cgroup.memory_hit():
            limit = "memory"
        elif run.cgroup is not None and run.cgroup.pids_hit():  # reported even if it coped
            limit = "processes"
        elif code in (128 + 24, -24) or (
            code in (137, -9) and cpu >= spec.resources.cpu_seconds - 0.05
        ):
            limit = "cpu"
        elif code in (128 + 25, -25) or (failed and "File too large" in err.tail()):
            limit = "file_size"  # a signal, or EFBIG where the program ignores SIGXFSZ (Python)
        elif failed and "MemoryError" in err.tail():
            limit = "memory"
        if stop == "timeout":
            return "timeout", limit or "wall_clock", f"killed after {spec.timeout_s}s wall clock"
        if stop == "output":
            return (
                "killed",
                "output",
                f"killed: output passed {spec.resources.output_bytes * self._ceiling} bytes",
            )
        if not failed:
            return "passed", limit, ""
        sig = code - 128 if code > 128 else -code if code < 0 else 0
        if code == -9 and limit is None:
            return "killed", None, EXTERNAL_KILL
        # the limit in the reason: what a developer reads of its candidate's run (evidence detail)
        hit = f" ({limit} limit)" if limit else ""
        if sig:
            return "killed", limit, f"killed by {SIGNALS.get(sig, f'signal {sig}')}{hit}"
        return "failed", limit, f"exit code {code}{hit}"

    def cancel(self, spec_id: str) -> bool:
        """Kill the running ``spec_id`` (its whole tree); False if it is not running here."""
        with self._lock:
            run = self._runs.get(spec_id)
        if run is None:
            return False
        run.cancelled = True
        run.kill()
        return True

    def running(self) -> list[str]:
        with self._lock:
            return list(self._runs)


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _start_dir(spec: TaskSpec, workspace: str | None) -> str | None:
    """The directory the command starts in: ``spec.cwd`` inside the workspace, never via a link."""
    if not spec.cwd:
        return None
    parts = Path(spec.cwd).parts
    if not workspace or Path(spec.cwd).is_absolute() or ".." in parts:
        raise InvalidInput(
            what="TaskSpec", field="cwd", problem="must be a relative path inside the workspace"
        )
    here = workspace
    for part in parts:
        here = os.path.join(here, part)
        try:
            plain = stat.S_ISDIR(os.lstat(here).st_mode)  # a link is not a directory to lstat
        except OSError:
            plain = False
        if not plain:
            raise InvalidInput(
                what="TaskSpec", field="cwd", problem=f"{spec.cwd!r} is not a plain directory"
            )
    return here


def _exposed(spec: TaskSpec) -> tuple[str, ...]:
    """``spec.expose``: absolute, normalised paths of real directories (read-only in the run)."""
    for path in spec.expose:
        bad = not os.path.isabs(path) or os.path.normpath(path) != path or "\0" in path
        if bad or os.path.realpath(path) != path or not os.path.isdir(path):
            raise InvalidInput(
                what="TaskSpec", field="expose", problem=f"{path[:80]!r} is not a real directory"
            )
    return spec.expose


def _reject_nul(spec: TaskSpec) -> None:
    """NUL bytes cannot be in an argv or environment (so no shell word may carry one either)."""
    for arg in spec.cmd:
        if "\0" in arg:
            raise InvalidInput(
                what="TaskSpec", field="cmd", problem="an argument contains a NUL byte"
            )
    if "=" in spec.cmd[0]:  # `env` would read it as an assignment
        raise InvalidInput(what="TaskSpec", field="cmd", problem="the program name contains '='")
    for key, value in spec.env.items():
        if not _NAME.match(key) or "\0" in value:
            raise InvalidInput(
                what="TaskSpec",
                field="env",
                problem=f"bad variable {key[:40]!r}: names need no '=' and nothing may hold NUL",
            )
