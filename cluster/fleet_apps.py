"""The fleet's own part of the local stack: Serve apps (gateway, llm) and the long-lived actors.

A :class:`cluster.local.Component`, started after the Ray head: it connects as a
driver (with the Ray auth token), starts Serve's proxy on the gateway's loopback
port, deploys the model app (unless the model is ``scripted``), (re)creates the
orchestrator with the chosen model (stories resume from Redis), and deploys the
gateway at ``/``. The processes are Ray's; ``fleet down`` stops them with the head.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.config import FleetConfig, load
from fleet.errors import InfraError

AGENT_MEMBERS = ("developer-1", "qa-1", "architect-1")


class AppsUnavailable(InfraError):
    def __init__(self, *, what: str, reason: str) -> None:
        super().__init__(f"{what} did not come up: {reason}", what=what, reason=reason)


def gateway_url(config: FleetConfig) -> str:
    return f"http://{config.gateway.host}:{config.gateway.port}"


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

    if not ray.is_initialized():
        ray.init(address=ray_address(config), namespace=config.ray.namespace, log_to_driver=False,
                 logging_level="ERROR")
    return ray


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=3) as resp:
            return resp.status == 200 and b'"ok"' in resp.read()
    except OSError:
        return False


def _kill(ray: Any, name: str, namespace: str) -> None:
    with contextlib.suppress(ValueError):  # not running
        ray.kill(ray.get_actor(name, namespace=namespace), no_restart=True)


@dataclass
class FleetApps:
    """Gateway + llm Serve apps and the orchestrator (and, lazily, council/agents/sandbox)."""

    config: FleetConfig
    model: str | None = None
    name: str = "fleet apps"

    def _llm(self) -> str | None:
        if self.model == "scripted":
            return None
        from serve_apps.llm import deploy_llm

        models = load("models.yaml")
        primary = self.model or models.routing["default"][0]
        return deploy_llm(models, primary, host=self.config.gateway.host, port=self.config.gateway.port)

    def start(self) -> tuple[int | None, bool]:
        auth_env()
        from ray import serve

        from actors.orchestrator import spawn_orchestrator
        from actors.wiring import OrchestratorSettings
        from serve_apps.gateway import build_app
        from serve_apps.gateway.tokens import ensure_tokens

        cfg, ns = self.config, self.config.ray.namespace
        ensure_tokens(cfg.data_dir)
        ray = connect(cfg)
        serve.start(http_options={"host": cfg.gateway.host, "port": cfg.gateway.port})
        llm_url = self._llm()
        # Fresh actors so a new model choice applies; stories resume from Redis.
        for name in ("orchestrator", "council-fleet", "sandbox-fleet", *(f"agent-{m}" for m in AGENT_MEMBERS)):
            _kill(ray, name, ns)
        redis_url = f"redis://{cfg.redis.host}:{cfg.redis.port}"
        settings = OrchestratorSettings(redis_url=redis_url, graph=cfg.graph.name, namespace=ns, model=self.model,
                                        llm_base_url=llm_url, members=AGENT_MEMBERS,
                                        data_dir=str(Path(cfg.data_dir).expanduser()))
        orch = spawn_orchestrator(settings, namespace=ns)
        ray.get(orch.check_health.remote())
        serve.run(build_app({"redis_url": redis_url, "graph": cfg.graph.name, "namespace": ns,
                             "data_dir": cfg.data_dir}), name="gateway", route_prefix="/")
        deadline = time.monotonic() + 60
        while not _healthy(gateway_url(cfg)):
            if time.monotonic() > deadline:
                raise AppsUnavailable(what="gateway", reason=f"{gateway_url(cfg)}/healthz not ok after 60 s")
            time.sleep(0.5)
        return None, True

    def stop(self) -> bool:
        from cluster.local import RayComponent

        if RayComponent(self.config).head.running_pid() is None or not _healthy(gateway_url(self.config)):
            return False
        auth_env()
        from ray import serve

        ray = connect(self.config)
        serve.shutdown()
        _kill(ray, "orchestrator", self.config.ray.namespace)
        return True

    def health(self) -> Any:
        from cluster.local import Health

        url = gateway_url(self.config)
        ok = _healthy(url)
        return Health(self.name, running=ok, where={"api": url, "docs": f"{url}/docs"},
                      checks={"gateway /healthz": ok} if ok else {})
