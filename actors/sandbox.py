"""Sandbox supervisor: a long-lived named actor that queues, limits and audits sandboxed runs.

A plain class (testable without Ray) hosted as a threaded actor by :func:`build_supervisor`.
Each ``run`` call waits in one FIFO queue until a slot is free under both the global
concurrency limit and its role's quota; ``cancel`` removes a queued run or kills a running
one (its whole process tree); the supervisor keeps serving whatever one run does. Runs go
through policy + audit (``AuditedSandbox``), which runs a run lost to the infrastructure (its
sandbox killed from outside, the run machinery crashing, the disk full) once more and raises
``SandboxUnavailable`` after a second loss: never a failing command.

When the supervisor's process dies (killed, its node lost), Ray restarts it and re-sends the
calls it was running or queueing to the new one (``max_task_retries``): a run is a check on
a workspace its command cannot change (tests, lint, coverage write only to its output
directory), so running it again is safe, and the story waiting for it goes on instead of
redoing its step.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from actors.builder import NAMESPACE, ActorOptions, build
from fleet.adapters import registry
from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.config import PolicyConfig, load
from fleet.contracts import TaskResult, TaskSpec
from fleet.policy import PolicyEngine

NAME = "sandbox-supervisor"
# How long a lost run waits before it runs again. Ray's ray.kill / worker exit SIGKILLs this
# process's children first and exits a few ms later: waiting lets the exit win, so the caller
# sees the actor die (RayActorError) and Ray re-sends the call to the restarted supervisor,
# instead of the dying one starting the run again. A genuine outside kill (OOM killer, an
# operator) is run again, just later.
EXTERNAL_KILL_GRACE_S = 3.0


@dataclass(frozen=True, kw_only=True)
class AuditLog:
    """Where the runs' audit events go: the event log at ``redis_url`` under ``prefix``, waiting up
    to ``patience_s`` through a storage outage (None instead: no audit events)."""

    redis_url: str
    prefix: str = "fleet"
    patience_s: float = 0.0


class SandboxSupervisor:
    """Queue + concurrency limit + per-role quotas in front of an audited bwrap sandbox."""

    def __init__(
        self,
        *,
        concurrency: int = 2,
        quotas: dict[str, int] | None = None,
        policy: PolicyConfig | None = None,
        audit: AuditLog | None = None,
        use_cgroups: bool = True,
        sandbox: dict[str, Any] | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.quotas = dict(quotas or {})
        events = None
        if audit is not None:
            events = registry.event_log(
                audit.redis_url, prefix=audit.prefix, patience_s=audit.patience_s
            )
        # ``sandbox``: a SandboxConfig as a dict (None: fleet.yaml's sandbox.backend)
        cfg = registry.sandbox_config(sandbox)
        options = {"use_cgroups": use_cgroups} if cfg.backend == "bwrap" else {}
        self._backend = registry.sandbox(cfg, **options)
        self._sandbox = AuditedSandbox(
            self._backend,
            PolicyEngine(policy or load("policy.yaml")),
            events=events,
            lost_wait_s=EXTERNAL_KILL_GRACE_S,
        )
        self._cond = threading.Condition()
        self._queue: deque[tuple[str, str]] = deque()
        self._running: dict[str, str] = {}  # spec id -> role
        self._cancelled: set[str] = set()
        self._done = 0
        self._errors = 0

    # ------------------------------------------------------------------ admission
    def _next_admissible(self) -> tuple[str, str] | None:
        per_role: dict[str, int] = {}
        for role in self._running.values():
            per_role[role] = per_role.get(role, 0) + 1
        if len(self._running) >= self.concurrency:
            return None
        for ticket in self._queue:
            if per_role.get(ticket[1], 0) < self.quotas.get(ticket[1], self.concurrency):
                return ticket
        return None

    def _admit(self, spec: TaskSpec) -> bool:
        ticket = (spec.id, spec.context.role)
        with self._cond:
            self._queue.append(ticket)
            while self._next_admissible() != ticket and spec.id not in self._cancelled:
                self._cond.wait()
            self._queue.remove(ticket)
            if spec.id in self._cancelled:
                self._cancelled.discard(spec.id)
                self._cond.notify_all()
                return False
            self._running[spec.id] = spec.context.role
            return True

    # ------------------------------------------------------------------ API
    def run(self, spec: TaskSpec) -> TaskResult:
        """Queue, then run ``spec`` under policy, limits and audit.

        Raises:
            SandboxUnavailable: the backend cannot run at all (never runs unsandboxed), or the
                run was lost to the infrastructure twice.
        """
        if not self._admit(spec):
            return TaskResult(
                spec_id=spec.id,
                status="killed",
                reason="cancelled while queued",
                backend=self._sandbox.name,
            )
        try:
            return self._sandbox.run(spec)
        except Exception:  # SandboxUnavailable: the caller's outage; the supervisor goes on
            self._errors += 1
            raise
        finally:
            with self._cond:
                self._running.pop(spec.id, None)
                self._cancelled.discard(spec.id)
                self._done += 1
                self._cond.notify_all()

    def cancel(self, spec_id: str) -> bool:
        """Cancel a queued or running spec; True if it was found."""
        with self._cond:
            queued = any(t[0] == spec_id for t in self._queue)
            running = spec_id in self._running
            if queued or running:
                self._cancelled.add(spec_id)
                self._cond.notify_all()
        # The run may be admitted but not spawned yet; retry until the backend has it or it ended.
        for _ in range(200 if running else 0):
            if self._sandbox.cancel(spec_id):
                break
            with self._cond:
                if spec_id not in self._running:
                    break
            time.sleep(0.01)
        return queued or running

    def close(self) -> None:
        """Kill the backend's launches armed in advance (also done when it is collected)."""
        self._backend.close()

    def check_health(self) -> dict[str, Any]:
        """Raise ``SandboxUnavailable`` when bwrap cannot run; else the supervisor's state."""
        self._backend.check()
        with self._cond:
            return {
                "ok": True,
                "backend": self._sandbox.name,
                "running": sorted(self._running),
                "queued": [t[0] for t in self._queue],
                "done": self._done,
                "errors": self._errors,
                "concurrency": self.concurrency,
                "quotas": dict(self.quotas),
            }


RUN_RETRIES = 1  # a call cut short by the supervisor's death runs once more on the restarted one


def build_supervisor(name: str = NAME, *, namespace: str | None = None, **kwargs: Any) -> Any:
    """The named, detached supervisor actor (created once, then reused)."""
    opts = ActorOptions(
        name=name,
        max_concurrency=64,
        max_restarts=-1,
        max_task_retries=RUN_RETRIES,
        namespace=namespace or NAMESPACE,
    )
    return build(SandboxSupervisor, opts, **kwargs)
