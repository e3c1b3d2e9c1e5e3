"""The vLLM deployment config asks ray.serve.llm for prefix-aware routing and vLLM prefix caching.

vLLM is not installed here (it is the GPU path), and Ray validates the router class by importing
it, which needs vLLM; so the rendered config is checked against Ray 2.60's own definitions:
the RequestRouterConfig fields, and the router class and its initialize_state arguments read
from the installed ray.serve.llm source (parsed, not imported).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from ray.serve.config import RequestRouterConfig

from fleet.config import VllmModel, load
from serve_apps.llm.vllm import PREFIX_ROUTER, llm_config_dict


def _source(module: str) -> ast.Module:
    # find_spec on a submodule would import ray.serve.llm (which needs vLLM): locate the file
    root = Path(importlib.util.find_spec("ray").origin).parent.parent
    path = root / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{module} is not in the installed ray"
    return ast.parse(path.read_text())


def _class_in_source(dotted: str) -> ast.ClassDef:
    module, cls = dotted.rsplit(".", 1)
    tree = _source(module)
    [found] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
    return found


def _init_state_args(dotted: str) -> set[str]:
    """Keyword names of the router's initialize_state (following its base class import)."""
    module, cls = dotted.rsplit(".", 1)
    tree = _source(module)
    base = next(
        (f"{n.module}.{a.name}" for n in tree.body if isinstance(n, ast.ImportFrom)
         for a in n.names if a.asname == f"_{cls}"),
        dotted,
    )  # fmt: skip
    node = _class_in_source(base)
    [init] = [
        f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "initialize_state"
    ]
    return {a.arg for a in init.args.args + init.args.kwonlyargs} - {"self"}


def test_shipped_vllm_model_routes_by_prefix_and_caches_prefixes():
    spec = load("models.yaml").models["vllm-qwen"]
    out = llm_config_dict(spec)
    assert out["engine_kwargs"]["enable_prefix_caching"] is True
    router = out["deployment_config"]["request_router_config"]
    assert set(router) <= set(RequestRouterConfig.model_fields)
    assert router["request_router_class"] == PREFIX_ROUTER
    _class_in_source(PREFIX_ROUTER)  # the public class exists in this Ray
    assert set(router["request_router_kwargs"]) <= _init_state_args(PREFIX_ROUTER)
    assert out["deployment_config"]["autoscaling_config"]["max_replicas"] == 4


def test_prefix_routing_can_be_turned_off():
    spec = VllmModel(backend="vllm", model_id="s", model_source="/m", prefix_aware_routing=False)
    out = llm_config_dict(spec)
    assert "request_router_config" not in out["deployment_config"]
    assert "enable_prefix_caching" not in out["engine_kwargs"]
