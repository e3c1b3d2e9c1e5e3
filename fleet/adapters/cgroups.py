"""Per-run memory + pids cgroups for the bubblewrap backend (cgroup v1 or v2, when writable).

A run gets its own cgroup nested under the cgroup this process already lives in
(so it never escapes a limit the host put on us). The (still blocked) bwrap process is
moved into it before it reads its arguments, so every descendant is accounted from the
first instruction. Joining costs a cgroup migration (an RCU grace period on v1: ~10 ms on a
loaded host), which is why the sandbox does it ahead of time (see ``sandbox_spawn``).
Where the host does not let us create one, :func:`create` returns ``None`` and
the run relies on rlimits alone (the result says so in ``backend``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str | None) -> str:
    """This process's cgroup path for ``controller`` (``None``: the v2 unified line)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller is None and names == "") or (controller and controller in names.split(",")):
            return path
    return "/"


def version() -> int | None:
    """2 for a unified hierarchy, 1 for v1 memory+pids controllers, ``None`` if neither."""
    if (ROOT / "cgroup.controllers").exists():
        return 2
    if (ROOT / "memory").is_dir() and (ROOT / "pids").is_dir():
        return 1
    return None


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _read_kv(path: Path) -> dict[str, int]:
    try:
        pairs = (line.split() for line in path.read_text().splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}
    except OSError:
        return {}


@dataclass
class RunCgroup:
    """The cgroup directories of one run (one per v1 controller, or one v2 directory)."""

    dirs: tuple[Path, ...]
    version: int
    limits: tuple[int, int] | None = None  # (memory_mb, processes) last written

    def procs_files(self) -> tuple[str, ...]:
        return tuple(str(d / "cgroup.procs") for d in self.dirs)

    def memory_hit(self) -> bool:
        """Did the memory limit bite (OOM kill or allocation failure)?"""
        if self.version == 2:
            events = _read_kv(self.dirs[0] / "memory.events")
            return events.get("oom_kill", 0) > 0 or events.get("max", 0) > 0
        ctl = _read_kv(self.dirs[0] / "memory.oom_control")
        try:
            failcnt = int((self.dirs[0] / "memory.failcnt").read_text())
        except (OSError, ValueError):
            failcnt = 0
        return ctl.get("oom_kill", 0) > 0 or failcnt > 0

    def pids_hit(self) -> bool:
        """Was a fork refused because the pids limit was reached?"""
        pids_dir = self.dirs[0] if self.version == 2 else self.dirs[1]
        return _read_kv(pids_dir / "pids.events").get("max", 0) > 0

    def pids(self) -> list[int]:
        out: list[int] = []
        for d in self.dirs:
            with contextlib.suppress(OSError):
                out += [int(p) for p in (d / "cgroup.procs").read_text().split()]
        return out

    def join(self, pid: int) -> None:
        """Move ``pid`` (and every child it forks later) into this cgroup; raises OSError."""
        for procs in self.procs_files():
            _write(Path(procs), str(pid))

    def set_limits(self, *, memory_mb: int, processes: int) -> None:
        """Memory (no swap) and pids caps; raises OSError if the host refuses them."""
        if self.limits == (memory_mb, processes):
            return  # already set (pre-armed cgroups get the default limits ahead of time)
        previous, self.limits = self.limits, None
        limit = str(memory_mb * 1024 * 1024)
        mem = self.dirs[0]
        if self.version == 2:
            _write(mem / "memory.max", limit)
            if (mem / "memory.swap.max").exists():
                _write(mem / "memory.swap.max", "0")
            _write(mem / "pids.max", str(processes))
        else:
            # v1 insists memsw >= limit at every step: lower the limit first, raise memsw first.
            files = [mem / "memory.limit_in_bytes", mem / "memory.memsw.limit_in_bytes"]
            files = [f for f in files if f.exists()]
            if previous is not None and memory_mb > previous[0]:
                files.reverse()
            for f in files:
                _write(f, limit)
            _write(self.dirs[1] / "pids.max", str(processes))
        self.limits = (memory_mb, processes)

    def kill_once(self) -> None:
        """SIGKILL everything in the cgroup now, without waiting for it to disappear."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill_all(self) -> None:
        """SIGKILL everything still in the cgroup (processes that escaped the process group)."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill stragglers and delete the directories (an empty cgroup can be removed)."""
        self.kill_all()
        for d in reversed(self.dirs):
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def sweep_stale(min_age_s: float = 60.0) -> int:
    """Remove empty ``swe-fleet-*`` cgroups older than ``min_age_s`` next to where ours go.

    A supervisor killed without running its finalizers (``ray.kill``) leaves the empty
    cgroups of its pre-armed launchers behind (the launchers themselves exit when their pipe
    closes). A cgroup is only empty between its creation and the join, milliseconds, so an
    old empty one belongs to nobody. Returns how many were removed.
    """
    ver = version()
    parents = (
        [
            ROOT / "memory" / _own_path("memory").lstrip("/"),
            ROOT / "pids" / _own_path("pids").lstrip("/"),
        ]
        if ver == 1
        else [ROOT / _own_path(None).lstrip("/")]
        if ver == 2
        else []
    )
    removed = 0
    now = time.time()
    for parent in parents:
        with contextlib.suppress(OSError):
            for d in parent.glob("swe-fleet-*"):
                with contextlib.suppress(OSError):
                    if (
                        now - d.stat().st_mtime > min_age_s
                        and not (d / "cgroup.procs").read_text().strip()
                    ):
                        d.rmdir()
                        removed += 1
    return removed


def _make(parent: Path, name: str) -> Path:
    d = parent / name
    d.mkdir()
    return d


def create(
    *, memory_mb: int | None = None, processes: int | None = None
) -> tuple[RunCgroup | None, str]:
    """A fresh cgroup (limited to ``memory_mb`` without swap and ``processes`` when given);
    or ``(None, why)`` where the host does not let us make one."""
    ver = version()
    name = f"swe-fleet-{uuid.uuid4().hex[:12]}"
    made: list[Path] = []
    try:
        if ver == 1:
            made.append(_make(ROOT / "memory" / _own_path("memory").lstrip("/"), name))
            made.append(_make(ROOT / "pids" / _own_path("pids").lstrip("/"), name))
            cg, note = RunCgroup(tuple(made), 1), "cgroup v1"
        elif ver == 2:
            parent = ROOT / _own_path(None).lstrip("/")
            # Needs a delegated parent with memory+pids enabled for children (no-internal-process rule).
            _write(parent / "cgroup.subtree_control", "+memory +pids")
            made.append(_make(parent, name))
            cg, note = RunCgroup(tuple(made), 2), "cgroup v2"
        else:
            return None, "no cgroup memory/pids controllers mounted"
        if memory_mb is not None and processes is not None:
            cg.set_limits(memory_mb=memory_mb, processes=processes)
        return cg, note
    except OSError as exc:
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()
        return None, f"cgroup not writable here ({exc.strerror}: {exc.filename})"
