"""The gateway as a Ray Serve app: ``serve_apps.gateway:build_app`` (usable from a Serve config).

``args`` (all optional): ``redis_url``, ``prefix``, ``graph``, ``orchestrator`` (actor
name), ``namespace``, ``data_dir`` (tokens file), ``tokens`` (role -> token; tests
only, the product reads the token settings of :mod:`fleet.settings` or the tokens file).
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleet.context.masking import install_log_redaction
from serve_apps.gateway.repos import RepoProbe, install_repo_api
from serve_apps.gateway.router import create_app
from serve_apps.gateway.service import GatewayService
from serve_apps.gateway.tokens import TokenStore, by_token, load_store

MAX_ONGOING = 512  # requests one gateway replica serves at once, SSE streams included


class GatewayArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    redis_url: str | None = Field(None, description="default: the local server from fleet.yaml")
    prefix: str = "fleet"
    graph: str | dict[str, Any] = "fleet"  # a name (fleet.yaml's backend) or a GraphConfig
    orchestrator: str = "orchestrator"
    namespace: str = "swe-fleet"
    data_dir: str | None = None
    tokens: dict[str, str] | None = None
    principals: list[dict[str, str]] | None = None  # tests: [{name, role, token}], hashed on load
    max_body_bytes: int | None = None
    call_timeout_s: float = 30.0
    # OrchestratorSettings: when given, every replica's start-up makes sure the orchestrator
    # actor runs (created with these settings if missing), so a Serve config alone is a fleet.
    fleet: dict[str, Any] | None = None


class ActorCommands:
    """The orchestrator actor behind the ``Commands`` protocol (re-looked-up after a restart)."""

    def __init__(self, name: str, namespace: str, timeout_s: float) -> None:
        self.name, self.namespace, self.timeout_s = name, namespace, timeout_s

    def _call(self, method: str, *args: Any) -> Any:
        import ray

        from fleet.errors import StorageUnavailable

        try:
            handle = ray.get_actor(self.name, namespace=self.namespace)
            return ray.get(getattr(handle, method).remote(*args), timeout=self.timeout_s)
        except ray.exceptions.RayTaskError as exc:
            # The actor's own error (NotFound, Conflict...), without Ray's traceback wrapper.
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, Exception) else exc) from None
        except (ValueError, ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
            raise StorageUnavailable(
                what="orchestrator", reason=f"{type(exc).__name__}: try again"
            ) from None

    def submit(self, story: dict[str, Any]) -> str:
        return self._call("submit", story)

    def approve(
        self, story_id: str, gate: str | None, approved: bool, by: str, comment: str = ""
    ) -> Any:
        return self._call("approve", story_id, gate, approved, by, comment)

    def transition(self, story_id: str, target: str, by: str, comment: str = "") -> Any:
        return self._call("transition", story_id, target, by, comment)

    def healthy(self) -> bool:
        try:
            return bool(self._call("check_health"))
        except Exception:
            return False


def _resolve(args: GatewayArgs) -> tuple[str, str, int]:
    from fleet.config import fleet_config

    cfg = fleet_config()
    url = args.redis_url or f"redis://{cfg.redis.host}:{cfg.redis.port}"
    return url, args.data_dir or cfg.data_dir, args.max_body_bytes or cfg.limits.max_body_bytes


def stores(args: GatewayArgs, redis_url: str) -> tuple[Any, Any]:
    """The event log and decision graph the gateway reads, built by the adapter registry."""
    from fleet.adapters import registry

    return (
        registry.event_log(redis_url, prefix=args.prefix),
        registry.decision_graph(args.graph, redis_url=redis_url),
    )


def build_fastapi(args: dict[str, Any] | GatewayArgs | None = None) -> Any:
    """The FastAPI app with a lazily built service (so it pickles into Serve replicas)."""
    parsed = GatewayArgs.model_validate(args or {})
    url, data_dir, max_body = _resolve(parsed)
    if parsed.tokens is None and parsed.principals is None:
        tokens: dict[str, str] | TokenStore = load_store(data_dir)  # digests only, see tokens.py
    else:
        tokens = TokenStore.from_tokens(parsed.principals or []).merged(
            TokenStore.from_tokens(
                {"name": r, "role": r, "token": t} for t, r in by_token(parsed.tokens or {}).items()
            )
        )
    holder: dict[str, GatewayService] = {}
    lock = threading.Lock()
    probe = RepoProbe.for_data_dir(data_dir)

    def service() -> GatewayService:
        with lock:
            if "svc" not in holder:
                log, graph = stores(parsed, url)
                holder["svc"] = GatewayService(
                    log,
                    graph,
                    ActorCommands(parsed.orchestrator, parsed.namespace, parsed.call_timeout_s),
                    repos=probe,
                )
            return holder["svc"]

    app = create_app(service, tokens, max_body_bytes=max_body)
    extend_app(app, service, probe=probe)
    return app


def extend_app(app: Any, service: Any, *, probe: RepoProbe | None = None) -> None:
    """The PO's other ways in: offline API docs, the UI's routes and build, the MCP server,
    and (with ``probe``) the repository check the UI's form uses."""
    from serve_apps.gateway.docs import install_offline_docs
    from serve_apps.gateway.mcp_server import install_mcp
    from serve_apps.gateway.po_api import install_po_api
    from serve_apps.gateway.ui import install_ui

    install_offline_docs(app)
    install_po_api(app, service)
    if probe is not None:
        install_repo_api(app, probe)
    install_ui(app)
    install_mcp(app)


def build_app(args: dict[str, Any] | None = None) -> Any:
    """Serve application builder (``import_path: serve_apps.gateway:build_app``)."""
    from ray import serve

    parsed = GatewayArgs.model_validate(args or {})
    app = build_fastapi(parsed)

    class Gateway:
        """Serve ingress: all the work happens in the FastAPI routes."""

        def __init__(self) -> None:
            install_log_redaction()  # in the replica's process: no secret in its log lines
            if parsed.fleet is not None:
                from actors.orchestrator import ensure_orchestrator

                ensure_orchestrator(
                    parsed.fleet, name=parsed.orchestrator, namespace=parsed.namespace
                )

    # Every open SSE stream is an ongoing request for its whole life: Serve's default (5 per
    # replica) would queue everything behind five followers (found by benchmarks/bench_gateway.py).
    deployment = serve.deployment(
        name="gateway",
        num_replicas=1,
        max_ongoing_requests=MAX_ONGOING,
        ray_actor_options={"num_cpus": 0},
    )(serve.ingress(app)(Gateway))
    return deployment.bind()
