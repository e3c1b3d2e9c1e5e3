"""Policy + audit in front of any sandbox backend.

Every attempt is decided by the :class:`~fleet.policy.PolicyEngine` and recorded
as a ``policy.decision`` event (allowed or not, with the deciding rule); every
run that happens is recorded as a ``sandbox.run`` event carrying the
``TaskResult``. The memory projector turns both into ToolExecution nodes.
A denied command never reaches the backend: it comes back as
``TaskResult(status="denied")`` naming the rule.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from fleet.contracts import TaskResult, TaskSpec
from fleet.events import make_event
from fleet.fakes import SystemClock
from fleet.policy import PolicyDecision, PolicyEngine
from fleet.ports import Clock, EventLog, Sandbox

NO_STORY = "_sandbox"  # timeline for runs that belong to no story (benchmarks, health probes)
SAFE_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def trusted_dirs() -> tuple[str, ...]:
    """Where executables may come from: the pinned PATH, then the fleet's own venv."""
    return (*SAFE_DIRS, os.path.dirname(os.path.abspath(sys.executable)))


def resolve_executable(argv0: str, dirs: Sequence[str]) -> str | None:
    """``argv0`` as an absolute executable in one of ``dirs`` (a bare name is searched for in
    them, in order); ``None`` when it is elsewhere (the workspace, say) or not executable."""
    if "/" in argv0:
        if not os.path.isabs(argv0) or os.path.normpath(argv0) != argv0:
            return None
        candidates = [argv0] if os.path.dirname(argv0) in dirs else []
    else:
        candidates = [os.path.join(d, argv0) for d in dirs]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


class AuditedSandbox:
    """``fleet.ports.Sandbox`` that enforces policy, scrubs env and audits through an EventLog."""

    def __init__(
        self,
        backend: Sandbox,
        policy: PolicyEngine,
        *,
        events: EventLog | None = None,
        clock: Clock | None = None,
        host_env: Mapping[str, str] | None = None,
        actor: str = "sandbox",
        executable_dirs: Sequence[str] | None = None,
    ) -> None:
        self.backend = backend
        self.policy = policy
        self._events = events
        self._clock = clock or SystemClock()
        self._host_env = dict(os.environ if host_env is None else host_env)
        self._actor = actor
        self._dirs = tuple(executable_dirs) if executable_dirs is not None else trusted_dirs()

    @property
    def name(self) -> str:
        return f"audited:{getattr(self.backend, 'name', type(self.backend).__name__)}"

    def _emit(self, spec: TaskSpec, type_: str, **kw: object) -> None:
        if self._events is None:
            return
        event = make_event(
            spec.context.story_id or NO_STORY, type_, clock=self._clock, actor=self._actor, **kw
        )
        self._events.append(event)

    def _audit_decision(self, spec: TaskSpec, decision: PolicyDecision) -> None:
        ctx = spec.context
        data = {
            "allowed": decision.allowed,
            "rule": decision.rule,
            "reason": decision.reason,
            "argv": list(spec.cmd),
            "role": ctx.role,
            "phase": ctx.phase,
            "spec_id": spec.id,
            "task_id": ctx.task_id,
        }
        self._emit(spec, "policy.decision", data=data, key=spec.id)

    def run(self, spec: TaskSpec) -> TaskResult:
        """Decide, audit, then run (or refuse) ``spec``.

        Raises:
            SandboxUnavailable: from the backend; the decision is audited before.
        """
        ctx = spec.context
        decision = self.policy.decide(spec.cmd, role=ctx.role, phase=ctx.phase, env=spec.env)
        exe = resolve_executable(spec.cmd[0], self._dirs) if decision.allowed else None
        if decision.allowed and exe is None:
            decision = PolicyDecision(
                False,
                "executable:untrusted",
                f"{spec.cmd[0]!r} is not an executable in a trusted directory "
                f"({', '.join(self._dirs)}); programs never come from the workspace",
            )
        self._audit_decision(spec, decision)
        if not decision.allowed:
            result = TaskResult(
                spec_id=spec.id,
                status="denied",
                backend=self.name,
                reason=f"{decision.rule}: {decision.reason}",
            )
        else:
            # Only allowlisted host variables pass; the spec's own env (checked) is explicit and wins.
            # What runs is the resolved executable the decision was about.
            env = self.policy.filter_env(self._host_env) | dict(spec.env)
            cmd = (exe or spec.cmd[0], *spec.cmd[1:])
            result = self.backend.run(spec.model_copy(update={"env": env, "cmd": cmd}))
        data = {
            "argv": list(spec.cmd),
            "role": ctx.role,
            "phase": ctx.phase,
            "task_id": ctx.task_id,
        }
        self._emit(spec, "sandbox.run", payload=result, data=data)
        return result

    def cancel(self, spec_id: str) -> bool:
        """Cancel a running spec on the backend, if the backend supports it."""
        cancel = getattr(self.backend, "cancel", None)
        return bool(cancel(spec_id)) if cancel else False
