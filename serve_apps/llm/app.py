"""Build and deploy the model-serving Serve app for one ``models.yaml`` entry.

All Serve apps share the Serve HTTP proxy (the gateway port); this one is deployed
under a route prefix (``/llm`` by default, ``fleet.yaml: llm.route_prefix``), so its
OpenAI base URL is ``http://<host>:<port>/llm/v1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fleet.config import LlamaCppModel, ModelsConfig, OpenAIModel, VllmModel, load, parse
from fleet.errors import ConfigError, UnknownName

SERVED = ("llamacpp", "vllm")


def _spec(models: ModelsConfig, name: str) -> Any:
    if name not in models.models:
        raise UnknownName(what="model", name=name, valid=list(models.models))
    return models.models[name]


def draft_spec(models: ModelsConfig, spec: LlamaCppModel) -> LlamaCppModel | None:
    """The spec of ``spec``'s speculative draft model, if it drafts with one (models.yaml checks
    that it names a llamacpp model)."""
    sd = spec.speculative
    if sd is None or sd.draft_model is None:
        return None
    draft = models.models[sd.draft_model]
    assert isinstance(draft, LlamaCppModel)
    return draft


def build_llm_app(models: ModelsConfig, name: str) -> Any:
    """The Serve ``Application`` serving model ``name``.

    Raises:
        UnknownName: ``name`` is not in models.yaml.
        ConfigError: the backend needs no Serve app (``openai``, ``scripted``).
    """
    spec = _spec(models, name)
    if isinstance(spec, LlamaCppModel):
        from serve_apps.llm.llamacpp import build_llamacpp_app

        return build_llamacpp_app(spec, name, draft_spec(models, spec))
    if isinstance(spec, VllmModel):
        from serve_apps.llm.vllm import build_vllm_app

        return build_vllm_app(spec)
    raise ConfigError(
        file="models.yaml",
        key=f"models.{name}.backend",
        problem=f"backend {spec.backend!r} has no Serve app; served backends: {', '.join(SERVED)}",
    )


def app_builder(args: dict[str, Any]) -> Any:
    """Entry point for a Serve config file.

    ``import_path: serve_apps.llm:app_builder`` with ``args: {model: local-qwen-coder}``
    and optionally ``models_file: /path/to/models.yaml``.
    """
    models_file = args.get("models_file")
    if models_file:
        path = Path(models_file)
        models = parse(str(path), path.read_text(), ModelsConfig)
    else:
        models = load("models.yaml")
    return build_llm_app(models, str(args.get("model") or models.routing["default"][0]))


def deploy_llm(
    models: ModelsConfig,
    name: str,
    *,
    host: str | None = None,
    port: int | None = None,
    route_prefix: str = "/llm",
    app_name: str = "llm",
) -> str:
    """Deploy model ``name`` on the running Serve instance; return its OpenAI base URL.

    ``host``/``port`` are those of the Serve HTTP proxy; by default they are read from
    the running Serve instance (``serve.start(http_options=...)``).
    For an ``openai`` model nothing is deployed and its own base URL is returned.
    Blocks until the replicas are healthy (the model is loaded).

    Raises:
        WeightsMismatch: a llama.cpp model's file is not the one models.yaml pins.
        ConfigError: its packages are not installed.
    """
    spec = _spec(models, name)
    if isinstance(spec, OpenAIModel):
        return spec.base_url.rstrip("/")
    if isinstance(spec, LlamaCppModel):
        # Assemble and verify here, in the caller's process, so a missing package or a
        # tampered file is a clear error (with progress), not a failed Serve replica.
        from serve_apps.llm.weights import model_weights

        model_weights(spec, name=name, progress=True)
        draft = draft_spec(models, spec)
        if draft is not None and spec.speculative is not None:
            model_weights(draft, name=str(spec.speculative.draft_model), progress=True)
    app = build_llm_app(models, name)
    from ray import serve

    serve.run(app, name=app_name, route_prefix=route_prefix)
    if host is None or port is None:
        proxy_host, proxy_port = proxy_address()
        host, port = host or proxy_host, port or proxy_port
    return f"http://{host}:{port}{route_prefix.rstrip('/')}/v1"


def proxy_address() -> tuple[str, int]:
    """Host and port of the running Serve HTTP proxy (``0.0.0.0`` reported as loopback)."""
    from ray.serve.context import _get_global_client

    # No public getter in Ray 2.60; the controller client carries the HTTP options it started with.
    options = _get_global_client().http_config
    host = "127.0.0.1" if options.host in ("0.0.0.0", "", None) else options.host
    return host, int(options.port)


def undeploy_llm(app_name: str = "llm") -> None:
    """Remove the app deployed by :func:`deploy_llm` (the Serve instance keeps running)."""
    from ray import serve

    serve.delete(app_name)
