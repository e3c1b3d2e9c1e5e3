"""Build and deploy the model-serving Serve app for ``models.yaml`` entries.

All Serve apps share the Serve HTTP proxy (the gateway port); this one is deployed
under a route prefix (``/llm`` by default, ``fleet.yaml: llm.route_prefix``), so its
OpenAI base URL is ``http://<host>:<port>/llm/v1``. One app serves one vLLM model, or any
number of llama.cpp models at that one URL (the request's ``model`` picks the engine):
:func:`served_models` says which, from the routing table.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def served_models(models: ModelsConfig, *, model: str | None = None, fallback: str) -> list[str]:
    """What the embedded stack serves: ``model`` alone when one is named for every role, else
    every llama.cpp model the routing table names (``routing.default``'s first first, so a
    request naming no model gets it), else ``fallback`` (``fleet.yaml: llm.model``).

    Models the routing names on other backends are not served here (an ``openai`` model is
    reached at its own URL; a vLLM model is deployed on a cluster, see cluster/kuberay.py).
    """
    if model:
        return [model]
    chains = [models.routing["default"], *models.routing.values()]
    named = dict.fromkeys(n for chain in chains for n in chain)
    local = [n for n in named if isinstance(models.models.get(n), LlamaCppModel)]
    return local or [fallback]


def _names(name: str | Sequence[str]) -> list[str]:
    names = [name] if isinstance(name, str) else list(dict.fromkeys(name))
    if not names:
        raise ValueError("no model to serve")
    return names


def build_llm_app(models: ModelsConfig, name: str | Sequence[str]) -> Any:
    """The Serve ``Application`` serving model ``name`` (or several llama.cpp models).

    Raises:
        UnknownName: a name is not in models.yaml.
        ConfigError: the backend needs no Serve app (``openai``, ``scripted``), or several
            models are asked for and one is not a llama.cpp model.
    """
    names = _names(name)
    specs = {n: _spec(models, n) for n in names}
    if all(isinstance(spec, LlamaCppModel) for spec in specs.values()):
        from serve_apps.llm.llamacpp import build_llamacpp_app

        return build_llamacpp_app({n: (s, draft_spec(models, s)) for n, s in specs.items()})
    first = names[0]
    if len(names) > 1:
        raise ConfigError(
            file="models.yaml",
            key=f"models.{first}.backend",
            problem="one app serves several models only when all are llamacpp models",
        )
    spec = specs[first]
    if isinstance(spec, VllmModel):
        from serve_apps.llm.vllm import build_vllm_app

        return build_vllm_app(spec)
    raise ConfigError(
        file="models.yaml",
        key=f"models.{first}.backend",
        problem=f"backend {spec.backend!r} has no Serve app; served backends: {', '.join(SERVED)}",
    )


def app_builder(args: dict[str, Any]) -> Any:
    """Entry point for a Serve config file.

    ``import_path: serve_apps.llm:app_builder`` with ``args: {model: local-qwen-coder}`` (or
    ``models: [local-qwen-1.5b, local-qwen-coder]``, llama.cpp models in one app) and optionally
    ``models_file: /path/to/models.yaml``.
    """
    models_file = args.get("models_file")
    if models_file:
        path = Path(models_file)
        models = parse(str(path), path.read_text(), ModelsConfig)
    else:
        models = load("models.yaml")
    names = args.get("models") or [str(args.get("model") or models.routing["default"][0])]
    return build_llm_app(models, [str(n) for n in names])


def deploy_llm(
    models: ModelsConfig,
    name: str | Sequence[str],
    *,
    host: str | None = None,
    port: int | None = None,
    route_prefix: str = "/llm",
    app_name: str = "llm",
) -> str:
    """Deploy model ``name`` (or several llama.cpp models, one URL) on the running Serve
    instance; return the OpenAI base URL.

    ``host``/``port`` are those of the Serve HTTP proxy; by default they are read from
    the running Serve instance (``serve.start(http_options=...)``).
    For an ``openai`` model nothing is deployed and its own base URL is returned.
    Blocks until the replicas are healthy (every model loaded).

    Raises:
        WeightsMismatch: a llama.cpp model's file is not the one models.yaml pins.
        ConfigError: its packages are not installed.
    """
    names = _names(name)
    spec = _spec(models, names[0])
    if len(names) == 1 and isinstance(spec, OpenAIModel):
        return spec.base_url.rstrip("/")
    for n in names:
        _check_weights(models, n)
    app = build_llm_app(models, names)
    from ray import serve

    serve.run(app, name=app_name, route_prefix=route_prefix)
    if host is None or port is None:
        proxy_host, proxy_port = proxy_address()
        host, port = host or proxy_host, port or proxy_port
    return f"http://{host}:{port}{route_prefix.rstrip('/')}/v1"


def _check_weights(models: ModelsConfig, name: str) -> None:
    # Assemble and verify here, in the caller's process, so a missing package or a
    # tampered file is a clear error (with progress), not a failed Serve replica.
    spec = _spec(models, name)
    if not isinstance(spec, LlamaCppModel):
        return
    from serve_apps.llm.weights import model_weights

    model_weights(spec, name=name, progress=True)
    draft = draft_spec(models, spec)
    if draft is not None and spec.speculative is not None:
        model_weights(draft, name=str(spec.speculative.draft_model), progress=True)


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
