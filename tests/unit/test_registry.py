"""The adapter registry: the one place adapters are built, selected by name from config.

No Neo4j server can be installed on this machine (not on PyPI, apt or npm), so "every component
uses the Neo4j adapter" is shown up to the driver: each component builds a
``Neo4jDecisionGraph`` pointed at the configured URI (the driver connects lazily); the adapter's
behaviour against an unreachable server is in tests/integration/test_memory_neo4j.py.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import yaml

from cluster.graphserver import free_port
from fleet.adapters import registry
from fleet.config import GraphConfig, SandboxConfig
from fleet.errors import ConfigError, UnknownName

REPO = Path(__file__).resolve().parents[2]
ADAPTER_CLASSES = {
    "FalkorDecisionGraph",
    "Neo4jDecisionGraph",
    "BwrapSandbox",
    "K8sJobSandbox",
    "RedisEventLog",
    "OpenAIChatModel",
    "ScriptedChatModel",
}


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(UnknownName) as err:
        registry.implementation("graph", "dgraph")
    assert "unknown graph backend 'dgraph'" in str(err.value)
    assert "falkordb" in str(err.value) and "neo4j" in str(err.value)
    with pytest.raises(UnknownName, match="bwrap, k8s_job"):
        registry.implementation("sandbox", "docker")
    with pytest.raises(UnknownName, match="adapter kind"):
        registry.implementation("queue", "kafka")


def test_every_registered_implementation_imports():
    for kind, table in registry.IMPLEMENTATIONS.items():
        for name in table:
            assert callable(registry.implementation(kind, name)), (kind, name)


def test_config_schema_names_exactly_the_registered_backends():
    graph = GraphConfig.model_fields["backend"].annotation.__args__  # type: ignore[union-attr]
    sandbox = SandboxConfig.model_fields["backend"].annotation.__args__  # type: ignore[union-attr]
    assert set(graph) == set(registry.IMPLEMENTATIONS["graph"])
    assert set(sandbox) == set(registry.IMPLEMENTATIONS["sandbox"])


@pytest.fixture
def neo4j_config(tmp_path, monkeypatch):
    """A config dir whose fleet.yaml says ``graph.backend: neo4j`` (nothing listens there)."""
    conf = tmp_path / "config"
    shutil.copytree(REPO / "config", conf)
    fleet = yaml.safe_load((conf / "fleet.yaml").read_text())
    uri = f"bolt://127.0.0.1:{free_port()}"
    fleet["graph"] = {"backend": "neo4j", "name": "neo4j", "neo4j_uri": uri}
    (conf / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    monkeypatch.setenv("FLEET_CONFIG_DIR", str(conf))
    monkeypatch.setenv("NEO4J_USER", "neo4j")
    monkeypatch.setenv("NEO4J_PASSWORD", "not-a-real-password")
    return uri


def test_graph_backend_neo4j_makes_every_component_use_neo4j(neo4j_config):
    from actors.context import ContextService
    from actors.settings import OrchestratorSettings
    from actors.wiring import decision_graph
    from fleet.adapters.neo4j_graph import Neo4jDecisionGraph
    from serve_apps.gateway.app import GatewayArgs, stores

    url = "redis://127.0.0.1:1/0"
    graphs = {
        "orchestrator (default settings)": decision_graph(OrchestratorSettings(redis_url=url)),
        # a test's graph name keeps fleet.yaml's backend
        "orchestrator (graph name)": decision_graph(
            OrchestratorSettings(redis_url=url, graph="g2")
        ),
        "gateway": stores(GatewayArgs(), url)[1],
        "memory cli": registry.decision_graph(registry.graph_config(), redis_url=url),
    }
    ctx = ContextService(url, graph="fleet")
    ctx.start()
    graphs["context service"] = ctx._engine.graph
    for who, graph in graphs.items():
        assert isinstance(graph, Neo4jDecisionGraph), who
        assert graph.url == neo4j_config, who
        assert graph.ping() is False  # the real driver, really trying that URI
        graph.close()
    assert graphs["orchestrator (graph name)"].database == "g2"


def test_neo4j_needs_uri_and_credentials_from_the_environment():
    cfg = GraphConfig(backend="neo4j", name="neo4j", neo4j_uri=None)
    with pytest.raises(ConfigError, match="needs a neo4j_uri"):
        registry.decision_graph(cfg, redis_url="redis://x", env={})
    cfg = GraphConfig(backend="neo4j", neo4j_uri="bolt://127.0.0.1:1")
    with pytest.raises(ConfigError, match="NEO4J_PASSWORD is not set"):
        registry.decision_graph(cfg, redis_url="redis://x", env={"NEO4J_USER": "u"})


def test_default_config_builds_falkordb_and_bwrap():
    from fleet.adapters.bwrap_sandbox import BwrapSandbox
    from fleet.adapters.falkordb_graph import FalkorDecisionGraph

    graph = registry.decision_graph("fleet", redis_url="redis://127.0.0.1:1/0")
    assert isinstance(graph, FalkorDecisionGraph)
    assert isinstance(registry.sandbox(None, use_cgroups=False, prewarm=0), BwrapSandbox)


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {a.name for a in node.names}
    return names


def test_no_component_imports_an_adapter_class():
    """Only the registry (and an adapter's own module) names adapter classes in imports."""
    allowed = {"fleet/adapters/registry.py", "fleet/testing/fakes.py"}
    offenders = {}
    for top in ("fleet", "actors", "serve_apps", "cluster"):
        for path in (REPO / top).rglob("*.py"):
            rel = str(path.relative_to(REPO))
            if rel in allowed:
                continue
            found = _imported_names(path) & ADAPTER_CLASSES
            if found:
                offenders[rel] = sorted(found)
    assert not offenders, offenders


def test_no_import_cycle_between_story_services_and_wiring():
    services = _imported_modules(REPO / "actors" / "story_services.py")
    assert "actors.wiring" not in services
    assert "actors.story_services" in _imported_modules(REPO / "actors" / "wiring.py")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module)
        elif isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
    return mods
