"""The one place that turns a plain class into a named, detached, restartable Ray actor.

Actors are plain classes (testable without Ray); this builder applies
``ray.remote(...).options(...)`` at call time, never at import time.
"""

from __future__ import annotations

import functools
import inspect
import os
from dataclasses import dataclass
from typing import Any

import ray

from fleet.context.masking import install_log_redaction

NAMESPACE = "swe-fleet"


@dataclass(frozen=True)
class ActorOptions:
    """Distributed concerns of one actor; the defaults suit the fleet's I/O-bound actors."""

    name: str
    namespace: str = NAMESPACE
    num_cpus: float = 0.0  # I/O-bound: waits on models, Redis, the sandbox (see FACTS.md)
    max_restarts: int = -1
    max_task_retries: int = 0
    max_concurrency: int | None = None
    detached: bool = True
    resources: dict[str, float] | None = None


def build(cls: type, opts: ActorOptions, *args: Any, **kwargs: Any) -> Any:
    """Create the named actor, or return the running one (``get_if_exists=True``)."""
    options: dict[str, Any] = {
        "name": opts.name,
        "namespace": opts.namespace,
        "num_cpus": opts.num_cpus,
        "max_restarts": opts.max_restarts,
        "max_task_retries": opts.max_task_retries,
        "get_if_exists": True,
    }
    if opts.detached:
        options["lifetime"] = "detached"
    if opts.max_concurrency:
        options["max_concurrency"] = opts.max_concurrency
    resources = dict(opts.resources or {})
    # On KubeRay the CPU worker group advertises this custom resource; asking for a sliver keeps
    # the fleet's actors off the head and the GPU nodes. Unset on the embedded default.
    placement = os.environ.get("FLEET_ACTOR_RESOURCE")
    if placement:
        resources.setdefault(placement, 0.001)
    if resources:
        options["resources"] = resources
    return ray.remote(_redacting(cls)).options(**options).remote(*args, **kwargs)


@functools.cache
def _redacting(cls: type) -> type:
    """``cls`` whose constructor first masks secrets in the actor process's log records."""
    base_init: Any = cls.__init__  # type: ignore[misc]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        install_log_redaction()
        base_init(self, *args, **kwargs)

    # the signature Ray checks actor arguments against (not functools.wraps: Ray unwraps
    # __wrapped__ and cannot annotate a C slot such as object.__init__)
    __init__.__signature__ = inspect.signature(base_init)  # type: ignore[attr-defined]
    return type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__})


def lookup(name: str, namespace: str = NAMESPACE) -> Any:
    """Handle of a running named actor, or ``None``."""
    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        return None
