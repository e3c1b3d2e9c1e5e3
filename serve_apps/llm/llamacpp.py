"""Serve deployment hosting llama.cpp engines (one per served model) behind an OpenAI-compatible
HTTP API; a request's ``model`` picks the engine.

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
from serve_apps.llm.engine import BadRequest, LlamaCppEngine, ModelNotServed


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}}, status_code=status
    )


Served = dict[str, tuple[LlamaCppModel, LlamaCppModel | None]]
"""model name -> (its spec, its draft model's spec); the first is the default."""


def labelled(text: str, model: str, seen: set[str]) -> list[str]:
    """One engine's Prometheus text with ``model="<name>"`` on every sample, so several engines'
    counters can share one page; ``# HELP``/``# TYPE`` lines already in ``seen`` are dropped."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            if line not in seen:
                seen.add(line)
                out.append(line)
            continue
        if not line.strip():
            continue
        name, _, rest = line.partition(" ")
        metric, brace, labels = name.partition("{")  # labels keeps its closing brace
        inner = f'model="{model}",{labels}' if brace else f'model="{model}"}}'
        out.append(f"{metric}{{{inner} {rest}")
    return out


class LlamaCppDeployment:
    """One replica: one engine per served model, each with ``n_parallel`` slots; a request goes
    to the engine its ``model`` names (the first served one when it names none). Requests run
    on a thread pool so concurrent HTTP requests reach an engine together (continuous batching).

    Several engines in one process, not one Serve app each: one base URL serves every model
    (as an OpenAI server with several models does), and the fleet reserves one replica's CPUs
    and one Ray worker's memory for them, not one per model.
    """

    def __init__(self, served: Served, engine_cls: Any = LlamaCppEngine) -> None:
        if not served:
            raise ValueError("a llama.cpp app serves at least one model")
        self.engines = {
            name: engine_cls(spec, served_name=name, draft=draft)
            for name, (spec, draft) in served.items()
        }
        self.default = next(iter(self.engines))
        workers = sum(spec.max_ongoing_requests for spec, _ in served.values())
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llama")
        from ray.util import metrics  # inert outside a Ray worker

        tags = ("model",)
        self._drafted = metrics.Counter(
            "fleet_llm_draft_tokens", "speculative tokens drafted", tag_keys=tags
        )
        self._accepted = metrics.Counter(
            "fleet_llm_draft_accepted_tokens", "speculative tokens accepted", tag_keys=tags
        )

    def _count_drafts(self, model: str, result: dict[str, Any]) -> None:
        """Per request: the engine reports ``timings.draft_n``/``draft_n_accepted`` when it drafted."""
        timings = result.get("timings") or {}
        drafted, accepted = timings.get("draft_n"), timings.get("draft_n_accepted")
        tags = {"model": model}
        if isinstance(drafted, int) and drafted > 0:
            self._drafted.inc(drafted, tags=tags)
            if isinstance(accepted, int) and accepted > 0:
                self._accepted.inc(accepted, tags=tags)

    def models(self) -> dict[str, Any]:
        """OpenAI ``GET /v1/models``: every served model, the default first."""
        cards = [card for engine in self.engines.values() for card in engine.models()["data"]]
        return {"object": "list", "data": cards}

    def metrics(self) -> str:
        """Every engine's Prometheus text, each sample labelled with its model."""
        seen: set[str] = set()
        lines = [ln for name, e in self.engines.items() for ln in labelled(e.metrics(), name, seen)]
        return "\n".join(lines) + "\n"

    def _engine(self, body: Any) -> tuple[str, Any]:
        asked = body.get("model") if isinstance(body, dict) else None
        name = str(asked) if asked else self.default
        if name not in self.engines:
            raise ModelNotServed(asked=name, served=tuple(self.engines))
        return name, self.engines[name]

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if path.endswith("/v1/models") and request.method == "GET":
            return JSONResponse(self.models())
        if path.endswith("/metrics") and request.method == "GET":
            return PlainTextResponse(self.metrics(), media_type="text/plain; version=0.0.4")
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
            name, engine = self._engine(body)
            result = await loop.run_in_executor(self._pool, engine.chat, body)
        except ModelNotServed as exc:
            return _error(404, str(exc), "model_not_found")
        except BadRequest as exc:
            return _error(400, str(exc), "invalid_request_error")
        except Exception as exc:  # the engine failed: a 5xx the client may retry elsewhere
            return _error(500, f"{type(exc).__name__}: {exc}", "server_error")
        self._count_drafts(name, result)
        return JSONResponse(result)

    def check_health(self) -> None:
        """Serve health check: every engine must be loaded."""
        if not self.engines or any(e is None for e in self.engines.values()):
            raise RuntimeError("engine not loaded")


def build_llamacpp_app(served: Served) -> Any:
    """The Serve application for one or more ``llamacpp`` models: one replica loading every
    engine (``served``: name -> (spec, draft spec of its ``speculative.draft_model``)).

    The replica reserves the most CPUs any model asks for (they share the cores; the engines
    run one council turn each at a time, not all at full speed together).
    """
    from ray import serve

    specs = [spec for spec, _ in served.values()]
    deployment = serve.deployment(
        LlamaCppDeployment,
        name="llamacpp-" + "-".join(served),
        num_replicas=1,
        max_ongoing_requests=sum(spec.max_ongoing_requests for spec in specs),
        # Ray sets OMP_NUM_THREADS=num_cpus in workers; llama.cpp's OpenMP pool would then run
        # on one thread whatever n_threads says, and batching would gain nothing.
        ray_actor_options={
            "num_cpus": max(spec.num_cpus for spec in specs),
            "runtime_env": {
                "env_vars": {
                    "OMP_NUM_THREADS": str(max(spec.n_threads for spec in specs)),
                    "OMP_WAIT_POLICY": "ACTIVE" if any(s.spin_wait for s in specs) else "PASSIVE",
                }
            },
        },
        health_check_period_s=10,
    )
    return deployment.bind(served, LlamaCppEngine)
