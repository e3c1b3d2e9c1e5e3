"""``fleet cluster rehearse``: the rendered RayService, deployed as is on a local head, runs a story.

The closest this machine gets to a cluster. It renders and validates the manifests exactly as
``fleet cluster render`` does, takes the RayService's ``serveConfigV2`` and replaces only the
settings that name places which exist in the image or the cluster and not here (every one is
printed): the Redis address and data directory, the Serve proxy's address, the llm base URLs
(every model name at the one local llm app), the sandbox backend (Kubernetes Jobs need an API
server: bubblewrap here) and the served model (vLLM needs a GPU image: a local llama.cpp model
from models.yaml here; the llm apps of further served models are left out). Import paths, app
names, route prefixes, namespace, graph and council settings stay as rendered.

Then it starts a private Redis+FalkorDB and Ray head on free ports, deploys the config through
the dashboard's Serve REST API (what ``serve deploy`` does) — nothing else is started: the
gateway app's start-up creates the orchestrator, which creates the council, agents and sandbox
supervisor — and runs the bundled sample story, every role on the scripted model, to DONE.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from fleet.errors import FleetError, InfraError
from fleet.settings import env_name

SCRIPTED_ROLES = ("developer", "qa", "architect")
Obj = dict[str, Any]
# the validated manifests of `fleet cluster render` for the parsed arguments: (config, files)
Render = Callable[[argparse.Namespace], tuple[Any, dict[str, list[Obj]]]]


class RehearsalFailed(InfraError):
    def __init__(self, *, step: str, reason: str) -> None:
        super().__init__(f"rehearsal failed at {step}: {reason}", step=step, reason=reason)


def localize(
    serve: Obj, *, redis_url: str, port: int, data_dir: str, llm_model: str
) -> tuple[Obj, list[str]]:
    """The rendered Serve config with its cluster-only settings replaced; ``(config, changes)``.

    ``changes`` names every replaced setting (``path: old -> new``); nothing else differs.
    """
    out = copy.deepcopy(serve)
    changes: list[str] = []

    def put(where: Obj, key: str, value: Any, path: str) -> None:
        old = where.get(key)
        if old != value:
            where[key] = value
            changes.append(f"{path}: {old!r} -> {value!r}")

    put(out["http_options"], "host", "127.0.0.1", "http_options.host")
    put(out["http_options"], "port", port, "http_options.port")
    base = f"http://127.0.0.1:{port}"
    llm_apps = [a for a in out["applications"] if a["import_path"].startswith("serve_apps.llm")]
    for extra in llm_apps[1:]:  # one local model stands in for every served one
        out["applications"].remove(extra)
        changes.append(f"applications[{extra['name']}]: removed (one local model here)")
    for app in out["applications"]:
        name = app["name"]
        if app in llm_apps[:1]:
            put(app["args"], "model", llm_model, f"applications[{name}].args.model")
            continue
        args = app.get("args") or {}
        if "redis_url" in args:
            put(args, "redis_url", redis_url, f"applications[{name}].args.redis_url")
        fleet = args.get("fleet")
        if isinstance(fleet, dict):
            where = f"applications[{name}].args.fleet"
            put(fleet, "redis_url", redis_url, f"{where}.redis_url")
            put(fleet, "data_dir", data_dir, f"{where}.data_dir")
            put(fleet, "sandbox", {"backend": "bwrap"}, f"{where}.sandbox")
            if llm_apps:
                url = f"{base}{llm_apps[0]['route_prefix'].rstrip('/')}/v1"
                # every served model's name (and the local one) leads to the one local app
                rendered = fleet.get("llm_base_url")
                names = [*(rendered if isinstance(rendered, dict) else ()), llm_model]
                urls = dict.fromkeys(names, url)
                put(fleet, "llm_base_url", urls, f"{where}.llm_base_url")
                put(fleet, "model", llm_model, f"{where}.model")
                if fleet.get("role_models"):  # one local model answers for every role
                    put(fleet, "role_models", {}, f"{where}.role_models")
    return out, changes


def rendered_serve_config(files: dict[str, list[Obj]]) -> Obj:
    """The RayService's serveConfigV2 from the validated manifests of ``fleet cluster render``."""
    service = next(o for objs in files.values() for o in objs if o["kind"] == "RayService")
    return dict(yaml.safe_load(service["spec"]["serveConfigV2"]))


