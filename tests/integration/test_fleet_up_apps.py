"""`fleet up` with the Serve apps, then `fleet run`, `fleet submit`/`jobs`, the metrics endpoint, `fleet down`.

Everything through the real CLI in separate processes (each a Ray driver of its own, as a
user's shell would be) against a private stack on free ports: Redis+FalkorDB, a Ray head
with its dashboard and token auth, the gateway at "/" and the llama.cpp model app at "/llm".
The stories route every role to the scripted model per story (`--model ROLE=MODEL`), so
every other part is real (council and agent actors, bubblewrap sandbox, workspace runner,
rigor gate, graph projection). One head start, ~3 minutes in all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from fleet_stack import council_that_votes

from cluster.graphserver import free_port
from fleet.orchestrator.sample import SAMPLE_STORY

pytestmark = pytest.mark.slow

SCRIPTED = ("developer=scripted", "qa=scripted", "architect=scripted")
METRICS = (
    "fleet_story_transitions",
    "fleet_stories_finished",
    "fleet_stories",
    "fleet_deliberation_rounds",
    "fleet_deliberation_seconds",
    "fleet_votes",
    "fleet_sandbox_runs",
    "fleet_gate_results",
    "fleet_story_parked",
    "fleet_model_tokens",
)  # model.usage events: every model call goes through the ledger


def fleet(env: dict[str, str], *argv: str, timeout: float = 300) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "cluster.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """`fleet up` (default models: the llm app is deployed) on free ports; `fleet down` at the end."""
    tmp = tmp_path_factory.mktemp("fleetup")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "FLEET_PO_TOKEN", "FLEET_VIEWER_TOKEN")
    }
    env.update({"FLEET_DATA_DIR": str(tmp / "data"), "RAY_AUTH_TOKEN_PATH": str(tmp / "ray_token")})
    env["FLEET_CONFIG_DIR"] = council_that_votes(tmp)  # fleet_votes needs a vote
    for var in (
        "FLEET_REDIS_PORT",
        "FLEET_RAY_GCS_PORT",
        "FLEET_DASHBOARD_PORT",
        "FLEET_GATEWAY_PORT",
    ):
        env[var] = str(free_port())
    rc, out = fleet(env, "up")
    try:
        assert rc == 0, out
        assert "started: redis+falkordb, ray head, serve apps" in out
        from cluster.cli.stories import sample_repo

        yield {
            "env": env,
            "data": Path(env["FLEET_DATA_DIR"]),
            "repo": str(sample_repo(str(tmp / "repo"))),
            "api": f"http://127.0.0.1:{env['FLEET_GATEWAY_PORT']}",
        }
    finally:
        rc, out = fleet(env, "down")
        assert rc == 0 and "stopped: serve apps, ray head, redis+falkordb" in out, out
        assert not (Path(env["FLEET_DATA_DIR"]) / "apps.json").exists()


def test_up_deploys_gateway_and_llm_and_status_reports_them(stack):
    env = stack["env"]
    rc, out = fleet(env, "status")
    assert rc == 0, out
    assert "serve apps: running" in out and f"api: {stack['api']}" in out
    assert "check gateway GET /healthz: ok" in out and "check llm GET /v1/models: ok" in out
    with urllib.request.urlopen(f"{stack['api']}/llm/v1/models", timeout=10) as resp:
        served = [m["id"] for m in json.loads(resp.read())["data"]]
    # one app serves every llama.cpp model the routing names: the developers' 1.5B and the 0.5B
    assert served == ["local-qwen-coder", "local-qwen-1.5b"], served
    assert "served: local-qwen-coder, local-qwen-1.5b" in out, out
    rc, out = fleet(env, "up")  # idempotent: everything reused, nothing redeployed
    assert rc == 0 and "already running (reused): redis+falkordb, ray head, serve apps" in out, out
    rc, out = fleet(env, "up", "--model", "gpt-9")
    assert rc == 2 and "unknown model 'gpt-9'" in out and "Traceback" not in out


def test_run_with_per_story_models_reaches_done(stack):
    env, story = stack["env"], SAMPLE_STORY
    args = [
        "run",
        "--repo",
        stack["repo"],
        "--title",
        story["title"],
        "--description",
        story["description"],
        *[a for c in story["acceptance_criteria"] for a in ("--criteria", c)],
        "--auto-approve",
        "--timeout",
        "240",
        *[a for m in SCRIPTED for a in ("--model", m)],
    ]
    rc, out = fleet(env, *args)
    assert rc == 0, out[-3000:]
    assert "story finished: done" in out and "developer-1@scripted" in out  # the overridden council
    rc, out = fleet(env, *args[:-6], "--model", "po=scripted")
    assert rc == 2 and "is a person" in out
    rc, out = fleet(env, *args[:-6], "--model", "developer=gpt-9")
    assert rc == 2 and "unknown model 'gpt-9'" in out and "valid: " in out


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


def test_fleet_metrics_reach_the_ray_metrics_endpoint(stack):
    """The orchestrator's ray.util.metrics, exported by Ray with its ``ray_`` prefix."""
    head = json.loads((stack["data"] / "ray" / "head.json").read_text())
    url = f"http://127.0.0.1:{head['metrics_port']}/metrics"
    deadline, text = time.monotonic() + 90, ""
    while time.monotonic() < deadline:  # Ray exports application metrics every few seconds
        text = _scrape(url)
        if all(m in text for m in METRICS):
            break
        time.sleep(3)
    missing = [m for m in METRICS if m not in text]
    seen = sorted(
        {line.split("{")[0] for line in text.splitlines() if "fleet_" in line and line[:1] != "#"}
    )
    assert not missing, f"not on {url}: {missing} (fleet series there: {seen})"
    done = [
        line
        for line in text.splitlines()
        if "fleet_stories_finished" in line
        and 'outcome="done"' in line
        and not line.startswith("#")
    ]
    assert done and float(done[0].rsplit(" ", 1)[1]) >= 1


def test_submit_backlog_as_ray_job_and_list_jobs(stack, tmp_path):
    backlog = {
        "auto_approve": True,
        "stories": [
            {**SAMPLE_STORY, "repo": stack["repo"], "models": dict(m.split("=") for m in SCRIPTED)}
        ],
    }
    path = tmp_path / "BACKLOG.yaml"
    path.write_text(yaml.safe_dump(backlog))
    rc, out = fleet(stack["env"], "submit", str(path), "--timeout", "300", timeout=360)
    assert rc == 0, out[-3000:]
    assert "1/1 stories DONE" in out and "SUCCEEDED" in out
    job_id = out.split("submitted job ", 1)[1].split()[0]
    rc, out = fleet(stack["env"], "jobs")
    assert rc == 0 and job_id in out
    assert next(line for line in out.splitlines() if job_id in line).split()[1] == "SUCCEEDED"
