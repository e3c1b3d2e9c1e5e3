"""Portable Cypher shared by the FalkorDB and Neo4j adapters.

Only the subset both engines run: MERGE by id, ``SET n += map``, UNWIND, OPTIONAL
MATCH, ``properties()``; no ``datetime()`` (timestamps are epoch ms), no
``EXISTS {}``, no ``IF NOT EXISTS`` DDL (each adapter ignores "already indexed").
Labels and relationship types come only from ``fleet.memory.graph_ops``'s fixed
vocabulary, never from input, because Cypher cannot parameterise them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fleet.contracts import FleetEvent
from fleet.errors import NotFound
from fleet.memory.graph_ops import LABELS, RELS, EdgeOp, NodeOp, Op, SupersedeOp, ops_for_all
from fleet.memory.graph_read import assemble, group_decisions

Statement = tuple[str, dict[str, Any]]

INDEXES: tuple[str, ...] = tuple(f"CREATE INDEX FOR (n:{label}) ON (n.id)" for label in LABELS) + (
    "CREATE INDEX FOR (n:Decision) ON (n.task_id)",
)

UPSERT_NODES = "UNWIND $rows AS r MERGE (n:{label} {{id: r.id}}) SET n += r.props"
UPSERT_EDGES = (
    "UNWIND $rows AS r MATCH (a:{src} {{id: r.a}}) MATCH (b:{dst} {{id: r.b}}) "
    "MERGE (a)-[e:{rel}]->(b) SET e += r.props"
)
# A decision supersedes the previous one on the same task: link each to its immediate
# predecessor (and successor, for out-of-order projection); (at_ms, id) orders ties.
_OLDER = "(o.at_ms < d.at_ms OR (o.at_ms = d.at_ms AND o.id < d.id))"
SUPERSEDE_OLDER = (
    "UNWIND $rows AS r MATCH (d:Decision {id: r.id}) MATCH (o:Decision {task_id: r.task}) "
    f"WHERE {_OLDER} WITH d, o ORDER BY o.at_ms, o.id WITH d, collect(o) AS olds "
    "WITH d, olds[size(olds) - 1] AS o MERGE (d)-[:SUPERSEDES]->(o)"
)
SUPERSEDE_NEWER = (
    "UNWIND $rows AS r MATCH (o:Decision {id: r.id}) MATCH (d:Decision {task_id: r.task}) "
    f"WHERE {_OLDER} WITH o, d ORDER BY d.at_ms, d.id WITH o, collect(d) AS news "
    "WITH o, news[0] AS d MERGE (d)-[:SUPERSEDES]->(o)"
)

STORY = "MATCH (s:Story {id: $sid}) RETURN properties(s) AS s"
STORY_NODES = (
    "MATCH (s:Story {id: $sid})-[r]->(n) "
    "RETURN type(r) AS rel, labels(n) AS labels, properties(n) AS n"
)
DEPENDS = "MATCH (s:Story {id: $sid})-[:HAS_TASK]->(t:Task)-[:DEPENDS_ON]->(d:Task) RETURN t.id AS task, d.id AS dep"
DECISIONS = (
    "MATCH (s:Story {id: $sid})-[:HAS_DECISION]->(d:Decision) "
    "OPTIONAL MATCH (d)-[r:REJECTED]->(p:Proposal) "
    "RETURN properties(d) AS d, p.id AS alt, p.author AS alt_author, p.content AS alt_content, "
    "r.summary AS summary, r.why_rejected AS why_rejected"
)
SUPERSEDED = (
    "MATCH (s:Story {id: $sid})-[:HAS_DECISION]->(d:Decision)<-[:SUPERSEDES]-(n:Decision) "
    "RETURN d.id AS old, n.id AS new"
)
DELIB_PARTS = (
    "MATCH (s:Story {id: $sid})-[:HAS_DELIBERATION]->(d:Deliberation)-[r]->(x) "
    "WHERE type(r) IN ['HAS_PROPOSAL', 'HAS_CRITIQUE', 'HAS_BALLOT', 'HAS_ROUND'] "
    "RETURN d.id AS did, type(r) AS rel, properties(x) AS x"
)
ALL_NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"
ALL_EDGES = "MATCH (a)-[e]->(b) RETURN a.id AS a, type(e) AS rel, properties(e) AS props, b.id AS b"
CLEAR = "MATCH (n) DETACH DELETE n"


def _check(name: str, allowed: tuple[str, ...]) -> str:
    if name not in allowed:
        raise ValueError(
            f"{name!r} is not in the graph vocabulary"
        )  # a programming error, never input
    return name


def compile_ops(ops: Iterable[Op]) -> list[Statement]:
    """Group ops into a few UNWIND statements: nodes (incl. edge endpoints), then edges.

    Rows are de-duplicated in Python (later props win, as sequential writes would), so no
    statement relies on MERGE seeing its own earlier rows.
    """
    nodes: dict[tuple[str, str], dict[str, Any]] = {}
    edges: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    supersede: dict[str, str] = {}
    for op in ops:
        if isinstance(op, NodeOp):
            nodes.setdefault((op.label, op.id), {}).update(op.props)
        elif isinstance(op, EdgeOp):
            nodes.setdefault((op.src_label, op.src_id), {})
            nodes.setdefault((op.dst_label, op.dst_id), {})
            edges.setdefault((op.rel, op.src_label, op.src_id, op.dst_label, op.dst_id), {}).update(
                op.props
            )
        elif isinstance(op, SupersedeOp):
            supersede[op.decision_id] = op.task_id
    by_label: dict[str, list[dict[str, Any]]] = {}
    for (label, nid), props in nodes.items():
        by_label.setdefault(label, []).append({"id": nid, "props": props})
    by_rel: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for (rel, sl, sid, dl, did), props in edges.items():
        by_rel.setdefault((rel, sl, dl), []).append({"a": sid, "b": did, "props": props})
    out: list[Statement] = [
        (UPSERT_NODES.format(label=_check(label, LABELS)), {"rows": rows})
        for label, rows in by_label.items()
    ]
    out += [
        (
            UPSERT_EDGES.format(
                rel=_check(rel, RELS), src=_check(s, LABELS), dst=_check(d, LABELS)
            ),
            {"rows": rows},
        )
        for (rel, s, d), rows in by_rel.items()
    ]
    if supersede:
        rows = [{"id": k, "task": v} for k, v in supersede.items()]
        out += [(SUPERSEDE_OLDER, {"rows": rows}), (SUPERSEDE_NEWER, {"rows": rows})]
    return out


class CypherDecisionGraph:
    """The ``DecisionGraph`` logic over any engine that runs the statements above.

    Subclasses supply ``_read`` (one statement -> list of row dicts), ``_write`` (a batch of
    statements, as atomically as the engine allows) and ``_index`` (DDL, "already exists" ignored).
    """

    def _read(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _write(self, statements: list[Statement]) -> None:
        raise NotImplementedError

    def _index(self, statement: str) -> None:
        raise NotImplementedError

    def ensure_schema(self) -> None:
        """Create the id indexes (safe to call repeatedly)."""
        for statement in INDEXES:
            self._index(statement)

    def project(self, event: FleetEvent) -> None:
        """Mirror one event into the graph (idempotent MERGEs)."""
        self.project_many([event])

    def project_many(self, events: Iterable[FleetEvent]) -> int:
        """Mirror a batch of events with a handful of grouped statements; returns how many."""
        events = list(events)
        statements = compile_ops(ops_for_all(events))
        if statements:
            self._write(statements)
        return len(events)

    def decisions(self, story_id: str) -> list[dict[str, Any]]:
        """Who decided what, when, why, and which alternatives were rejected (oldest first)."""
        params = {"sid": story_id}
        return group_decisions(self._read(DECISIONS, params), self._read(SUPERSEDED, params))

    def deliberations(self, story_id: str) -> list[dict[str, Any]]:
        """Each deliberation with proposals (and votes), critiques, ballots and rounds."""
        found: list[dict[str, Any]] = self.story_graph(story_id)["deliberations"]
        return found

    def story_graph(self, story_id: str) -> dict[str, Any]:
        """The story's whole subgraph as nested dicts.

        Raises:
            NotFound: no Story node with this id.
        """
        params = {"sid": story_id}
        found = self._read(STORY, params)
        if not found:
            raise NotFound(what="story", id=story_id)
        return assemble(
            dict(found[0]["s"]),
            self._read(STORY_NODES, params),
            self._read(DEPENDS, params),
            self.decisions(story_id),
            self._read(DELIB_PARTS, params),
        )

    def dump(self) -> dict[str, list[Any]]:
        """Every node and edge, sorted: equal dumps mean identical graphs (used by tests)."""
        nodes = sorted(
            (sorted(r["labels"]), sorted(dict(r["props"]).items()))
            for r in self._read(ALL_NODES, {})
        )
        edges = sorted(
            (r["a"], r["rel"], r["b"], sorted(dict(r["props"]).items()))
            for r in self._read(ALL_EDGES, {})
        )
        return {"nodes": [repr(n) for n in nodes], "edges": [repr(e) for e in edges]}

    def clear(self) -> None:
        """Delete every node and edge (tests and `fleet` maintenance only)."""
        self._write([(CLEAR, {})])
