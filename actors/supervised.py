"""The fleet's sandbox supervisor actor as ports: the ``Sandbox`` and evidence runs over it."""

from __future__ import annotations

from typing import Any

import ray

from actors.builder import NAMESPACE, lookup
from fleet.contracts import TaskResult, TaskSpec
from fleet.errors import SandboxUnavailable


class SupervisorSandbox:
    """The Sandbox port over a named sandbox supervisor actor (``actors/sandbox.py``)."""

    def __init__(self, name: str, namespace: str = NAMESPACE) -> None:
        self.name, self.namespace = name, namespace

    def run(self, spec: TaskSpec) -> TaskResult:
        handle = lookup(self.name, self.namespace)
        if handle is None:
            raise SandboxUnavailable(
                backend=f"actor {self.name}", reason="no such actor is running"
            )
        try:
            return ray.get(handle.run.remote(spec))
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
            # the supervisor died under the run (Ray's one retry spent): an outage, not a result
            raise SandboxUnavailable(
                backend=f"actor {self.name}", reason=f"supervisor lost: {exc}"
            ) from None


def supervised_evidence(
    supervisor: str,
    *,
    namespace: str = NAMESPACE,
    root: str,
    concurrency: int | None = None,
    envs_root: str | None = None,
) -> Any:
    """Evidence runs through the named sandbox supervisor (parallel up to its concurrency), in
    the target environments under ``envs_root`` (the workspace runner's root: built once)."""
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.adapters.workspace import Toolchain

    if concurrency is None:
        handle = lookup(supervisor, namespace)
        concurrency = ray.get(handle.check_health.remote())["concurrency"] if handle else 2
    return SandboxEvidence(
        SupervisorSandbox(supervisor, namespace),
        root=root,
        concurrency=concurrency,
        tools=Toolchain(envs_root=envs_root),
    )