class Rehearsal:
    """A private stack (Redis+FalkorDB, Ray head) under ``data_dir`` and the REST calls on it."""

    def __init__(self, data_dir: Path) -> None:
        from cluster.graphserver import free_port
        from fleet.config import fleet_config

        self.env = {
            env_name("data_dir"): str(data_dir),
            **{
                env_name(port): str(free_port())
                for port in ("redis_port", "ray_gcs_port", "dashboard_port", "gateway_port")
            },
        }
        # The head's processes (Serve replicas, actors) inherit these: their fleet.yaml agrees.
        os.environ.update(self.env)
        self.config = fleet_config()

    @property
    def parts(self) -> list[Any]:
        from cluster.local import GraphComponent, RayComponent

        return [GraphComponent(self.config), RayComponent(self.config)]

    def start(self) -> None:
        for part in self.parts:
            part.start()
            print(f"started {part.name}", flush=True)

    def stop(self) -> None:
        for part in reversed(self.parts):
            try:
                part.stop()
            except FleetError as exc:  # keep stopping the rest
                print(f"stopping {part.name}: {exc}", file=sys.stderr)

    @property
    def redis_url(self) -> str:
        return f"redis://{self.config.redis.host}:{self.config.redis.port}"

    @property
    def dashboard(self) -> str:
        d = self.config.ray.dashboard
        return f"http://{d.host}:{d.port}"

    def rest(self, method: str, path: str, body: Obj | None = None) -> Any:
        from cluster.rayhead import auth_token

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.dashboard}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        token = auth_token()
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise RehearsalFailed(
                step=f"{method} {path}", reason=f"{exc.code}: {exc.read().decode()[:800]}"
            ) from None
        return json.loads(text) if text.strip() else None

    def _put(self, serve: Obj, *, timeout_s: float) -> None:
        """PUT the config; retried while the fresh head's dashboard drops connections (idempotent)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.rest("PUT", "/api/serve/applications/", serve)
                return
            except (OSError, http.client.HTTPException) as exc:  # not RehearsalFailed: a 4xx/5xx
                head = self.parts[1].head
                if head.running_pid() is None:  # the head died (e.g. raylet start timed out)
                    raise RehearsalFailed(
                        step="Ray head", reason=f"exited: {head._log_tail()}"
                    ) from None
                if time.monotonic() > deadline:
                    raise RehearsalFailed(
                        step="PUT /api/serve/applications/", reason=f"{exc} (see the head's log)"
                    ) from None
                print(f"dashboard not ready ({type(exc).__name__}); retrying", flush=True)
                time.sleep(3.0)

    def deploy(self, serve: Obj, *, timeout_s: float) -> None:
        """``serve deploy`` through the dashboard's REST API; wait until every app RUNS."""
        self._put(serve, timeout_s=timeout_s)
        names = [a["name"] for a in serve["applications"]]
        deadline, last = time.monotonic() + timeout_s, ""
        while time.monotonic() < deadline:
            try:
                got = self.rest("GET", "/api/serve/applications/") or {}
            except (OSError, http.client.HTTPException):  # a busy dashboard: ask again
                time.sleep(2.0)
                continue
            apps = got.get("applications") or {}
            status = {n: (apps.get(n) or {}).get("status", "NOT_STARTED") for n in names}
            line = ", ".join(f"{n}: {s}" for n, s in status.items())
            if line != last:
                print(f"serve: {line}", flush=True)
                last = line
            failed = [n for n, s in status.items() if s == "DEPLOY_FAILED"]
            if failed:
                msg = (apps.get(failed[0]) or {}).get("message", "")
                raise RehearsalFailed(step=f"deploying {failed[0]}", reason=msg[-1500:])
            if all(s == "RUNNING" for s in status.values()):
                return
            time.sleep(2.0)
        raise RehearsalFailed(step="deploy", reason=f"not RUNNING after {timeout_s:g} s: {last}")


