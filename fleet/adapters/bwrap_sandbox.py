"""Local sandbox backend: bubblewrap + rlimits + a per-run memory/pids cgroup.

What a run gets (see README "Sandbox"):

- new network, pid, ipc and uts namespaces: no network at all, only its own processes;
- the host root read-only, a fresh ``/proc`` and ``/dev``, private tmpfs on ``/tmp``,
  ``/var/tmp``, ``/run``, ``/home`` and ``/root`` (the interpreter prefix is re-exposed
  read-only when it lives there); only the workspace is writable;
- a real non-root uid (``setpriv`` after bwrap built the mounts as root; no capabilities,
  ``no_new_privs``), a new session, ``--die-with-parent``;
- rlimits (CPU seconds, address space, file size, open files, processes) and, where the
  host allows, a memory + pids cgroup; a wall-clock timeout that kills the whole tree;
- stdout/stderr captured up to ``resources.output_bytes`` each while reading; a run that
  keeps printing far past the cap is killed (``limit_hit="output"``).

Missing bwrap raises :class:`SandboxUnavailable`; it never runs anything unsandboxed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fleet.adapters import cgroups
from fleet.adapters.sandbox_io import Capture, collect_artifacts, pump
from fleet.contracts import Resources, TaskResult, TaskSpec
from fleet.errors import SandboxUnavailable

INSTALL_HINT = (
    "bubblewrap (bwrap) is not installed; install it with `apt-get install -y bubblewrap` "
    "(Debian/Ubuntu) or `dnf install bubblewrap` (Fedora); the fleet never runs tools unsandboxed"
)
MASKED = ("/tmp", "/var/tmp", "/run", "/home", "/root")
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Launcher: join the run's cgroup(s) first (so every descendant is accounted), set rlimits
# (soft before hard: dash refuses a hard limit below the current soft one), then exec bwrap.
# Arguments arrive as "$@", never interpolated into the script.
_LAUNCH = (
    'for f in $CG; do echo $$ > "$f" || {{ echo "fleet-sandbox: cannot join $f" >&2; exit 125; }}; done\n'
    '{limits} || {{ echo "fleet-sandbox: cannot set rlimits" >&2; exit 125; }}\nunset CG; exec "$@"'
)
SIGNALS = {9: "SIGKILL", 24: "SIGXCPU", 25: "SIGXFSZ", 11: "SIGSEGV", 6: "SIGABRT"}


def _limits(r: Resources, *, cgroup: bool) -> str:
    # With a memory cgroup the address-space rlimit is only a backstop (it also counts untouched
    # virtual reservations, which break threaded programs); without one it is the memory limit.
    vmem_kb = (r.memory_mb * (4 if cgroup else 1) + (256 if cgroup else 0)) * 1024
    return " && ".join(
        [
            f"ulimit -S -t {r.cpu_seconds}",
            f"ulimit -H -t {r.cpu_seconds + 1}",
            f"ulimit -v {vmem_kb}",
            f"ulimit -f {r.file_size_mb * 2048}",  # dash counts 512-byte blocks
            f"ulimit -n {r.open_files}",
            f"ulimit -p {r.processes}",
        ]
    )


@dataclass
class _Run:
    proc: subprocess.Popen[bytes]
    cgroup: cgroups.RunCgroup | None
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 9)
        if self.cgroup is not None:
            self.cgroup.kill_all()


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
    ) -> None:
        self._bwrap = shutil.which("bwrap")
        self._root = os.geteuid() == 0
        self._setpriv = shutil.which("setpriv") if self._root else None
        self._dash = shutil.which("dash") or shutil.which("sh") or "/bin/sh"
        self.uid = uid if self._root else os.geteuid()
        self.use_cgroups = use_cgroups and self._root
        # The interpreter prefix may live under a masked directory (pyenv in /root); re-expose it.
        self._expose = expose if expose is not None else (os.path.realpath(sys.base_prefix),)
        self._ceiling = output_ceiling_factor
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

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
    def _mounts(self, workspace: str | None) -> list[str]:
        args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for masked in MASKED:
            # Scratch dirs must be writable by the unprivileged uid, like on a normal host.
            args += ["--perms", "1777" if masked.endswith("tmp") else "0755", "--tmpfs", masked]
        made: set[str] = set()
        binds = [(p, "--ro-bind") for p in self._expose]
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
        return args

    def argv(self, spec: TaskSpec, workspace: str | None) -> list[str]:
        """The full bwrap argv for ``spec`` (exposed for tests and the docs)."""
        assert self._bwrap is not None
        args = [self._bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        args += ["--unshare-cgroup-try"] if self._root else ["--unshare-user"]
        args += self._mounts(workspace)
        args += ["--chdir", workspace or "/tmp", "--hostname", "sandbox"]
        args += ["--die-with-parent", "--new-session", "--"]
        if self._root:
            assert self._setpriv is not None
            args += [self._setpriv, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
            args += ["--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"]
        return args + list(spec.cmd)

    def _env(self, spec: TaskSpec, cg: cgroups.RunCgroup | None) -> dict[str, str]:
        env = {"PATH": SAFE_PATH, "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
        env.update(spec.env)
        env["CG"] = " ".join(cg.procs_files()) if cg else ""
        return env

    # -------------------------------------------------------------- run
    def run(self, spec: TaskSpec) -> TaskResult:
        """Run ``spec`` isolated; see the module docstring for what isolation means here."""
        self.check()
        workspace = os.path.realpath(spec.workspace) if spec.workspace else None
        if workspace and not os.path.isdir(workspace):
            raise SandboxUnavailable(backend=self.name, reason=f"workspace {workspace} is not a directory")
        cg, cg_note = (None, "cgroups disabled")
        if self.use_cgroups:
            cg, cg_note = cgroups.create(memory_mb=spec.resources.memory_mb, processes=spec.resources.processes)
        script = _LAUNCH.format(limits=_limits(spec.resources, cgroup=cg is not None))
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                [self._dash, "-c", script, "fleet-sandbox", *self.argv(spec, workspace)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._env(spec, cg),
                process_group=0,
                close_fds=True,
            )
        except OSError as exc:
            if cg:
                cg.remove()
            raise SandboxUnavailable(backend=self.name, reason=f"cannot start bwrap: {exc}") from None
        run = _Run(proc, cg)
        with self._lock:
            self._runs[spec.id] = run
        try:
            return self._finish(spec, run, started, workspace, cg_note)
        finally:
            with self._lock:
                self._runs.pop(spec.id, None)
            run.kill()  # the tree is gone even if a daemon escaped the process group
            if cg:
                cg.remove()

    def _finish(self, spec: TaskSpec, run: _Run, started: float, ws: str | None, cg_note: str) -> TaskResult:
        cap = spec.resources.output_bytes
        out, err = Capture(cap), Capture(cap)
        deadline = started + spec.timeout_s
        assert run.proc.stdout is not None and run.proc.stderr is not None
        stop = pump(run.proc.stdout, run.proc.stderr, out, err, deadline=deadline, ceiling=cap * self._ceiling)
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
        if not stop and (
            (code == 125 and err.text().startswith("fleet-sandbox:"))
            or (code == 1 and err.text().startswith("bwrap:"))
        ):
            raise SandboxUnavailable(backend=self.name, reason=f"setup failed: {err.text()[:300]}")
        if run.cancelled:
            return "killed", None, "cancelled"
        failed = code != 0
        limit: str | None = None
        if failed and run.cgroup is not None and run.cgroup.memory_hit():
            limit = "memory"
        elif run.cgroup is not None and run.cgroup.pids_hit():  # reported even if it coped
            limit = "processes"
        elif code in (128 + 24, -24) or (code in (137, -9) and cpu >= spec.resources.cpu_seconds - 0.05):
            limit = "cpu"
        elif code in (128 + 25, -25):
            limit = "file_size"
        elif failed and "MemoryError" in err.tail():
            limit = "memory"
        if stop == "timeout":
            return "timeout", limit or "wall_clock", f"killed after {spec.timeout_s}s wall clock"
        if stop == "output":
            return "killed", "output", f"killed: output passed {spec.resources.output_bytes * self._ceiling} bytes"
        if not failed:
            return "passed", limit, ""
        sig = code - 128 if code > 128 else -code if code < 0 else 0
        if sig:
            return "killed", limit, f"killed by {SIGNALS.get(sig, f'signal {sig}')}"
        return "failed", limit, f"exit code {code}" + (f" ({limit} limit)" if limit else "")

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
