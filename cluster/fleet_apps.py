"""The fleet's own part of the local stack: Serve apps (gateway, llm) and the long-lived actors.

A :class:`cluster.local.Component`, started after the Ray head: it connects as a
driver (with the Ray auth token), starts Serve's proxy on the gateway's loopback
port, deploys the model app at ``/llm`` (unless the model is ``scripted``; every llama.cpp
model the routing names, one engine each behind that one URL),
(re)creates the orchestrator with the chosen model (stories resume from Redis),
and deploys the gateway at ``/``. ``<data_dir>/apps.json`` records what was
deployed: ``fleet status`` reports the apps only when it exists (``fleet up
--no-apps`` starts Ray + Redis alone), and ``fleet down`` shuts Serve down and
ends the actors before the head stops.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.config import FleetConfig, load
from fleet.errors import InfraError, PortInUse

ACTORS = ("orchestrator", "council-fleet", "sandbox-fleet")
CONNECT_ATTEMPTS = 3
JOINERS = ("devops-1", "data-1")  # join a council by themselves (fleet/council/team.py)


def actors(cfg: FleetConfig) -> tuple[str, ...]:
    """The named actors ``fleet up`` replaces and ``fleet down`` stops: the fleet's own and one
    agent per configured (or joining) council member."""
    members = dict.fromkeys([*cfg.council.members, *JOINERS])
    return (*ACTORS, *(f"agent-{m}" for m in members))


class AppsUnavailable(InfraError):
    def __init__(self, *, what: str, reason: str) -> None:
        super().__init__(f"{what} did not come up: {reason}", what=what, reason=reason)


def gateway_url(config: FleetConfig) -> str:
    return f"http://{config.gateway.host}:{config.gateway.port}"


def statefile(config: FleetConfig) -> Path:
    """What ``fleet up`` deployed (model, llm URL); absent when the apps are not deployed."""
    return Path(config.data_dir).expanduser() / "apps.json"


def deployed(config: FleetConfig) -> dict[str, Any] | None:
    try:
        return dict(json.loads(statefile(config).read_text()))
    except (OSError, ValueError):
        return None


def auth_env() -> None:
    """The head `fleet up` starts has token auth on; Ray reads the mode when first imported."""
    from cluster.rayhead import auth_token

    if "ray" not in sys.modules and auth_token():
        os.environ["RAY_AUTH_MODE"] = "token"


def connect(config: FleetConfig) -> Any:
    """Join the local head as a driver, with the Ray auth token."""
    auth_env()
    import ray

    from cluster.local import ray_address

    address = ray_address(config)
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        if ray.is_initialized():
            break
        try:
            ray.init(
                address=address,
                namespace=config.ray.namespace,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        except ConnectionError as e:
            # A head that has just started may not have registered its raylet yet (Ray waits
            # 60 s for it; a loaded machine has needed more): try again before giving up.
            ray.shutdown()
            if attempt == CONNECT_ATTEMPTS:
                raise AppsUnavailable(
                    what="the Ray driver",
                    reason=f"{e} ({CONNECT_ATTEMPTS} attempts; the head's log is in <data_dir>/ray)",
                ) from e
            time.sleep(2.0)
    return ray


def _get(url: str, expect: bytes) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status == 200 and expect in resp.read()
    except OSError:
        return False


def _healthy(url: str) -> bool:
    return _get(f"{url}/healthz", b'"ok"')


def _kill(ray: Any, name: str, namespace: str) -> None:
    with contextlib.suppress(ValueError):  # not running
        ray.kill(ray.get_actor(name, namespace=namespace), no_restart=True)


def _wait(what: str, check: Any, url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AppsUnavailable(what=what, reason=f"{url} not ok after {timeout_s:g} s")
        time.sleep(0.5)


@dataclass
class FleetApps:
    """Gateway + llm Serve apps and the orchestrator (and, lazily, council/agents/sandbox)."""

    config: FleetConfig
    model: str | None = None
    name: str = "serve apps"

    def served(self) -> list[str]:
        """The models the llm app serves: ``--model`` alone, else every llama.cpp model
        models.yaml's routing names (``llm.model`` when it names none)."""
        from serve_apps.llm import served_models

        return served_models(load("models.yaml"), model=self.model, fallback=self.config.llm.model)

    def _llm(self, served: list[str]) -> str | None:
        if self.model == "scripted":
            return None
        from serve_apps.llm import deploy_llm

        # one app, one URL: the engine is picked by each request's model name
        return deploy_llm(
            load("models.yaml"),
            served,
            host=self.config.gateway.host,
            port=self.config.gateway.port,
            route_prefix=self.config.llm.route_prefix,
        )

    def start(self) -> tuple[int | None, bool]:
        """Deploy (or reuse, when the same models already run healthy); ``(None, started_now)``."""
        cfg = self.config
        state = deployed(cfg)
        now = {"model": self.model, "served": self.served()}
        same = state is not None and all(state.get(k) == v for k, v in now.items())
        if same and _healthy(gateway_url(cfg)):
            return None, False
        from cluster.graphserver import port_free

        if state is None and not port_free(cfg.gateway.port, cfg.gateway.host):
            raise PortInUse(port=cfg.gateway.port, what="the gateway (gateway.port)")
        self._deploy()
        return None, True

    def _deploy(self) -> None:
        auth_env()
        from ray import serve

        from actors.settings import OrchestratorSettings
        from serve_apps.gateway import build_app
        from serve_apps.gateway.tokens import ensure_tokens

        cfg, ns = self.config, self.config.ray.namespace
        ensure_tokens(cfg.data_dir)
        ray = connect(cfg)
        serve.start(http_options={"host": cfg.gateway.host, "port": cfg.gateway.port})
        served = self.served()
        llm_url = self._llm(served)
        for name in actors(
            cfg
        ):  # fresh actors so a new model choice applies; stories resume from Redis
            _kill(ray, name, ns)
        redis_url = f"redis://{cfg.redis.host}:{cfg.redis.port}"
        settings = OrchestratorSettings(
            redis_url=redis_url,
            graph=cfg.graph,
            sandbox=cfg.sandbox,
            namespace=ns,
            model=self.model,
            llm_base_url=llm_url,
            members=cfg.council.members,
            rounds=cfg.council.rounds,
            settle_on_pass=cfg.council.settle_on_pass,
            qa_examples=cfg.council.qa_examples,
            debug_rounds=cfg.council.debug_rounds,
            distinguish=cfg.council.distinguish,
            resample_failing=cfg.council.resample_failing,
            critique=cfg.council.critique,
            data_dir=str(Path(cfg.data_dir).expanduser()),
        )
        # The gateway's start-up creates the orchestrator from these settings: the same path a
        # RayService's serveConfigV2 takes on a cluster (see cluster/kuberay.py).
        serve.run(
            build_app(
                {
                    "redis_url": redis_url,
                    "graph": cfg.graph.model_dump(mode="json"),
                    "namespace": ns,
                    "data_dir": cfg.data_dir,
                    "fleet": settings.model_dump(mode="json"),
                }
            ),
            name="gateway",
            route_prefix="/",
        )
        # Already there (the replicas made it); this only covers replicas Serve kept from a
        # previous deployment, whose start-up ran before the old actors were ended above.
        from actors.orchestrator import ensure_orchestrator

        ensure_orchestrator(settings, namespace=ns)
        url = gateway_url(cfg)
        _wait("gateway", lambda: _healthy(url), f"{url}/healthz")
        state = {"model": self.model, "served": served, "llm_url": llm_url, "api": url}
        statefile(cfg).write_text(json.dumps(state))

    def stop(self) -> bool:
        """Shut Serve down and end the actors while the head still runs; False if nothing was deployed."""
        from cluster.local import RayComponent

        cfg = self.config
        was = deployed(cfg) is not None
        statefile(cfg).unlink(missing_ok=True)
        if RayComponent(cfg).head.running_pid() is None or not (was or _healthy(gateway_url(cfg))):
            return False
        auth_env()
        from ray import serve

        ray = connect(cfg)
        serve.shutdown()
        for name in actors(cfg):
            _kill(ray, name, cfg.ray.namespace)
        ray.shutdown()  # leave the cluster before the head goes
        return True

    def health(self) -> Any:
        from cluster.local import Health

        url = gateway_url(self.config)
        state = deployed(self.config) or {}
        where = {
            "api": url,
            "docs": f"{url}/docs",
            "model": state.get("model") or "models.yaml routing",
        }
        if state.get("served"):
            where["served"] = ", ".join(state["served"])
        checks = {"gateway GET /healthz": _healthy(url)}
        llm = state.get("llm_url")
        if llm and llm.startswith(url):  # served here (an openai model lives elsewhere)
            where["llm"] = llm
            checks["llm GET /v1/models"] = _get(f"{llm}/models", b'"data"')
        return Health(self.name, running=checks["gateway GET /healthz"], where=where, checks=checks)


def check_model(name: str) -> None:
    """Raise UnknownName (listing the valid ones) unless ``name`` is a models.yaml model."""
    from fleet.errors import UnknownName

    models = load("models.yaml").models
    if name not in models:
        raise UnknownName(what="model", name=name, valid=tuple(models))


def stack_apps(
    config: FleetConfig, *, model: str | None = None, deploy: bool = True
) -> list[FleetApps]:
    """The ``extra`` components for :mod:`cluster.local`: the apps when deployed (or to deploy)."""
    return [FleetApps(config, model=model)] if deploy or deployed(config) is not None else []
