"""Launching bwrap with its per-run cgroup and rlimits, mostly off the critical path.

A launch is *armed* first: a ``dash -s`` is started with its stdin on a pipe and blocks
reading its script; while it waits we move it into a fresh cgroup (on this cgroup v1 host a
migration costs an RCU grace period: 5-10 ms under load, and it cannot be avoided per process).
*Firing* it for a spec sets the cgroup limits and the rlimits on that still-blocked process
(``prlimit``), then writes one line, ``exec <bwrap argv> </dev/null``, every word quoted with
:func:`shlex.quote`, and closes the pipe. bwrap and everything it forks inherit the cgroup and
the limits, exactly as if they had been set before exec. (bwrap's own ``--args FD`` cannot
carry the command, and ``preexec_fn`` would force a full fork of the supervisor plus Python
code in the child of a threaded process.)

:class:`Prewarmer` keeps a few armed launches ready and refills them, and removes finished
cgroups, on one background thread, so a run pays only for bwrap itself.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fleet.adapters import cgroups
from fleet.contracts import Resources
from fleet.errors import SandboxUnavailable

BACKEND = "bwrap"


@dataclass
class Armed:
    """A launcher blocked reading its script, already inside its cgroup (if any)."""

    proc: subprocess.Popen[bytes]
    cgroup: cgroups.RunCgroup | None
    cg_note: str

    def discard(self) -> None:
        """Kill it unused and free its cgroup (closing the pipe alone would make it exit too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 9)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        if self.cgroup is not None:
            self.cgroup.remove()


def arm(shell: str, env: dict[str, str], *, use_cgroups: bool) -> Armed:
    """Start a blocked launcher (``shell -s``, minimal ``env``) and move it into a new cgroup."""
    try:
        proc = subprocess.Popen(
            [shell, "-s"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            process_group=0,
        )
    except OSError as exc:
        raise SandboxUnavailable(
            backend=BACKEND, reason=f"cannot start the launcher {shell}: {exc}"
        ) from None
    armed = Armed(proc, None, "cgroups disabled")
    if use_cgroups:
        default = Resources()  # most runs use it, so its limits are written ahead of time too
        armed.cgroup, armed.cg_note = cgroups.create(
            memory_mb=default.memory_mb, processes=default.processes
        )
        if armed.cgroup is not None:
            try:
                armed.cgroup.join(proc.pid)
            except OSError as exc:
                armed.discard()
                raise SandboxUnavailable(
                    backend=BACKEND, reason=f"cannot join the run's cgroup: {exc}"
                ) from None
    return armed


def rlimits(r: Resources, *, cgroup: bool) -> dict[int, tuple[int, int]]:
    """The (soft, hard) rlimits of a run."""
    # With a memory cgroup the address-space rlimit is only a backstop (it also counts untouched
    # virtual reservations, which break threaded programs); without one it is the memory limit.
    vmem = (r.memory_mb * (4 if cgroup else 1) + (256 if cgroup else 0)) * 1024 * 1024
    fsize = r.file_size_mb * 1024 * 1024
    # RLIMIT_NPROC counts every process of the sandbox uid on the host, other runs' included: with
    # a pids cgroup (per run) it is only a backstop, so concurrent runs do not starve each other.
    nproc = r.processes * 4 + 64 if cgroup else r.processes
    return {
        resource.RLIMIT_CPU: (
            r.cpu_seconds,
            r.cpu_seconds + 1,
        ),  # SIGXCPU first, SIGKILL a second later
        resource.RLIMIT_AS: (vmem, vmem),
        resource.RLIMIT_FSIZE: (fsize, fsize),
        resource.RLIMIT_NOFILE: (r.open_files, r.open_files),
        resource.RLIMIT_NPROC: (nproc, nproc),
    }


def fire(armed: Armed, argv: list[str], res: Resources) -> None:
    """Apply ``res`` to the blocked launcher, then make it exec ``argv`` (bwrap + options + command).

    Raises OSError if the launcher is gone or refuses a limit (the caller re-arms).
    """
    if armed.cgroup is not None:
        armed.cgroup.set_limits(memory_mb=res.memory_mb, processes=res.processes)
    for which, limits in rlimits(res, cgroup=armed.cgroup is not None).items():
        resource.prlimit(armed.proc.pid, which, limits)
    # Every word is quoted, so the shell only ever sees one `exec` of literal words.
    line = "exec " + " ".join(shlex.quote(a) for a in argv) + " </dev/null\n"
    assert armed.proc.stdin is not None
    with armed.proc.stdin as script:
        script.write(os.fsencode(line))


class Prewarmer:
    """Up to ``size`` armed launches kept ready; refills and cgroup removal on one thread.

    Holds no reference to the sandbox, so a dropped sandbox can be collected (``close`` runs
    from its finalizer and at exit).
    """

    def __init__(self, make: Callable[[], Armed], size: int) -> None:
        self._make = make
        self._size = size
        self._ready: list[Armed] = []
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-prewarm")

    def take(self) -> Armed:
        """An armed launch: a ready one if any is still alive, else one armed now."""
        while True:
            with self._lock:
                armed = self._ready.pop() if self._ready else None
            if armed is None:
                break
            if armed.proc.poll() is None:
                self._refill()
                return armed
            self._background(armed.discard)
        self._refill()
        return self._make()

    def dispose(self, cg: cgroups.RunCgroup) -> None:
        """Remove a finished run's cgroup in the background (its processes were already killed)."""
        self._background(cg.remove)

    def _background(self, job: Callable[[], None]) -> None:
        with self._lock:
            if not self._closed:
                self._pool.submit(job)
                return
        job()

    def _refill(self) -> None:
        with self._lock:
            if self._closed or self._size <= 0:
                return
            want = self._size - len(self._ready) - self._pending
            self._pending += max(want, 0)
        for _ in range(max(want, 0)):
            self._pool.submit(self._arm_one)

    def _arm_one(self) -> None:
        try:
            armed: Armed | None = self._make()
        except Exception:  # noqa: BLE001 - the next take() arms synchronously and raises clearly
            armed = None
        with self._lock:
            self._pending -= 1
            if armed is not None and not self._closed:
                self._ready.append(armed)
                armed = None
        if armed is not None:
            armed.discard()

    def close(self) -> None:
        """Discard the ready launches and finish pending cgroup removals."""
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, []
        self._pool.shutdown(wait=True)
        for armed in ready:
            armed.discard()
        with self._lock:
            late, self._ready = self._ready, []
        for armed in late:
            armed.discard()
