"""Find and stop every process of a session we started, by walking ``/proc``.

``fleet up`` starts the Ray head with ``start_new_session=True``, so the head's
PID is also the session id of everything it spawns (GCS, raylet, dashboard,
workers). Ray's daemons do not call setsid, so the session id survives
re-parenting when a parent dies first; walking by session id therefore finds
strays a parent-chain walk would miss. Descendants are added too in case a
process ever does start its own session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, session id) of ``pid`` or None when it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[3])


def alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as dead."""
    st = _stat(pid)
    if st is None:
        return False
    if st[0] == "Z":
        _reap(pid)
        return False
    return True


def _reap(pid: int) -> None:
    # Only our own children can be reaped; for anyone else's zombie this is a no-op.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def members(leader: int) -> set[int]:
    """Live processes in session ``leader`` plus all their descendants (leader included)."""
    table: dict[int, tuple[str, int, int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[0] != "Z":
                table[int(entry.name)] = st
    found = {pid for pid, (_, _, sid) in table.items() if sid == leader}
    if leader in table:
        found.add(leader)
    grew = True
    while grew:
        kids = {pid for pid, (_, ppid, _) in table.items() if ppid in found} - found
        found |= kids
        grew = bool(kids)
    return found


def _signal(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {p for p in left if alive(p)}
    return left


def stop_session(leader: int, *, grace: float = 20.0, kill_after: float = 5.0) -> set[int]:
    """Stop ``leader`` and its whole session; return the PIDs that survived (normally empty).

    SIGTERM goes to the leader first so it can shut its children down in order
    (``ray start --block`` does); whatever is left after ``grace`` seconds gets
    SIGTERM, then SIGKILL.
    """
    snapshot = members(leader)
    _signal({leader} & snapshot, signal.SIGTERM)
    left = _wait(snapshot, grace)
    left |= members(leader)  # anything spawned while shutting down
    if left:
        _signal(left, signal.SIGTERM)
        left = _wait(left, kill_after)
    if left:
        _signal(left, signal.SIGKILL)
        left = _wait(left, kill_after)
    _reap(leader)
    return left | members(leader)
