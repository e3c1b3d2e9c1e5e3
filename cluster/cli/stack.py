"""``fleet up | down | status``: the local stack from the command line.

Exit codes: ``up`` 0 when the stack is up and healthy, 1 when it started but a
health check failed, 2 on an error (port in use, a server did not start);
``status`` 0 healthy, 1 stopped or unhealthy; ``down`` 0 whether or not
anything was running (it says which), 2 if a process would not stop.

``status`` tells a part that runs but does not answer (hung) from one that is stopped: a
storage server that accepts connections and replies to nothing or refuses to store (disk full:
the state line names the data directory and its free space), and apps whose gateway answers
but is not healthy (storage down) or accepts and never answers, are *running*, with the failed
check and a ``state`` line saying what is wrong.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import socket
import urllib.error
import urllib.request
from pathlib import Path

from cluster import local
from cluster.cli.quiet import foreign_logs_to
from cluster.fleet_apps import FleetApps, check_model, gateway_url, stack_apps
from cluster.graphserver import GraphServer, redis_address
from fleet.config import FleetConfig, fleet_config, load_all

PROBE_S = 3.0  # how long a part may take to answer before it counts as not answering


def _up(args: argparse.Namespace) -> int:
    cfg = fleet_config()
    load_all()  # every config file and prompt template, checked before anything starts
    if args.model:
        check_model(args.model)
    what = "Ray + Redis only" if args.no_apps else f"model: {args.model or 'models.yaml routing'}"
    # deploying the apps, Ray Serve's driver logs INFO lines on stderr: they go to a file named at
    # the end, so the terminal shows the fleet's own lines only (without apps, no Serve is imported)
    logs = Path(cfg.data_dir).expanduser() / "logs" / "up.log"
    foreign = None if args.no_apps else foreign_logs_to(logs)
    print(f"starting the local stack ({what}; data in {cfg.data_dir}) ...", flush=True)
    st = local.up(cfg, extra=[] if args.no_apps else stack_apps(cfg, model=args.model))
    if st.started:
        print("started: " + ", ".join(st.started))
    if st.reused:
        print("already running (reused): " + ", ".join(st.reused))
    print(st.render())
    if foreign:
        print(f"other programs' log lines: {foreign}")
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
    _hung_storage(st, cfg)
    _unhealthy_apps(st, cfg)
    print(st.render())
    return 0 if st.healthy else 1


def _hung_storage(st: local.StackStatus, cfg: FleetConfig) -> None:
    """A storage server that is ours and alive is running even when PING fails: hung (replies
    to nothing) or refusing to store (``MISCONF``: it cannot write its AOF, e.g. a full disk)."""
    part = next((p for p in st.parts if p.name == local.GraphComponent.name), None)
    if part is None or (part.running and all(part.checks.values())):
        return
    server = local.GraphComponent(cfg).server
    pid = _our_server(server)
    if pid is None:
        return
    reply = _ping_reply(server.host, server.port)
    if reply is None:
        return  # nothing listens: stopped (starting, or gone)
    part.running, part.pid = True, pid
    part.checks = {"redis PING": False}
    if reply.startswith(("MISCONF", "OOM", "READONLY")):
        part.where["state"] = f"REFUSES to store: {reply[:200]}; {_disk(server.data_dir)}"
    elif reply:
        part.where["state"] = f"answers PING with: {reply[:200]}"
    else:
        part.where["state"] = (
            f"HUNG: accepts connections but replied to nothing in {PROBE_S:g} s "
            "(`fleet up` replaces it, on its data)"
        )


def _our_server(server: GraphServer) -> int | None:
    """The pidfile's process when it is a live redis-server on our port (never a recycled PID)."""
    try:
        pid = int(server.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    address = redis_address(pid)
    return pid if address and address.rpartition(":")[2] == str(server.port) else None


def _ping_reply(host: str, port: int) -> str | None:
    """What the server says to PING: its first line (``PONG``, ``MISCONF ...``); "" when it is
    silent; None when nothing listens."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_S) as s:
            s.sendall(b"PING\r\n")
            lines = s.recv(512).decode(errors="replace").splitlines()
    except TimeoutError:
        return ""
    except OSError:
        return None
    return lines[0][1:] if lines else ""


def _disk(path: Path) -> str:
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return f"{path}: {exc}"
    return f"{path}: {usage.free // 2**20} MiB free of {usage.total // 2**20} MiB"


def _unhealthy_apps(st: local.StackStatus, cfg: FleetConfig) -> None:
    """Apps whose gateway answers (unhealthy) or accepts and never answers are running."""
    part = next((p for p in st.parts if p.name == FleetApps.name), None)
    if part is None or part.running:
        return
    state = _gateway_state(gateway_url(cfg))
    if state is not None:
        part.running = True
        part.where["state"] = state


def _gateway_state(url: str) -> str | None:
    """What the gateway's /healthz says when it is not healthy; None when nothing listens."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=PROBE_S) as resp:
            body = resp.read(2000)
    except urllib.error.HTTPError as exc:
        return f"the gateway answers HTTP {exc.code} to /healthz (not deployed, or restarting)"
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
            return f"the gateway accepts connections but answered nothing in {PROBE_S:g} s"
        return None  # refused: nothing listens, the apps are stopped
    try:
        health = json.loads(body)
    except ValueError:
        health = None
    if not isinstance(health, dict):
        return "the gateway answers /healthz with something else than its health"
    down = [k for k in ("redis", "orchestrator") if health.get(k) is False]
    return f"the gateway answers: {health.get('status')} ({', '.join(down) or '?'} not ok)"


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
