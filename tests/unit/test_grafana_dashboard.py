"""The fleet's Grafana dashboard (cluster/grafana/fleet-dashboard.json) is a valid dashboard model
whose queries use only series the fleet exports.

Loaded with Grafana's own generated types (``grafana-foundation-sdk``); the series names are
derived from the metric definitions in actors/metrics.py and serve_apps/llm/llamacpp.py with the names Ray's exporter gives them
(``ray_`` prefix; ``_total`` for counters; ``_bucket/_sum/_count`` for histograms). That those
are the names a real scrape shows, and that every query runs, is checked against a real
Prometheus in tests/integration/test_prometheus.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import prometheus
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "cluster" / "grafana" / "fleet-dashboard.json"
# What a user must be able to see (the list), as words that must appear in panel titles.
TOPICS = (
    "state", "rounds", "duration", "votes", "tokens", "cost", "sandbox", "gate", "speculative"
)  # fmt: skip


# Where the fleet defines its metrics: the story/council/model/sandbox series, and the llama.cpp
# app's speculative-decoding counters.
SOURCES = (REPO / "actors" / "metrics.py", REPO / "serve_apps" / "llm" / "llamacpp.py")


def defined_metrics() -> dict[str, str]:
    """metric name -> kind (Counter, Gauge, Histogram) as the fleet's sources define them."""
    text = "\n".join(path.read_text() for path in SOURCES)
    pattern = r"\b(?:m|metrics)\.(Counter|Gauge|Histogram)\(\s*\"(fleet_\w+)\""
    return {n: k for k, n in re.findall(pattern, text)}


def exported_series() -> set[str]:
    out = set()
    for name, kind in defined_metrics().items():
        base = f"ray_{name}"
        if kind == "Counter":
            out.add(f"{base}_total")
        elif kind == "Gauge":
            out.add(base)
        else:
            out |= {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    return out


def targets(raw: dict) -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in raw["panels"] for t in p["targets"]]


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_loads_as_a_grafana_dashboard_model(raw):
    register_default_plugins()
    dash = Dashboard.from_json(raw)
    assert dash.title == "SWE AI Fleet" and dash.uid == "swe-fleet"
    assert len(dash.panels) == len(raw["panels"]) >= 8
    for panel in dash.panels:
        assert isinstance(panel, Panel) and panel.targets, panel.title
        for target in panel.targets:
            assert isinstance(target, prometheus.Dataquery) and target.expr, panel.title
    assert [v.type_val for v in dash.templating.list_val] == ["datasource"]
    # round trip through the model's own encoder: the queries survive unchanged
    again = json.loads(json.dumps(dash, cls=JSONEncoder))
    assert targets(again) == targets(raw)


def test_layout_is_a_grid_without_overlaps(raw):
    cells = set()
    ids = [p["id"] for p in raw["panels"]]
    assert len(ids) == len(set(ids))
    for p in raw["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, p["title"]
        cells |= mine
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_queries_use_only_exported_series_and_cover_every_metric(raw):
    known = exported_series()
    used = {s for _, expr in targets(raw) for s in re.findall(r"\bray_fleet_\w+", expr)}
    assert used <= known, used - known
    for name in defined_metrics():  # every fleet metric is on the dashboard
        assert any(s.startswith(f"ray_{name}") for s in used), name


def test_every_topic_has_a_panel(raw):
    titles = " ".join(p["title"].lower() for p in raw["panels"])
    assert [t for t in TOPICS if t not in titles] == []
