"""The faults ``bench_chaos.py`` injects into its in-process stack, one function per kind.

Each takes the running ``Chaos`` and returns when the fault's cause is gone (monotonic seconds:
Redis restarted, space freed, the actor or node killed), or None when the fault could not be
injected (then it is reported and not measured).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

LLM_APP = "chaosllm"  # the replica's process title: ray::ServeReplica:chaosllm:...


class Disk:
    """A small tmpfs (Redis's data dir) that can be filled to the last byte and emptied."""

    def __init__(self, root: Path, size_mb: int) -> None:
        self.root, self.filler = root, root / "filler"
        root.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs",
                               str(root)], capture_output=True, text=True)  # fmt: skip
        self.mounted = done.returncode == 0  # needs root: without it, no disk-full fault
        self.why = done.stderr.strip()

    def fill(self) -> None:
        with open(self.filler, "ab") as f, contextlib.suppress(OSError):  # ENOSPC: full
            while True:
                f.write(b"\0" * 65536)
                f.flush()

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.root)], check=False)


def redis(c: Any, down_s: float) -> float:
    """SIGKILL Redis+FalkorDB, keep it down ``down_s``, restart it on the same data dir."""
    from cluster.graphserver import GraphServer

    os.kill(c.server.running_pid(), signal.SIGKILL)
    time.sleep(down_s)  # the outage itself is the fault being injected
    GraphServer(data_dir=c.server.data_dir, port=c.server.port).start()
    return time.monotonic()


def disk_full(c: Any, full_s: float) -> float | None:
    """Fill Redis's disk; once Redis refuses to store (MISCONF), keep it full ``full_s``."""
    import redis as redis_client

    if c.disk is None or not c.disk.mounted:
        print(f"  disk: no tmpfs ({c.disk.why if c.disk else 'off'}); skipped", flush=True)
        return None
    c.disk.fill()
    r = redis_client.Redis.from_url(c.server.url)
    deadline = time.monotonic() + 30
    refused = False
    while time.monotonic() < deadline and not refused:
        with contextlib.suppress(redis_client.exceptions.ResponseError):
            r.set("chaos:disk-trigger", "x" * 200_000)  # a write that needs new AOF pages
        try:
            r.ping()
        except redis_client.exceptions.ResponseError:
            refused = True  # MISCONF: it refuses every command now
        time.sleep(0.2)
    r.close()
    print(f"  disk: full; Redis {'refuses to store' if refused else 'never noticed'}", flush=True)
    time.sleep(full_s)
    c.disk.free()
    return time.monotonic()


def _bwrap_runs(mark: str) -> list[int]:
    """bwrap processes whose command line holds ``mark`` (a path under the fleet's data dir:
    a real run, not a launch armed in advance waiting for its command)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"bwrap") and mark.encode() in b" ".join(argv):
            found.append(int(proc.name))
    return sorted(found)


def sandbox_run(c: Any, window_s: float, wait_s: float = 120.0) -> float | None:
    """SIGKILL, from outside, every sandbox run that starts within ``window_s`` of the first
    one seen (as an OOM killer would): a run and its repeat both lost is ``SandboxUnavailable``,
    which the story driver must wait out."""
    mark = str(c.data / "fleet")
    deadline, first, killed = time.monotonic() + wait_s, None, set()
    while time.monotonic() < (deadline if first is None else first + window_s):
        for pid in _bwrap_runs(mark):
            if pid not in killed:
                first = first or time.monotonic()
                time.sleep(0.3)  # the command is running inside, not only bwrap setting up
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.05)
    print(f"  sandbox run: {len(killed)} bwrap processes killed from outside", flush=True)
    return time.monotonic() if killed else None


def llm(c: Any) -> float | None:
    """SIGKILL the model replica: Serve's controller starts a new one, calls in flight retry."""
    from fault_tools import pids_titled

    if not c.args.llm:
        return None
    pids = pids_titled(f"ray::ServeReplica:{LLM_APP}:")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    if not pids:
        print("  llm: no replica process found; skipped", flush=True)
        return None
    return time.monotonic()


def node(c: Any) -> float | None:
    """SIGKILL the worker node hosting the fleet's actors; they restart on the head."""
    if c.node is None:
        return None
    end = c.node.kill_now()
    detect = c.node.wait_dead(c.ray)
    print(f"  node: declared dead {detect - end:.1f}s after the kill", flush=True)
    return float(end)


def actor(c: Any, kind: str) -> float | None:
    """``ray.kill`` one of the fleet's actors (Ray restarts it)."""
    from actors.agent import agent_actor_name

    name = {
        "orchestrator": c.orch_name,
        "council": f"council-{c.prefix}",
        "agent": agent_actor_name("developer-1", c.prefix),
        "sandbox": f"sandbox-{c.prefix}",
    }[kind]
    handle = c.actor(name)
    if handle is None:
        print(f"  {kind}: actor {name} never appeared; skipped", flush=True)
        return None
    c.ray.kill(handle, no_restart=False)
    end = time.monotonic()
    if kind == "orchestrator":
        deadline = time.monotonic() + 120
        while c.call("check_health") is None and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"  orchestrator: answers {time.monotonic() - end:.1f}s after the kill")
    return end


def inject(c: Any, kind: str) -> float | None:
    """Fault ``kind`` of the schedule; when its cause was gone (None: not injected)."""
    a = c.args
    if kind == "redis":
        return redis(c, a.redis_down_s)
    if kind == "redis_long":
        return redis(c, a.redis_long_s)
    if kind == "disk":
        return disk_full(c, a.disk_full_s)
    if kind == "sandbox_run":
        return sandbox_run(c, a.sandbox_kill_s)
    if kind == "llm":
        return llm(c)
    if kind == "node":
        return node(c)
    return actor(c, kind)
