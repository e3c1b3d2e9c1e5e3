"""Serve deployment hosting the llama.cpp engine behind an OpenAI-compatible HTTP API.

A plain class (engine injected through ``engine_cls``); ``build_llamacpp_app`` applies
``serve.deployment`` from the config, so nothing happens at import time.
Routes (under the app's route prefix): ``POST /v1/chat/completions``, ``GET /v1/models``,
``GET /metrics`` (the engine's own Prometheus text). Drafted and accepted speculative tokens are
also counted in ``ray.util.metrics`` (exported by Ray as ``ray_fleet_llm_draft_tokens_total`` and
``ray_fleet_llm_draft_accepted_tokens_total``, tagged by model).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from fleet.config import LlamaCppModel
from serve_apps.llm.engine import BadRequest, LlamaCppEngine, ModelNotServed, omp_wait_policy


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}}, status_code=status
    )


class LlamaCppDeployment:
    """One replica: one engine with ``n_parallel`` slots; requests run on a thread pool
    so concurrent HTTP requests reach the engine together (continuous batching)."""

    def __init__(
        self,
        spec: LlamaCppModel,
        served_name: str,
        engine_cls: Any = LlamaCppEngine,
        draft: LlamaCppModel | None = None,
    ) -> None:
        self.engine = engine_cls(spec, served_name=served_name, draft=draft)
        self._pool = ThreadPoolExecutor(
            max_workers=spec.max_ongoing_requests, thread_name_prefix="llama"
        )
        from ray.util import metrics  # inert outside a Ray worker

        tags = ("model",)
        self._drafted = metrics.Counter(
            "fleet_llm_draft_tokens", "speculative tokens drafted", tag_keys=tags
        )
        self._accepted = metrics.Counter(
            "fleet_llm_draft_accepted_tokens", "speculative tokens accepted", tag_keys=tags
        )
        self._tags = {"model": served_name}

    def _count_drafts(self, result: dict[str, Any]) -> None:
        """Per request: the engine reports ``timings.draft_n``/``draft_n_accepted`` when it drafted."""
        timings = result.get("timings") or {}
        drafted, accepted = timings.get("draft_n"), timings.get("draft_n_accepted")
        if isinstance(drafted, int) and drafted > 0:
            self._drafted.inc(drafted, tags=self._tags)
            if isinstance(accepted, int) and accepted > 0:
                self._accepted.inc(accepted, tags=self._tags)

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if path.endswith("/v1/models") and request.method == "GET":
            return JSONResponse(self.engine.models())
        if path.endswith("/metrics") and request.method == "GET":
            return PlainTextResponse(self.engine.metrics(), media_type="text/plain; version=0.0.4")
        if not (path.endswith("/v1/chat/completions") and request.method == "POST"):
            return _error(
                404,
                f"no route {request.method} {path}; "
                "use POST /v1/chat/completions, GET /v1/models or GET /metrics",
                "not_found",
            )
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "body is not JSON", "invalid_request_error")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._pool, self.engine.chat, body)
        except ModelNotServed as exc:
            return _error(404, str(exc), "model_not_found")
        except BadRequest as exc:
            return _error(400, str(exc), "invalid_request_error")
        except Exception as exc:  # the engine failed: a 5xx the client may retry elsewhere
            return _error(500, f"{type(exc).__name__}: {exc}", "server_error")
        self._count_drafts(result)
        return JSONResponse(result)

    def check_health(self) -> None:
        """Serve health check: the engine must be loaded."""
        if self.engine is None:
            raise RuntimeError("engine not loaded")


def build_llamacpp_app(spec: LlamaCppModel, name: str, draft: LlamaCppModel | None = None) -> Any:
    """The Serve application for a ``llamacpp`` model (one replica, ``spec.num_cpus`` CPUs);
    ``draft`` is the spec of its ``speculative.draft_model``, loaded in the same replica."""
    from ray import serve

    deployment = serve.deployment(
        LlamaCppDeployment,
        name=f"llamacpp-{name}",
        num_replicas=1,
        max_ongoing_requests=spec.max_ongoing_requests,
        # Ray sets OMP_NUM_THREADS=num_cpus in workers; llama.cpp's OpenMP pool would then run
        # on one thread whatever n_threads says, and batching would gain nothing.
        ray_actor_options={
            "num_cpus": spec.num_cpus,
            "runtime_env": {
                "env_vars": {
                    "OMP_NUM_THREADS": str(spec.n_threads),
                    "OMP_WAIT_POLICY": omp_wait_policy(spec),
                }
            },
        },
        health_check_period_s=10,
    )
    return deployment.bind(spec, name, LlamaCppEngine, draft)
