"""The Ray head that `fleet up` starts keeps token auth on: its dashboard (which also takes
Ray Job submissions, i.e. runs arbitrary code) refuses requests without the token, with a
forged token, and with the token in the query string; the token file is private."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cluster.graphserver import free_port

pytestmark = pytest.mark.slow  # one Ray head start (~20 s)

PATHS = ("/api/jobs/", "/nodes?view=summary", "/api/cluster_status")


def fleet(env: dict[str, str], *argv: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "cluster.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """`fleet up --no-apps` on free ports with a private data dir and token file."""
    tmp = tmp_path_factory.mktemp("dash")
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    env.update({"FLEET_DATA_DIR": str(tmp / "data"), "RAY_AUTH_TOKEN_PATH": str(tmp / "ray_token")})
    for var in ("FLEET_REDIS_PORT", "FLEET_RAY_GCS_PORT", "FLEET_DASHBOARD_PORT"):
        env[var] = str(free_port())
    rc, out = fleet(env, "up", "--no-apps")
    try:
        assert rc == 0, out
        yield f"http://127.0.0.1:{env['FLEET_DASHBOARD_PORT']}", Path(env["RAY_AUTH_TOKEN_PATH"])
    finally:
        rc, out = fleet(env, "down")
        assert rc == 0, out


def test_dashboard_refuses_requests_without_the_token(head):
    base, token_path = head
    assert token_path.stat().st_mode & 0o077 == 0  # only the owner can read the token
    token = token_path.read_text().strip()
    with httpx.Client(timeout=30) as c:
        for path in PATHS:
            assert c.get(base + path).status_code == 401, path
            assert c.get(
                base + path, headers={"Authorization": f"Bearer {token}x"}
            ).status_code in (401, 403), path
            assert c.get(base + path, params={"token": token}).status_code == 401, path
            ok = c.get(base + path, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200, (path, ok.status_code, ok.text[:300])  # the control
        # submitting a job (arbitrary code on the cluster) without the token is refused, nothing runs
        r = c.post(base + "/api/jobs/", json={"entrypoint": "touch /tmp/pwned-by-dashboard"})
        assert r.status_code == 401
        assert token not in r.text
