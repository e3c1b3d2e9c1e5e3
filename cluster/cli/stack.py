"""``fleet up | down | status``: the local stack from the command line.

Exit codes: ``up`` 0 when the stack is up and healthy, 1 when it started but a
health check failed, 2 on an error (port in use, a server did not start);
``status`` 0 healthy, 1 stopped or unhealthy; ``down`` 0 whether or not
anything was running (it says which), 2 if a process would not stop.
"""

from __future__ import annotations

import argparse

from cluster import local
from cluster.fleet_apps import check_model, stack_apps
from fleet.settings import fleet_config


def _up(args: argparse.Namespace) -> int:
    cfg = fleet_config()
    if args.model:
        check_model(args.model)
    what = "Ray + Redis only" if args.no_apps else f"model: {args.model or 'models.yaml routing'}"
    print(f"starting the local stack ({what}; data in {cfg.data_dir}) ...", flush=True)
    st = local.up(cfg, extra=[] if args.no_apps else stack_apps(cfg, model=args.model))
    if st.started:
        print("started: " + ", ".join(st.started))
    if st.reused:
        print("already running (reused): " + ", ".join(st.reused))
    print(st.render())
    return 0 if st.healthy else 1


def _down(args: argparse.Namespace) -> int:
    cfg = fleet_config()
    st = local.down(cfg, extra=stack_apps(cfg, deploy=False))
    if st.stopped:
        print("stopped: " + ", ".join(st.stopped) + f" (data kept in {cfg.data_dir})")
    else:
        print(f"nothing to stop: no fleet processes are running for {cfg.data_dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    cfg = fleet_config()
    st = local.status(cfg, extra=stack_apps(cfg, deploy=False))
    print(st.render())
    return 0 if st.healthy else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``up``, ``down`` and ``status`` to the ``fleet`` command."""
    for name, func, text in (
        ("up", _up, "start Redis+FalkorDB, the Ray head, the Serve apps and actors (idempotent)"),
        ("down", _down, "stop what `fleet up` started; keeps the data"),
        ("status", _status, "show what runs, where, and whether it is healthy"),
    ):
        p = subparsers.add_parser(name, help=text, description=text)
        p.set_defaults(func=func)
        if name == "up":
            p.add_argument(
                "--no-apps",
                action="store_true",
                help="start only Redis+FalkorDB and the Ray head (no Serve apps, no actors)",
            )
            p.add_argument(
                "--model",
                help="model for every role: scripted, local-smollm2... (default: models.yaml)",
            )
