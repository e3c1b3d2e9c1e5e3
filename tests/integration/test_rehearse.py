"""`fleet cluster rehearse`: the rendered RayService serve config, deployed on a local head, runs a
story to DONE.

The real CLI in a subprocess: it renders and validates the manifests, starts a private
Redis+FalkorDB and Ray head (token auth on), PUTs the serveConfigV2 to the dashboard's Serve REST
API and nothing else — the gateway's start-up creates the orchestrator, which creates the council,
agents and bubblewrap sandbox supervisor — then runs the sample story (council roles on the
scripted model, per story) to DONE. The llm app really serves SmolLM2 through llama.cpp in place
of vLLM (no GPU here). ~2 minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.slow

# Every setting the rehearsal may replace; anything else must reach the head exactly as rendered.
LOCAL_ONLY = {
    "http_options.host",
    "http_options.port",
    "applications[gateway].args.redis_url",
    "applications[gateway].args.fleet.redis_url",
    "applications[gateway].args.fleet.data_dir",
    "applications[gateway].args.fleet.sandbox",
    "applications[gateway].args.fleet.llm_base_url",
    "applications[gateway].args.fleet.model",
    "applications[llm].args.model",
}


def _leaves(obj, path=""):
    # replaced whole: the sandbox, and llm_base_url (model -> URL, the local model added)
    if isinstance(obj, dict) and not path.endswith((".sandbox", ".llm_base_url")):
        for k, v in obj.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(obj, list) and path == "applications":
        for app in obj:
            yield from _leaves(app, f"applications[{app['name']}]")
    else:
        yield path, obj


def test_rendered_serve_config_runs_a_story_to_done(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "FLEET_PO_TOKEN")}
    env["RAY_AUTH_TOKEN_PATH"] = str(tmp_path / "ray_token")
    data = tmp_path / "data"
    argv = ["cluster", "rehearse", "--llm-model", "local-smollm2", "--data-dir", str(data)]
    done = subprocess.run(
        [sys.executable, "-m", "cluster.cli", *argv, "--timeout", "400"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "serve: gateway: RUNNING, llm: RUNNING" in out
    assert "story finished: done" in out and "rehearsal passed" in out
    assert "developer-1@scripted" in out  # the council ran in the agent actors the config made

    rendered = yaml.safe_load((data / "serve-config.rendered.yaml").read_text())
    local = yaml.safe_load((data / "serve-config.local.yaml").read_text())
    before, after = dict(_leaves(rendered)), dict(_leaves(local))
    assert before.keys() == after.keys()
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= LOCAL_ONLY, changed - LOCAL_ONLY
    assert after["applications[gateway].import_path"] == "serve_apps.gateway:build_app"
    assert after["applications[gateway].args.fleet.sandbox"] == {"backend": "bwrap"}
    # the private stack is gone: nothing listens on its gateway port any more
    port = local["http_options"]["port"]
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)",
        ],
        capture_output=True,
    )
    assert probe.returncode != 0
