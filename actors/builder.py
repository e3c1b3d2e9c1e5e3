"""The one place that turns a plain class into a named, detached, restartable Ray actor.

Actors are plain classes (testable without Ray); this builder applies
``ray.remote(...).options(...)`` at call time, never at import time.
"""

from __future__ import annotations

import functools
import inspect
import zlib
from dataclasses import dataclass
from typing import Any

import ray

from fleet.context.masking import install_log_redaction
from fleet.settings import env_name, settings

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
    niceness: int | None = 0
    """The actor's process priority. Ray starts workers at nice 15 so that its own daemons stay
    responsive; the fleet's actors are its control plane (drivers, council, sandbox), and at 15
    any other work on the machine starved them: a fault's recovery (restarted actors) took
    minutes under load. ``None`` keeps Ray's default."""


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
    if opts.resources:
        options["resources"] = dict(opts.resources)
    env = {"RAY_worker_niceness": str(opts.niceness)} if opts.niceness is not None else {}
    where = placement(opts.name)
    env |= where.pop("runtime_env", {}).get("env_vars", {})
    options |= where
    if env:  # read by the raylet when it starts the actor's worker process
        options["runtime_env"] = {"env_vars": env}
    return ray.remote(_redacting(cls)).options(**options).remote(*args, **kwargs)


PLACEMENT_ENV = env_name("actor_resource")


def placement(name: str) -> dict[str, Any]:
    """A *soft* preference for the nodes advertising the ``actor_resource`` setting's resource.

    On KubeRay the CPU worker group advertises that custom resource (the embedded default
    leaves it unset). The actor goes to one of those nodes (picked by its name, so the
    fleet's actors spread over them), but the preference is soft: when that node dies, Ray
    restarts the actor (``max_restarts``) on any node that is left instead of keeping it
    pending, and with no such node alive the actor goes anywhere. The variable is passed on
    in the actor's environment, so the actors it builds (the orchestrator builds the council,
    the agents and the sandbox supervisor) get the same preference.
    """
    resource = settings().actor_resource
    if not resource:
        return {}
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    options: dict[str, Any] = {"runtime_env": {"env_vars": {PLACEMENT_ENV: resource}}}
    nodes = sorted(
        n["NodeID"] for n in ray.nodes() if n.get("Alive") and n["Resources"].get(resource, 0) > 0
    )
    if nodes:
        node = nodes[zlib.crc32(name.encode()) % len(nodes)]
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
        # Measured on Ray 2.60: a detached actor that asks for no resource at all (num_cpus=0)
        # may be granted by whichever raylet its lease reaches, ignoring the soft affinity (2 of
        # 6 actors created by another actor landed off the node); a token request makes it stick.
        options["memory"] = TOKEN_MEMORY
    return options


TOKEN_MEMORY = 1 << 20  # bytes of Ray's logical ``memory`` resource, a scheduling hint only


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
