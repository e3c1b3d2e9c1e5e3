"""What can be checked of the Neo4j adapter without a Neo4j server (none installs here).

These are NOT a substitute for a live Neo4j test: they only show that an unreachable
Neo4j is a typed error naming the URL, never a driver stack trace.
"""

from __future__ import annotations

import pytest

from cluster.graphserver import free_port
from fleet.adapters.neo4j_graph import Neo4jDecisionGraph
from fleet.errors import StorageUnavailable
from fleet.testing.fakes import FakeClock
from fleet.testing.sample_timeline import sample_story


def test_unreachable_neo4j_is_storage_unavailable_naming_the_url():
    uri = f"bolt://127.0.0.1:{free_port()}"
    g = Neo4jDecisionGraph(uri, "neo4j", "secret", max_retry_s=0.5)
    try:
        for call in (
            lambda: g.decisions("s1"),
            lambda: g.project_many(sample_story("s1", clock=FakeClock())),
            g.ensure_schema,
        ):
            with pytest.raises(StorageUnavailable) as err:
                call()
            assert uri in str(err.value) and "Neo4j" in str(err.value)
        assert g.ping() is False
    finally:
        g.close()
