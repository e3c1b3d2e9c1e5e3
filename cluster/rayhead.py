"""The local Ray head, as a process tree we own: ``ray start --head --block`` in its own session.

We never call ``ray stop``: it kills every Ray cluster on the machine, not just
ours. Instead the head runs blocking under a pidfile and ``stop()`` ends
exactly its session (see :mod:`cluster.proctree`).

Token authentication stays on (Ray 2.60's default for new clusters): the GCS
and worker ports bind to every interface, not only loopback. ``ray start``
only enables it when a token exists, so we make sure one does first.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cluster import proctree
from cluster.graphserver import free_port, port_free
from fleet.config import RayConfig
from fleet.errors import PortInUse, RayUnavailable

# How soon the head declares a lost node dead (then restarts its actors elsewhere). Ray's
# defaults check every 3 s and give up after 5 failed checks: a SIGKILLed worker node was
# declared dead 12.5-15.4 s after the kill (bench_chaos). A check of a dead raylet fails at once
# (connection refused), so checking every second declares it dead sooner (measured: 4.3-5.1 s
# in bench_chaos, 9.0 s vs 16.9 s with the defaults on a `ray start --head` like ours); a live
# but slow raylet still has the whole per-check timeout (Ray's 10 s, unchanged) before a check
# counts as failed, so an overloaded node is not declared dead sooner than before. Passed to the
# head as RAY_<name> variables (bench_chaos passes it to ray.init as _system_config).
NODE_HEALTH = {"health_check_period_ms": 1000}


def ray_cli() -> str:
    """The ``ray`` script next to this interpreter (the venv's), else the one on PATH."""
    here = Path(sys.executable).with_name("ray")
    found = str(here) if here.exists() else shutil.which("ray")
    if not found:
        raise RayUnavailable(what="ray CLI", reason="not installed: pip install 'ray[default]'")
    return found


def token_path() -> Path:
    """Where Ray reads its auth token: ``$RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``."""
    env = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(env) if env else Path.home() / ".ray" / "auth_token"


def auth_token() -> str | None:
    """The token Ray clients send (``$RAY_AUTH_TOKEN`` first, as Ray does), or None."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"]
    try:
        return token_path().read_text().strip() or None
    except OSError:
        return None


def ensure_token() -> None:
    """Create the auth token file when there is none, readable by its owner only.

    Same format as Ray's own generator (256 random bits, hex). Written here
    rather than by ``ray get-auth-token --generate``, which ignores
    ``$RAY_AUTH_TOKEN_PATH`` and creates the file world-readable.
    """
    if auth_token():
        return
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))


def http_ok(url: str, *, token: str | None, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 200 (sending the bearer token when given)."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class RayHead:
    """One local Ray head with its pidfile, state file and log under ``data_dir``."""

    data_dir: Path
    config: RayConfig

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "head.pid"

    @property
    def statefile(self) -> Path:
        return self.data_dir / "head.json"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "head.log"

    def state(self) -> dict[str, object]:
        """What the running head was started with (address, ports, auth)."""
        try:
            return dict(json.loads(self.statefile.read_text()))
        except (OSError, ValueError):
            return {}

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.state().get('gcs_port', self.config.gcs_port)}"

    @property
    def dashboard_url(self) -> str:
        port = self.state().get("dashboard_port", self.config.dashboard.port)
        return f"http://{self.config.dashboard.host}:{port}"

    @property
    def metrics_url(self) -> str:
        """Prometheus text of this node's metrics (Ray's and the fleet's ``ray.util.metrics``)."""
        return f"http://127.0.0.1:{self.state().get('metrics_port', '?')}/metrics"

    def running_pid(self) -> int | None:
        """PID from our pidfile when it is alive and still a ``ray start --head``."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        argv = proctree.cmdline(pid)
        ours = proctree.alive(pid) and "start" in argv and "--head" in argv
        return pid if ours else None

    def dashboard_ok(self) -> bool:
        return http_ok(f"{self.dashboard_url}/api/version", token=auth_token())

    def _command(self, metrics_port: int) -> list[str]:
        c = self.config
        return [
            ray_cli(),
            "start",
            "--head",
            "--block",
            "--disable-usage-stats",
            # Ray replaces a loopback node IP with the host's routable one
            # (services.resolve_ip_for_localhost), so logs and metric labels show that IP.
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(c.gcs_port),
            "--dashboard-host",
            c.dashboard.host,
            "--dashboard-port",
            str(c.dashboard.port),
            "--num-cpus",
            str(c.num_cpus),
            "--object-store-memory",
            str(c.object_store_memory),
            # Ray's fixed defaults (10001, 52365) collide with any other Ray on the machine.
            "--ray-client-server-port",
            str(free_port()),
            "--dashboard-agent-listen-port",
            str(free_port()),
            # Known, so `fleet status` can say where to scrape (Ray would pick a random one).
            "--metrics-export-port",
            str(metrics_port),
        ]

    def _check_ports(self) -> None:
        c = self.config
        # The GCS binds every interface, so check the wildcard address too.
        if not (port_free(c.gcs_port) and port_free(c.gcs_port, "0.0.0.0")):
            raise PortInUse(port=c.gcs_port, what="the Ray GCS (ray.gcs_port)")
        if not port_free(c.dashboard.port, c.dashboard.host):
            raise PortInUse(port=c.dashboard.port, what="the Ray dashboard (ray.dashboard.port)")

    def start(self, *, timeout: float = 120.0) -> tuple[int, bool]:
        """Start the head, or reuse ours if it runs; return (pid, started_now).

        Raises:
            PortInUse: the GCS or dashboard port is taken by another program.
            RayUnavailable: the head exited or its dashboard did not answer in time.
        """
        pid = self.running_pid()
        if pid:
            return pid, False
        self._stop_strays()
        self._check_ports()
        ensure_token()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_USAGE_STATS_ENABLED": "0",
            # Draining only matters for rolling upgrades on Kubernetes; locally it delays `down`.
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
            **{f"RAY_{k}": str(v) for k, v in NODE_HEALTH.items()},
        }
        metrics_port = free_port()
        with self.logfile.open("ab") as log:
            proc = subprocess.Popen(
                self._command(metrics_port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.pidfile.write_text(str(proc.pid))
        self.statefile.write_text(
            json.dumps(
                {
                    "pid": proc.pid,
                    "gcs_port": self.config.gcs_port,
                    "dashboard_port": self.config.dashboard.port,
                    "auth": "token",
                    "metrics_port": metrics_port,
                }
            )
        )
        self._wait_ready(proc, timeout)
        return proc.pid, True

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._forget()
                raise RayUnavailable(
                    what="Ray head", reason=f"exited with {proc.returncode}: {self._log_tail()}"
                )
            if listening("127.0.0.1", self.config.gcs_port) and self.dashboard_ok():
                return
            time.sleep(0.25)
        self.stop()
        raise RayUnavailable(
            what="Ray head", reason=f"not ready within {timeout:g}s; see {self.logfile}"
        )

    def _log_tail(self, n: int = 800) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-n:].strip()
        except OSError:
            return "(no log)"

    def _stop_strays(self) -> None:
        """Kill Ray processes left in the session of a head that died on its own."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        # Only processes that look like Ray's, in case the PID was reused since.
        strays = [p for p in proctree.members(pid) if "ray" in " ".join(proctree.cmdline(p))]
        for p in strays:
            proctree.stop_session(p, grace=2.0)

    def _forget(self) -> None:
        self.pidfile.unlink(missing_ok=True)
        self.statefile.unlink(missing_ok=True)

    def stop(self) -> bool:
        """Stop our head and every process of its session. False when none of ours ran.

        Raises:
            RayUnavailable: some processes of the session survived SIGKILL.
        """
        pid = self.running_pid()
        if pid is None:
            self._stop_strays()
            self._forget()
            return False
        left = proctree.stop_session(pid)
        self._forget()
        if left:
            raise RayUnavailable(what="Ray head", reason=f"processes survived stop: {sorted(left)}")
        return True
