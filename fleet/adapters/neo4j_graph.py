"""Decision graph on Neo4j through the official driver (production).

Thin on purpose: the statements and all query logic are shared with the FalkorDB
adapter (``fleet/adapters/cypher.py``). Writes run in one managed transaction
(``execute_write``: atomic, retried by the driver on transient errors), reads in
``execute_read``. UNTESTED against a live Neo4j: none can be installed on the build
machine; the shared statements are exercised against FalkorDB only.
"""

from __future__ import annotations

from typing import Any

from neo4j import GraphDatabase, ManagedTransaction
from neo4j.exceptions import ClientError, ServiceUnavailable, SessionExpired

from fleet.adapters.cypher import CypherDecisionGraph, Statement
from fleet.errors import StorageUnavailable

_DOWN = (ServiceUnavailable, SessionExpired, OSError)


class Neo4jDecisionGraph(CypherDecisionGraph):
    """``DecisionGraph`` on Neo4j 5 at ``uri`` (``neo4j://`` or ``bolt://``)."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        *,
        database: str = "neo4j",
        max_retry_s: float = 15.0,
    ) -> None:
        self.url, self.database = uri, database
        # The driver connects lazily; managed transactions retry transient failures up to max_retry_s.
        self._driver = GraphDatabase.driver(
            uri, auth=(user, password), max_transaction_retry_time=max_retry_s
        )

    def _unavailable(self, exc: Exception) -> StorageUnavailable:
        return StorageUnavailable(
            what=f"Neo4j database {self.database!r} at {self.url}",
            reason=str(exc) or type(exc).__name__,
        )

    def _read(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(statement, params)]

        try:
            with self._driver.session(database=self.database) as session:
                return session.execute_read(work)
        except _DOWN as exc:
            raise self._unavailable(exc) from None

    def _write(self, statements: list[Statement]) -> None:
        def work(tx: ManagedTransaction) -> None:
            for statement, params in statements:
                tx.run(statement, params).consume()

        try:
            with self._driver.session(database=self.database) as session:
                session.execute_write(work)
        except _DOWN as exc:
            raise self._unavailable(exc) from None

    def _index(self, statement: str) -> None:
        try:
            with self._driver.session(database=self.database) as session:
                session.run(
                    statement
                ).consume()  # DDL cannot run inside execute_write's explicit tx in all versions
        except ClientError as exc:
            if "EquivalentSchemaRuleAlreadyExists" not in (
                exc.code or ""
            ) and "already exists" not in str(exc):
                raise
        except _DOWN as exc:
            raise self._unavailable(exc) from None

    def ping(self) -> bool:
        """True when the server answers; never raises."""
        try:
            self._driver.verify_connectivity()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable" here
            return False

    def close(self) -> None:
        self._driver.close()
