"""Model serving: llama.cpp (embedded default) or vLLM via ray.serve.llm, built from models.yaml."""

from __future__ import annotations

from serve_apps.llm.app import (
    app_builder,
    build_llm_app,
    deploy_llm,
    served_models,
    undeploy_llm,
)

__all__ = ["app_builder", "build_llm_app", "deploy_llm", "served_models", "undeploy_llm"]
