"""A real Prometheus (Debian's ``prometheus``) scraping the Ray head of `fleet up` finds the fleet's
series, and every query of the Grafana dashboard runs on it.

`fleet up --model scripted` (no llm app: every role on the scripted model) on free ports, the
sample story through `fleet run` to DONE, then Prometheus scrapes the head's metrics port every
second. ~2 minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from fleet_stack import council_that_votes

from cluster.graphserver import free_port
from fleet.orchestrator.sample import SAMPLE_STORY

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "cluster" / "grafana" / "fleet-dashboard.json"
SERIES = (
    "ray_fleet_stories",
    "ray_fleet_story_transitions_total",
    "ray_fleet_stories_finished_total",
    "ray_fleet_story_parked_total",
    "ray_fleet_deliberation_rounds_bucket",
    "ray_fleet_deliberation_seconds_bucket",
    "ray_fleet_votes_total",
    "ray_fleet_model_tokens_total",
    "ray_fleet_sandbox_runs_total",
    "ray_fleet_gate_results_total",
)


def fleet(env: dict[str, str], *argv: str, timeout: float = 400) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "cluster.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """`fleet up --model scripted`, the sample story to DONE; yields the head's metrics address."""
    tmp = tmp_path_factory.mktemp("prom")
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "FLEET_PO_TOKEN")}
    env.update({"FLEET_DATA_DIR": str(tmp / "data"), "RAY_AUTH_TOKEN_PATH": str(tmp / "ray_token")})
    env["FLEET_CONFIG_DIR"] = council_that_votes(tmp)  # the votes series needs a vote
    for var in (
        "FLEET_REDIS_PORT",
        "FLEET_RAY_GCS_PORT",
        "FLEET_DASHBOARD_PORT",
        "FLEET_GATEWAY_PORT",
    ):
        env[var] = str(free_port())
    rc, out = fleet(env, "up", "--model", "scripted")
    try:
        assert rc == 0, out
        from cluster.cli.stories import sample_repo

        repo = str(sample_repo(str(tmp / "repo")))
        criteria = [a for c in SAMPLE_STORY["acceptance_criteria"] for a in ("--criteria", c)]
        rc, out = fleet(
            env,
            "run",
            "--repo",
            repo,
            "--title",
            SAMPLE_STORY["title"],
            "--description",
            SAMPLE_STORY["description"],
            *criteria,
            "--auto-approve",
            "--timeout",
            "300",
        )
        assert rc == 0 and "story finished: done" in out, out[-3000:]
        state = json.loads((Path(env["FLEET_DATA_DIR"]) / "ray" / "head.json").read_text())
        yield f"127.0.0.1:{state['metrics_port']}"
    finally:
        rc, out = fleet(env, "down")
        assert rc == 0, out


@pytest.fixture(scope="module")
def prom(head, tmp_path_factory):
    """A Prometheus server on a free loopback port scraping ``head`` every second."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: `make install` (system-deps) installs it"
    tmp = tmp_path_factory.mktemp("prometheus")
    conf = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "ray-head", "static_configs": [{"targets": [head]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(conf))
    port = free_port()
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def query(prom: str, expr: str) -> dict:
    url = f"{prom}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return dict(json.loads(resp.read()))


def wait_for(prom: str, expr: str, timeout_s: float = 120.0) -> list:
    deadline, result = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        try:
            result = query(prom, expr)["data"]["result"]
        except OSError:  # still starting
            result = []
        if result:
            return result
        time.sleep(2)
    return result


def test_prometheus_scrapes_the_fleet_series_from_the_ray_head(prom):
    done = wait_for(prom, 'ray_fleet_stories_finished_total{outcome="done"}')
    assert done and float(done[0]["value"][1]) >= 1
    names = {
        r["metric"]["__name__"] for r in query(prom, '{__name__=~"ray_fleet_.+"}')["data"]["result"]
    }
    assert set(SERIES) <= names, sorted(set(SERIES) - names)
    votes = query(prom, "sum by (role) (ray_fleet_votes_total)")["data"]["result"]
    assert {r["metric"]["role"] for r in votes} >= {"developer", "qa", "architect"}


def test_every_dashboard_query_runs_on_prometheus(prom):
    wait_for(prom, 'ray_fleet_stories_finished_total{outcome="done"}')
    time.sleep(5)  # a few more scrapes, so rates over the window have two points
    dash = json.loads(DASHBOARD.read_text())
    empty = []
    for panel in dash["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "5m")
            answer = query(prom, expr)
            assert answer["status"] == "success", (panel["title"], expr, answer)
            if not answer["data"]["result"]:
                empty.append(panel["title"])
    # Local models cost nothing, and the scripted model drafts no tokens: these are the panels a
    # scripted story leaves empty (the draft counters are checked on a real engine in
    # tests/serve/test_llm_llamacpp.py).
    drafts = {
        "Speculative tokens drafted / accepted per model",
        "Speculative draft acceptance per model",
    }
    assert set(empty) <= {"Model cost per role", *drafts}, empty
