"""``fleet up | down | status``: the local stack from the command line.

Exit codes: ``up`` 0 when the stack is up and healthy, 1 when it started but a
health check failed, 2 on an error (port in use, a server did not start);
``status`` 0 healthy, 1 stopped or unhealthy; ``down`` 0 whether or not
anything was running (it says which), 2 if a process would not stop.
"""

from __future__ import annotations

import argparse

from cluster import local
from fleet.settings import fleet_config


def _up(args: argparse.Namespace) -> int:
    cfg = fleet_config()
    print(f"starting the local stack (data in {cfg.data_dir}) ...", flush=True)
    st = local.up(cfg)
    if st.started:
        print("started: " + ", ".join(st.started))
    if st.reused:
        print("already running (reused): " + ", ".join(st.reused))
    print(st.render())
    return 0 if st.healthy else 1


def _down(args: argparse.Namespace) -> int:
    cfg = fleet_config()
    st = local.down(cfg)
    if st.stopped:
        print("stopped: " + ", ".join(st.stopped) + f" (data kept in {cfg.data_dir})")
    else:
        print(f"nothing to stop: no fleet processes are running for {cfg.data_dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    st = local.status(fleet_config())
    print(st.render())
    return 0 if st.healthy else 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``up``, ``down`` and ``status`` to the ``fleet`` command."""
    for name, func, text in (
        ("up", _up, "start the local Ray head and Redis+FalkorDB server (idempotent)"),
        ("down", _down, "stop what `fleet up` started; keeps the data"),
        ("status", _status, "show what runs, where, and whether it is healthy"),
    ):
        p = subparsers.add_parser(name, help=text, description=text)
        p.set_defaults(func=func)
