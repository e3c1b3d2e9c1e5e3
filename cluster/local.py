"""The embedded local stack behind ``fleet up | down | status``.

``up`` starts, in order, each :class:`Component` of :func:`components`: the
Redis+FalkorDB server (AOF persistence under ``<data_dir>/graph``) and a local
Ray head (``<data_dir>/ray``). Each component owns a pidfile, so ``up`` is
idempotent (a running component is reused) and ``down`` stops exactly what
``up`` started, in reverse order, and keeps the data.

To deploy more on ``up`` (Serve apps, long-lived actors), add a component to
:func:`components` (or pass ``extra=`` to :func:`up`/:func:`down`/:func:`status`):
anything with ``name``, ``start()``, ``stop()`` and ``health()`` fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cluster.graphserver import GraphServer
from cluster.rayhead import RayHead, auth_token
from fleet.config import FleetConfig
from fleet.errors import FleetError

HEALTH_GRAPH = "fleet:health"  # a throwaway graph, so health checks never touch real data
STORAGE_DOWN = (
    "storage is DOWN: the API answers 503 and stories are paused (nothing is lost); "
    "they resume by themselves once it is back - `fleet up` restarts it with its data"
)


@dataclass
class Health:
    """What one component reports: is it running, where, and do its checks pass."""

    name: str
    running: bool
    pid: int | None = None
    where: dict[str, str] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.running and all(self.checks.values())


class Component(Protocol):
    """One part of the local stack. ``start`` returns (pid, started_now)."""

    name: str

    def start(self) -> tuple[int | None, bool]: ...

    def stop(self) -> bool: ...

    def health(self) -> Health: ...


@dataclass
class GraphComponent:
    """Redis (timeline) + FalkorDB (decision graph) in one loopback process."""

    config: FleetConfig
    name: str = "redis+falkordb"

    @property
    def server(self) -> GraphServer:
        data = Path(self.config.data_dir) / "graph"
        return GraphServer(data_dir=data, port=self.config.redis.port, host=self.config.redis.host)

    def start(self) -> tuple[int | None, bool]:
        """Start the server, reuse a running one, or restart one that runs but never answers.

        A hung server (FalkorDB 4.16.3 was once seen to stop answering everything, SIGTERM
        included: docs/faults.md) pauses every story until it is replaced; its AOF keeps the
        data, so `fleet up` stops it (SIGKILL once SIGTERM is ignored) and starts it again.
        """
        server = self.server
        if server.hung_pid() is not None:
            server.stop(timeout=3.0)  # a hung main thread ignores SIGTERM: SIGKILL after 3 s
        running = server.running_pid()
        return (running, False) if running else (server.start(), True)

    def stop(self) -> bool:
        return self.server.stop()

    def health(self) -> Health:
        server = self.server
        pid = server.running_pid()
        where = {"url": server.url, "data": str(server.data_dir)}
        if pid is None:
            return Health(self.name, running=False, where=where)
        return Health(
            self.name,
            running=True,
            pid=pid,
            where=where,
            checks={
                "redis PING": _redis_ping(server.url),
                "graph RETURN 1": _graph_query(server.url),
            },
        )


def _redis_ping(url: str) -> bool:
    import redis

    try:
        with redis.Redis.from_url(url, socket_timeout=2) as r:
            return bool(r.ping())
    except redis.RedisError:
        return False


def _graph_query(url: str) -> bool:
    import redis

    try:
        with redis.Redis.from_url(url, socket_timeout=2) as r:
            reply = r.execute_command("GRAPH.QUERY", HEALTH_GRAPH, "RETURN 1")
        return bool(reply[1] == [[1]])
    except redis.RedisError:
        return False


@dataclass
class RayComponent:
    """The local Ray head (GCS, raylet, dashboard) with token auth on."""

    config: FleetConfig
    name: str = "ray head"

    @property
    def head(self) -> RayHead:
        return RayHead(data_dir=Path(self.config.data_dir) / "ray", config=self.config.ray)

    def start(self) -> tuple[int | None, bool]:
        return self.head.start()

    def stop(self) -> bool:
        return self.head.stop()

    def health(self) -> Health:
        head = self.head
        pid = head.running_pid()
        where = {
            "address": head.address,
            "dashboard": head.dashboard_url,
            "metrics": head.metrics_url,
            "namespace": self.config.ray.namespace,
            "log": str(head.logfile),
        }
        if pid is None:
            return Health(self.name, running=False, where=where)
        token = auth_token()
        where["auth"] = "token" if token else "none"
        return Health(
            self.name,
            running=True,
            pid=pid,
            where=where,
            checks={"dashboard (with token)": head.dashboard_ok()},
        )


def ray_address(config: FleetConfig) -> str:
    """GCS address for ``ray.init(address=...)`` to join the local head.

    The head runs with token auth: a driver needs ``RAY_AUTH_MODE=token`` in its
    environment (tests set ``disabled``) and reads the token from
    ``~/.ray/auth_token`` or ``$RAY_AUTH_TOKEN_PATH``.
    """
    return RayComponent(config).head.address


def components(config: FleetConfig, extra: Sequence[Component] = ()) -> list[Component]:
    """The stack in start order; ``down`` walks it backwards."""
    return [GraphComponent(config), RayComponent(config), *extra]


@dataclass
class StackStatus:
    """The whole stack: each component's health plus what this call started or reused."""

    data_dir: str
    parts: list[Health]
    started: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return bool(self.parts) and all(p.healthy for p in self.parts)

    @property
    def running(self) -> list[str]:
        return [p.name for p in self.parts if p.running]

    def part(self, name: str) -> Health:
        return next(p for p in self.parts if p.name == name)

    def render(self) -> str:
        lines = [f"data dir: {self.data_dir}"]
        for p in self.parts:
            state = ("running" + (f" (pid {p.pid})" if p.pid else "")) if p.running else "stopped"
            lines.append(f"{p.name}: {state}")
            lines += [f"  {k}: {v}" for k, v in p.where.items()]
            lines += [f"  check {k}: {'ok' if ok else 'FAILED'}" for k, ok in p.checks.items()]
        storage = next((p for p in self.parts if p.name == GraphComponent.name), None)
        if storage is not None and not storage.healthy:
            lines.append(STORAGE_DOWN)
        lines.append("healthy" if self.healthy else "NOT healthy")
        return "\n".join(lines)


