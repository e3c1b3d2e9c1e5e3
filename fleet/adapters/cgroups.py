"""Per-run memory + pids cgroups for the bubblewrap backend (cgroup v1 or v2, when writable).

A run gets its own cgroup nested under the cgroup this process already lives in
(so it never escapes a limit the host put on us). The launcher joins it before
exec'ing bwrap, so every descendant is accounted from the first instruction.
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


def _make(parent: Path, name: str) -> Path:
    d = parent / name
    d.mkdir()
    return d


def create(*, memory_mb: int, processes: int) -> tuple[RunCgroup | None, str]:
    """A fresh cgroup limited to ``memory_mb`` (no swap) and ``processes``; or ``(None, why)``."""
    ver = version()
    name = f"swe-fleet-{uuid.uuid4().hex[:12]}"
    limit = str(memory_mb * 1024 * 1024)
    made: list[Path] = []
    try:
        if ver == 1:
            mem = _make(ROOT / "memory" / _own_path("memory").lstrip("/"), name)
            made.append(mem)
            pids = _make(ROOT / "pids" / _own_path("pids").lstrip("/"), name)
            made.append(pids)
            _write(mem / "memory.limit_in_bytes", limit)
            if (mem / "memory.memsw.limit_in_bytes").exists():
                _write(mem / "memory.memsw.limit_in_bytes", limit)
            _write(pids / "pids.max", str(processes))
            return RunCgroup((mem, pids), 1), "cgroup v1"
        if ver == 2:
            parent = ROOT / _own_path(None).lstrip("/")
            # Needs a delegated parent with memory+pids enabled for children (no-internal-process rule).
            _write(parent / "cgroup.subtree_control", "+memory +pids")
            d = _make(parent, name)
            made.append(d)
            _write(d / "memory.max", limit)
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", "0")
            _write(d / "pids.max", str(processes))
            return RunCgroup((d,), 2), "cgroup v2"
        return None, "no cgroup memory/pids controllers mounted"
    except OSError as exc:
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()
        return None, f"cgroup not writable here ({exc.strerror}: {exc.filename})"
