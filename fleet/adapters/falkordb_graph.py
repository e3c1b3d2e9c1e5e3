"""Decision graph on FalkorDB through its native client (the embedded default).

Never the Bolt port: FalkorDB's Bolt endpoint breaks after a driver disconnects
(see FACTS.md). A batch of writes goes in one pipeline round trip, NOT in MULTI/EXEC: when
Redis replays its AOF after a crash, FalkorDB 4.16 yields inside a replayed EXEC, serves a
client that is already reconnecting, and Redis 8.2 aborts (`'!server.in_exec' is not true`),
so a server with graph transactions in its AOF may not come back. The writes are idempotent
MERGEs and the projector acknowledges a batch only after all of it was written, so a batch
cut short by a dropped connection is simply written again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import redis
from falkordb import FalkorDB

from fleet.adapters.cypher import CypherDecisionGraph, Statement
from fleet.adapters.redis_events import storage_error
from fleet.errors import StorageUnavailable
from fleet.outage import Patience

_log = logging.getLogger(__name__)
EMPTY_KEY = "empty key"  # FalkorDB: "Invalid graph operation on empty key"


def _plain(value: Any) -> Any:
    """OrderedDicts from the client -> plain dicts (stable equality and JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class FalkorDecisionGraph(CypherDecisionGraph):
    """``DecisionGraph`` on a FalkorDB (Redis module) server at ``url``."""

    def __init__(
        self, url: str, *, graph: str = "fleet", timeout_s: float = 10.0, patience_s: float = 0.0
    ) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss", "falkor", "falkors"):
            raise ValueError(f"graph url must be redis://host:port, got {url!r}")
        self.url, self.name = url, graph
        self._params = {
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 6379,
            "password": parsed.password,
            "username": parsed.username,
            "socket_timeout": timeout_s,
            "socket_connect_timeout": min(timeout_s, 3.0),
        }
        self._client: Any = None
        self._g: Any = None
        # patience_s > 0: reads and (idempotent MERGE) writes wait that long for a restarted
        # server before StorageUnavailable (see fleet.adapters.redis_events)
        self.patience = (
            Patience(f"graph {graph!r}", patience_s=patience_s, logger=_log, probe=self.ping)
            if patience_s > 0
            else None
        )

    def _patient(self, fn: Callable[[], Any]) -> Any:
        if self.patience is None:
            return fn()
        return self.patience.call(
            fn,
            transient=lambda exc: storage_error(exc) or isinstance(exc, StorageUnavailable),
        )

    @property
    def _db(self) -> Any:
        # The client talks to the server in its constructor (sentinel/cluster probes): connect lazily
        # so a graph that is down is a StorageUnavailable at first use, not a crash at wiring time.
        if self._client is None:
            try:
                self._client = FalkorDB(**self._params)
            except redis.exceptions.RedisError as exc:
                if storage_error(exc):
                    raise self._unavailable(exc) from None
                raise
            self._g = self._client.select_graph(self.name)
        return self._client

    @property
    def _graph(self) -> Any:
        return self._g if self._db is not None else None

    def _unavailable(self, exc: Exception) -> StorageUnavailable:
        return StorageUnavailable(
            what=f"FalkorDB graph {self.name!r} at {self.url}",
            reason=str(exc) or type(exc).__name__,
        )

    def _read(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._patient(lambda: self._read_once(statement, params))  # type: ignore[no-any-return]

    def _read_once(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            result = self._graph.ro_query(statement, params)
        except redis.exceptions.ResponseError as exc:
            # FalkorDB has no graph until the first write creates its key: reading one that
            # nobody wrote to yet is an error there, but for us it is simply an empty graph.
            if EMPTY_KEY in str(exc):
                return []
            if storage_error(exc):  # refusing to store (MISCONF on a full disk): an outage
                raise self._unavailable(exc) from None
            raise
        except redis.exceptions.RedisError as exc:
            if storage_error(exc):
                raise self._unavailable(exc) from None
            raise
        names = [h[1] for h in result.header]
        return [dict(zip(names, _plain(row), strict=True)) for row in result.result_set]

    def _write(self, statements: list[Statement]) -> None:
        self._patient(lambda: self._write_once(statements))

    def _write_once(self, statements: list[Statement]) -> None:
        # The client has no batch API; send the same GRAPH.QUERY commands it would, in one round
        # trip. No MULTI/EXEC: see the module docstring (an AOF replay of one can crash Redis).
        pipe = self._db.connection.pipeline(transaction=False)
        for statement, params in statements:
            query = self._graph._build_params_header(params) + statement
            pipe.execute_command("GRAPH.QUERY", self.name, query, "--compact")
        try:
            pipe.execute()
        except redis.exceptions.RedisError as exc:
            if storage_error(exc):
                raise self._unavailable(exc) from None
            raise

    def _index(self, statement: str) -> None:
        try:
            self._graph.query(statement)
        except redis.exceptions.ResponseError as exc:
            if "already indexed" in str(exc):
                return
            if storage_error(exc):
                raise self._unavailable(exc) from None
            raise
        except redis.exceptions.RedisError as exc:
            if storage_error(exc):
                raise self._unavailable(exc) from None
            raise

    def ping(self) -> bool:
        """True when the server answers; never raises."""
        try:
            return bool(self._db.connection.ping())
        except (redis.exceptions.RedisError, StorageUnavailable):
            return False

    def close(self) -> None:
        if self._client is not None:
            self._client.connection.close()