def status(config: FleetConfig, *, extra: Sequence[Component] = ()) -> StackStatus:
    """Health of every component (nothing is started or stopped)."""
    return StackStatus(config.data_dir, [c.health() for c in components(config, extra)])


def up(config: FleetConfig, *, extra: Sequence[Component] = ()) -> StackStatus:
    """Start whatever is not running yet, reuse what is; return the resulting status.

    Raises:
        PortInUse: a configured port is taken by a program that is not ours.
        StorageUnavailable, RayUnavailable: a component did not come up.
    """
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    started: list[str] = []
    reused: list[str] = []
    for comp in components(config, extra):
        _pid, fresh = comp.start()
        (started if fresh else reused).append(comp.name)
    result = status(config, extra=extra)
    result.started, result.reused = started, reused
    return result


def down(config: FleetConfig, *, extra: Sequence[Component] = ()) -> StackStatus:
    """Stop what ``up`` started (newest first), keep the data; ``stopped`` empty if nothing ran."""
    stopped: list[str] = []
    errors: list[FleetError] = []
    for comp in reversed(components(config, extra)):
        try:
            if comp.stop():
                stopped.append(comp.name)
        except FleetError as exc:  # keep stopping the rest, report the first failure at the end
            errors.append(exc)
    if errors:
        raise errors[0]
    result = status(config, extra=extra)
    result.stopped = stopped
    return result
