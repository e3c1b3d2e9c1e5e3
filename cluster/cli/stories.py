"""``fleet run | stories | show | approve | demo | submit | jobs``: stories from the command line.

All of them talk to the gateway (``http://<gateway.host>:<gateway.port>``, or ``--url``)
with the po token from the ``po_token`` setting or ``<data_dir>/tokens.json`` (``--token``).
Exit codes of ``run`` and ``demo``: see :mod:`cluster.cli.gateway_client`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from cluster.cli.gateway_client import Client, follow
from cluster.cli.outcome import finish as _finish
from cluster.cli.quiet import foreign_logs_to
from cluster.cli.submit import submit_once
from fleet.adapters import git_host
from fleet.config import fleet_config, installed_data, load, load_all
from fleet.errors import UserError
from fleet.orchestrator.routing import check_overrides, parse_pairs
from fleet.settings import env_name

_CHECKOUT_SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sample_repo"
# in a checkout the fixture itself; after `pip install .` its copy (pyproject data-files)
SAMPLE_REPO = _CHECKOUT_SAMPLE if _CHECKOUT_SAMPLE.is_dir() else installed_data("sample_repo")


def _client(args: argparse.Namespace) -> Client:
    from cluster.fleet_apps import gateway_url
    from serve_apps.gateway.tokens import read_tokens

    cfg = fleet_config()
    token = getattr(args, "token", None) or read_tokens(cfg.data_dir).get("po")
    return Client(getattr(args, "url", None) or gateway_url(cfg), token)


def _story_body(args: argparse.Namespace) -> dict[str, Any]:
    repo = args.repo
    if repo and "://" not in repo and not repo.startswith("git@"):
        repo = str(Path(repo).expanduser().resolve())
    body = {
        "title": args.title,
        "description": args.description,
        "acceptance_criteria": args.criteria or [],
        "rigor": args.rigor,
        "repo": repo,
        "branch": args.branch,
    }
    if getattr(args, "push", None):
        body["push"] = args.push
    if getattr(args, "work_kind", None):
        body["work_kind"] = args.work_kind
    models = parse_pairs(getattr(args, "model", None))
    if models:  # checked here too, so a typo fails before anything is submitted
        body["models"] = check_overrides(models, load("models.yaml"), load("roles.yaml"))
    return body


def _run(args: argparse.Namespace) -> int:
    client = _client(args)
    started = time.monotonic()
    story = submit_once(
        client, _story_body(args), wait_s=min(args.submit_wait, args.timeout), out=sys.stdout
    )
    print(f"submitted {story['id']} to {client.base_url}", flush=True)
    story = follow(
        client, story["id"], auto_approve=args.auto_approve, timeout_s=args.timeout, out=sys.stdout
    )
    return _finish(client, story, started, timeout_s=args.timeout)


def _follow(args: argparse.Namespace) -> int:
    client = _client(args)
    started = time.monotonic()
    story = follow(
        client, args.id, auto_approve=args.auto_approve, timeout_s=args.timeout, out=sys.stdout
    )
    return _finish(client, story, started, timeout_s=args.timeout)


def _stories(args: argparse.Namespace) -> int:
    listed = _client(args).call(
        "GET", "/stories", params={"state": args.state} if args.state else None
    )
    for s in listed["stories"]:
        parked = f" parked at {s['parked']['gate']}" if s.get("parked") else ""
        print(f"{s['id']:<28} {s['state']:<8} {s.get('outcome') or '':<6}{parked}  {s['title']}")
    if not listed["stories"]:
        print("no stories")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(json.dumps(_client(args).call("GET", f"/stories/{args.id}"), indent=2))
    return 0


def _diff(args: argparse.Namespace) -> int:
    out = _client(args).call("GET", f"/stories/{args.id}/diff", params={"format": "json"})
    where = "delivered" if out.get("delivered") else "committed, not delivered yet"
    print(f"# {where}: branch {out.get('branch')} in {out.get('repo')} at {out.get('commit')}")
    if out.get("patch_file"):
        print(f"# patch file: {out['patch_file']}")
    sys.stdout.write(out.get("diff") or "")
    if out.get("truncated"):
        print(f"# (diff truncated; the whole change is in {out.get('patch_file')})")
    return 0


def _approve(args: argparse.Namespace) -> int:
    body = {"gate": args.gate, "approved": not args.reject, "comment": args.comment}
    done = _client(args).call("POST", f"/stories/{args.id}/approvals", json=body)
    print(f"{done['type']} recorded for {args.id} ({done['event_id']})")
    return 0


def sample_repo(data_dir: str) -> Path:
    """A git copy of the bundled sample repository (created once, then reused)."""
    target = Path(data_dir).expanduser() / "sample_repo"
    if (target / ".git").exists():
        return target
    if not SAMPLE_REPO.exists():
        raise UserError(f"the bundled sample repository is missing at {SAMPLE_REPO}")
    shutil.copytree(SAMPLE_REPO, target, dirs_exist_ok=True)
    # the fleet's own copy, through the hardened host git all the same (no hooks, no config)
    git_host.git(target, "init", "--quiet", "--initial-branch=main", protocols="")
    git_host.git(target, "add", "--all", "--", ".", protocols="")
    git_host.git(
        target, "commit", "--quiet", "--no-verify", "-m", "sample repository", protocols=""
    )
    return target


def _demo(args: argparse.Namespace) -> int:
    from cluster import local
    from cluster.fleet_apps import check_model, gateway_url, stack_apps
    from fleet.orchestrator.sample import SAMPLE_STORY

    cfg = fleet_config()
    load_all()  # every config file and prompt template, checked before anything starts
    foreign = foreign_logs_to(Path(cfg.data_dir).expanduser() / "logs" / "demo.log")
    model = args.model or None
    if model:
        check_model(model)
    print(
        f"== starting the local stack (model: {model or 'models.yaml routing'}; data in {cfg.data_dir})",
        flush=True,
    )
    st = local.up(cfg, extra=stack_apps(cfg, model=model))
    print(st.render(), flush=True)
    repo = sample_repo(cfg.data_dir)
    body = {**SAMPLE_STORY, "repo": str(repo), "branch": "main", "id": f"demo-{int(time.time())}"}
    client = _client(args)
    started = time.monotonic()
    story = client.call("POST", "/stories", json=body)
    print(f"\n== submitted {story['id']}: {body['title']}\n   repo: {repo}\n", flush=True)
    story = follow(
        client, story["id"], auto_approve=args.auto_approve, timeout_s=args.timeout, out=sys.stdout
    )
    code = _finish(client, story, started, timeout_s=args.timeout)
    report = Path(cfg.data_dir).expanduser() / "reports" / f"{story['id']}.md"
    if report.is_file():  # saved by _finish (not when the fleet was away at the deadline)
        print("\n== report\n" + report.read_text())
    ray_part = next((p for p in st.parts if p.name == "ray head"), None)
    print(
        f"dashboard: {ray_part.where.get('dashboard') if ray_part else '?'} (Ray token: ~/.ray/auth_token)"
    )
    print(
        f"API:       {gateway_url(cfg)}/docs  (po token in {Path(cfg.data_dir).expanduser() / 'tokens.json'})"
    )
    print(f"other programs' log lines: {foreign}")
    print("stop everything with: fleet down")
    return code


def _add_story_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", required=True, help="git URL or local path of the target repository")
    p.add_argument(
        "--branch", default=None, help="base branch (default: the repository's default branch)"
    )
    p.add_argument("--title", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--criteria", action="append", help="an acceptance criterion (repeat the flag)")
    p.add_argument("--rigor", default="L1", choices=["L0", "L1", "L2", "L3"])
    p.add_argument(
        "--kind",
        dest="work_kind",
        choices=["feature", "bug", "change"],
        default=None,
        help="feature, bug (a bug report) or change (default: inferred from the title and "
        "description)",
    )
    p.add_argument(
        "--push",
        metavar="REMOTE",
        help="when DONE, push fleet/<id> to this remote of the repository (e.g. origin) or "
        "https/ssh URL, with your own git credentials (default: never pushed)",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="gateway URL (default from fleet.yaml)")
    p.add_argument(
        "--token", help=f"bearer token (default {env_name('po_token')} or <data_dir>/tokens.json)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the story commands to ``fleet``."""
    from cluster.cli.jobs import register_jobs

    p = subparsers.add_parser("run", help="submit a story and follow it to the end")
    _add_story_args(p)
    _common(p)
    p.add_argument(
        "--auto-approve",
        action="store_true",
        help="approve the PO gates (scope, design, acceptance)",
    )
    p.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to follow before giving up (exit 6)"
    )
    p.add_argument(
        "--submit-wait",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds to wait for an unavailable fleet at submission (a stack restarting); "
        "the story is submitted once however often it is retried (default 60)",
    )
    p.add_argument(
        "--model",
        action="append",
        metavar="ROLE=MODEL",
        help="route ROLE to a models.yaml model for this story only (repeat the flag)",
    )
    p.set_defaults(func=_run)

    p = subparsers.add_parser(
        "follow", help="follow a submitted story to its end (exit codes as for run)"
    )
    _common(p)
    p.add_argument("id")
    p.add_argument("--auto-approve", action="store_true", help="approve the PO gates")
    p.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to follow before giving up (exit 6)"
    )
    p.set_defaults(func=_follow)

    p = subparsers.add_parser("stories", help="list stories")
    _common(p)
    p.add_argument("--state", help="only stories in this state")
    p.set_defaults(func=_stories)

    p = subparsers.add_parser(
        "show", help="show one story as JSON (with `delivery`: branch, commit, repository path)"
    )
    _common(p)
    p.add_argument("id")
    p.set_defaults(func=_show)

    p = subparsers.add_parser("diff", help="print a story's change (unified diff) and its branch")
    _common(p)
    p.add_argument("id")
    p.set_defaults(func=_diff)

    p = subparsers.add_parser("approve", help="approve (or --reject) the gate a story waits at")
    _common(p)
    p.add_argument("id")
    p.add_argument("--gate", help="the gate (default: whichever the story waits at)")
    p.add_argument("--reject", action="store_true")
    p.add_argument("--comment", default="")
    p.set_defaults(func=_approve)

    p = subparsers.add_parser(
        "demo", help="start the stack and run the bundled sample story end to end"
    )
    _common(p)
    p.add_argument("--auto-approve", action="store_true", help="approve the PO gates automatically")
    p.add_argument(
        "--model", help="model for every role: scripted, local-smollm2... (default: models.yaml)"
    )
    p.add_argument("--timeout", type=float, default=1800.0)
    p.set_defaults(func=_demo)
    register_jobs(subparsers)