def run_story(api: str, data_dir: Path, *, timeout_s: float) -> int:
    """The bundled sample story, every council role on the scripted model, followed to its end."""
    from cluster.cli.gateway_client import Client, exit_code, follow
    from cluster.cli.stories import sample_repo
    from fleet.orchestrator.sample import SAMPLE_STORY
    from serve_apps.gateway.tokens import read_tokens

    client = Client(api, read_tokens(data_dir).get("po"))
    story = {
        **SAMPLE_STORY,
        "repo": str(sample_repo(str(data_dir))),
        "models": {role: "scripted" for role in SCRIPTED_ROLES},
    }
    created = client.call("POST", "/stories", json=story)
    print(f"story {created['id']} submitted", flush=True)
    final = follow(client, created["id"], auto_approve=True, timeout_s=timeout_s, out=sys.stdout)
    return exit_code(final)


def _rehearse(args: argparse.Namespace, *, render: Render) -> int:
    from fleet.config import fleet_config
    from serve_apps.gateway.tokens import ensure_tokens

    serve = rendered_serve_config(render(args)[1])
    print(f"rendered serveConfigV2: apps {[a['name'] for a in serve['applications']]}")
    own_dir = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="fleet-rehearse-")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = Rehearsal(data_dir)
    llm_model = args.llm_model or fleet_config().llm.model
    local, changes = localize(
        serve,
        redis_url=stack.redis_url,
        port=stack.config.gateway.port,
        data_dir=str(data_dir),
        llm_model=llm_model,
    )
    print("replaced (cluster-only settings):")
    for line in changes:
        print(f"  {line}")
    (data_dir / "serve-config.rendered.yaml").write_text(yaml.safe_dump(serve, sort_keys=False))
    (data_dir / "serve-config.local.yaml").write_text(yaml.safe_dump(local, sort_keys=False))
    ensure_tokens(data_dir)
    try:
        stack.start()
        stack.deploy(local, timeout_s=args.timeout)
        api = f"http://127.0.0.1:{stack.config.gateway.port}"
        code = run_story(api, data_dir, timeout_s=args.timeout)
        print(f"rehearsal {'passed' if code == 0 else 'FAILED'} (story exit {code})")
        if args.keep:
            print(f"kept running: api {api}, dashboard {stack.dashboard}, data {data_dir}")
            env = " ".join(f"{k}={v}" for k, v in stack.env.items())
            print(f"stop it with: {env} fleet down")
        return code
    finally:
        if not args.keep:
            stack.stop()
            if own_dir:
                shutil.rmtree(data_dir, ignore_errors=True)


def register(sub: argparse._SubParsersAction, *, render: Render) -> None:
    """Add ``rehearse`` to ``fleet cluster`` (``render``: its validated manifests, as ``fleet
    cluster render`` makes them; passed in, so this module never imports the CLI)."""
    text = "deploy the rendered RayService serve config on a local Ray head and run a story"
    p = sub.add_parser("rehearse", help=text, description=text)
    p.add_argument("--config-dir", help="directory with cluster.yaml and models.yaml")
    p.add_argument("--data-dir", help="where the private stack lives (default: a temp dir)")
    p.add_argument(
        "--llm-model", help="local models.yaml model standing in for vLLM (default llm.model)"
    )
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per step")
    p.add_argument("--keep", action="store_true", help="leave the stack running (stop: fleet down)")
    p.set_defaults(func=partial(_rehearse, render=render))
