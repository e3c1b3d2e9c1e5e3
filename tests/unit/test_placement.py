"""The builder's soft placement (actors/builder.py): which node an actor prefers, from the nodes
Ray reports. The real thing - a second Ray node, killed mid-story - is
tests/integration/test_faults_node.py; this pins the choice itself."""

from __future__ import annotations

import pytest

from actors import builder


def hexid(name: str) -> str:
    return name.encode().hex().ljust(56, "0")  # Ray checks that a node id is 28 bytes of hex


def node(node_id: str, alive: bool = True, **resources: float) -> dict:
    return {"NodeID": hexid(node_id), "Alive": alive, "Resources": {"CPU": 2.0, **resources}}


@pytest.fixture
def nodes(monkeypatch):
    found: list[dict] = []
    monkeypatch.setattr(builder.ray, "nodes", lambda: found)
    monkeypatch.setenv(builder.PLACEMENT_ENV, "fleet_worker")
    return found


def test_no_preference_without_the_variable(monkeypatch):
    monkeypatch.delenv(builder.PLACEMENT_ENV, raising=False)
    assert builder.placement("orchestrator") == {}


def test_prefers_a_live_node_with_the_resource_softly_and_passes_the_variable_on(nodes):
    nodes += [node("head"), node("dead", alive=False, fleet_worker=4), node("w1", fleet_worker=4)]
    got = builder.placement("council-fleet")
    strategy = got["scheduling_strategy"]
    assert (strategy.node_id, strategy.soft) == (hexid("w1"), True)
    assert got["runtime_env"] == {"env_vars": {builder.PLACEMENT_ENV: "fleet_worker"}}
    assert got["memory"] == builder.TOKEN_MEMORY  # a non-empty request: the affinity sticks


def test_spreads_actors_over_the_workers_by_name(nodes):
    nodes += [node(f"w{i}", fleet_worker=4) for i in range(3)]
    chosen = {
        builder.placement(f"agent-developer-{i}")["scheduling_strategy"].node_id for i in range(12)
    }
    assert len(chosen) > 1
    again = builder.placement("agent-developer-1")["scheduling_strategy"].node_id
    assert again == builder.placement("agent-developer-1")["scheduling_strategy"].node_id


def test_anywhere_when_no_such_node_is_alive(nodes):
    nodes += [node("head"), node("gone", alive=False, fleet_worker=4)]
    got = builder.placement("orchestrator")
    assert "scheduling_strategy" not in got and "memory" not in got
    assert got["runtime_env"]["env_vars"][builder.PLACEMENT_ENV] == "fleet_worker"
