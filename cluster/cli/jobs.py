"""``fleet submit BACKLOG.yaml`` and ``fleet jobs``: a backlog of stories as a Ray job.

The job (``python -m cluster.backlog_job``) runs on the cluster, submits each story
through the gateway, follows them concurrently, prints each outcome and exits 0 only
when every story is DONE. ``JobSubmissionClient`` talks to the dashboard with the Ray
auth token (``~/.ray/auth_token``).

BACKLOG.yaml::

    auto_approve: true          # approve the PO gates (default false)
    stories:
      - title: Add a divide operation to the calc package
        description: As a user ... so that ...
        acceptance_criteria: ["divide(6, 3) returns 2.0"]
        repo: /path/to/repo     # git URL or local path
        branch: main
        rigor: L1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from fleet.config import fleet_config
from fleet.errors import ConfigError
from fleet.settings import env_name


def job_client() -> Any:
    from ray.job_submission import JobSubmissionClient

    from cluster.rayhead import auth_token

    cfg = fleet_config()
    token = auth_token()
    url = f"http://{cfg.ray.dashboard.host}:{cfg.ray.dashboard.port}"
    return JobSubmissionClient(url, headers={"Authorization": f"Bearer {token}"} if token else None)


def load_backlog(path: str, *, resolve_paths: bool = True) -> dict[str, Any]:
    """Read and minimally validate a backlog file (clear errors, never a traceback).

    ``resolve_paths``: make a local ``repo`` path absolute (off when the file is only rendered
    for a cluster, where the path names a place in the image)."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(file=path, key="", problem=f"cannot read: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("stories"), list) or not raw["stories"]:
        raise ConfigError(file=path, key="stories", problem="expected a non-empty list of stories")
    for i, story in enumerate(raw["stories"]):
        if not isinstance(story, dict) or not story.get("title"):
            raise ConfigError(
                file=path, key=f"stories[{i}].title", problem="every story needs a title"
            )
        if resolve_paths and story.get("repo") and "://" not in story["repo"]:
            story["repo"] = str(Path(story["repo"]).expanduser().resolve())
    return raw


def _submit(args: argparse.Namespace) -> int:
    from cluster.fleet_apps import gateway_url

    backlog = load_backlog(args.backlog)
    cfg = fleet_config()
    client = job_client()
    # Where the job finds the gateway and the po token file (never the token itself: job
    # metadata and env are visible on the dashboard).
    env = {
        env_name("backlog"): json.dumps(backlog),
        env_name("data_dir"): cfg.data_dir,
        env_name("gateway_url"): args.url or gateway_url(cfg),
    }
    job_id = client.submit_job(
        entrypoint=f"{sys.executable} -m cluster.backlog_job",
        runtime_env={"env_vars": env},
        metadata={"kind": "fleet-backlog", "stories": str(len(backlog["stories"]))},
    )
    print(f"submitted job {job_id} ({len(backlog['stories'])} stories)", flush=True)
    if args.no_wait:
        return 0
    deadline = time.monotonic() + args.timeout
    status = client.get_job_status(job_id)
    while str(status) not in ("SUCCEEDED", "FAILED", "STOPPED") and time.monotonic() < deadline:
        time.sleep(2.0)
        status = client.get_job_status(job_id)
    print(client.get_job_logs(job_id))
    print(f"job {job_id}: {status}")
    return 0 if str(status) == "SUCCEEDED" else 1


def _jobs(args: argparse.Namespace) -> int:
    jobs = job_client().list_jobs()
    for job in sorted(jobs, key=lambda j: j.start_time or 0):
        meta = job.metadata or {}
        print(
            f"{job.submission_id or job.job_id:<28} {str(job.status):<10} "
            f"{meta.get('kind', '-'):<14} stories={meta.get('stories', '-')}"
        )
    if not jobs:
        print("no jobs")
    return 0


def register_jobs(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("submit", help="run a backlog of stories as a Ray job")
    p.add_argument("backlog", help="BACKLOG.yaml")
    p.add_argument("--no-wait", action="store_true", help="return once the job is submitted")
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--url", help="gateway URL the job uses (default from fleet.yaml)")
    p.set_defaults(func=_submit)
    p = subparsers.add_parser("jobs", help="list Ray jobs on the local cluster")
    p.set_defaults(func=_jobs)
