"""Policy + audit in front of any sandbox backend.

Every attempt is decided by the :class:`~fleet.policy.PolicyEngine` and recorded
as a ``policy.decision`` event (allowed or not, with the deciding rule); every
run that happens is recorded as a ``sandbox.run`` event carrying the
``TaskResult``. The memory projector turns both into ToolExecution nodes.
A denied command never reaches the backend: it comes back as
``TaskResult(status="denied")`` naming the rule.

A run the infrastructure cut short — its sandbox SIGKILLed from outside, the run machinery
crashing, the disk full — says nothing about the command, so it is never handed to the caller as
the command's result (a gate would count it as a failing test): it is recorded as a ``sandbox.run``
of its own (``<spec>:lost<n>``), then run once more from a fresh sandbox; a second loss raises
``SandboxUnavailable``, an outage for the caller.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fleet.adapters.bwrap_sandbox import EXTERNAL_KILL, fleet_python
from fleet.clock import SystemClock
from fleet.contracts import TaskResult, TaskSpec
from fleet.errors import FleetError, SandboxUnavailable
from fleet.events import Envelope, make_event
from fleet.policy import PolicyDecision, PolicyEngine
from fleet.ports import Clock, EventLog, Sandbox

NO_STORY = "_sandbox"  # timeline for runs that belong to no story (benchmarks, health probes)
SAFE_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
LOST_RETRIES = 1  # a lost run runs once more on a fresh sandbox; a second loss is an outage
LOW_DISK_BYTES = 64 * 2**20  # "No space left on device" with less free than this: the disk is full
ENOSPC_TEXT = "No space left on device"

log = logging.getLogger(__name__)


def lost_run(spec: TaskSpec, result: TaskResult) -> str | None:
    """Why ``result`` is the infrastructure's failure rather than the command's (None: it is the
    command's). A full disk counts only when the workspace's file system is full now: a test may
    print ENOSPC for reasons of its own."""
    if result.status == "killed" and result.reason == EXTERNAL_KILL:
        return EXTERNAL_KILL
    if result.status in ("passed", "denied"):
        return None
    if ENOSPC_TEXT in result.stderr[-4000:] + result.stdout[-4000:]:
        where = spec.workspace or "/tmp"
        try:
            free = shutil.disk_usage(where).free
        except OSError:
            return None
        if free < LOW_DISK_BYTES:
            return f"out of disk: {free // 2**20} MiB free on {where}"
    return None


def trusted_dirs() -> tuple[str, ...]:
    """Where executables may come from: the pinned PATH, then the fleet's own venv."""
    return (*SAFE_DIRS, os.path.dirname(fleet_python()))


def resolve_executable(argv0: str, dirs: Sequence[str]) -> str | None:
    """``argv0`` as an absolute executable in one of ``dirs`` (a bare name is searched for in
    them, in order); ``None`` when it is elsewhere (the workspace, say) or not executable."""
    if "/" in argv0:
        if not os.path.isabs(argv0) or os.path.normpath(argv0) != argv0:
            return None
        if os.path.dirname(argv0) not in dirs:
            return argv0 if _venv_of_trusted(argv0, dirs) else None
        candidates = [argv0]
    else:
        candidates = [os.path.join(d, argv0) for d in dirs]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _venv_of_trusted(path: str, dirs: Sequence[str]) -> bool:
    """A virtualenv's ``python``: a link to the very interpreter a trusted ``python`` is (the
    target's environment, made with the fleet's interpreter). What runs is that binary."""
    if os.path.basename(path) not in ("python", "python3") or not os.path.islink(path):
        return False
    real = os.path.realpath(path)
    trusted = {os.path.realpath(os.path.join(d, n)) for d in dirs for n in ("python", "python3")}
    return os.path.isfile(real) and os.access(real, os.X_OK) and real in trusted


@dataclass(frozen=True, kw_only=True)
class HostView:
    """What of the host a sandboxed run may get: the environment the policy filters (None:
    this process's) and the directories a command's program may come from (None:
    :func:`trusted_dirs`)."""

    env: Mapping[str, str] | None = None
    executable_dirs: Sequence[str] | None = None


class AuditedSandbox:
    """``fleet.ports.Sandbox`` that enforces policy, scrubs env and audits through an EventLog."""

    actor = "sandbox"  # the actor its events name

    def __init__(
        self,
        backend: Sandbox,
        policy: PolicyEngine,
        *,
        events: EventLog | None = None,
        clock: Clock | None = None,
        host: HostView | None = None,
        lost_wait_s: float = 0.0,
    ) -> None:
        host = host or HostView()
        self.backend = backend
        self.policy = policy
        self._events = events
        self._clock = clock or SystemClock()
        self._host_env = dict(os.environ if host.env is None else host.env)
        dirs = host.executable_dirs
        self._dirs = tuple(dirs) if dirs is not None else trusted_dirs()
        # before a lost run is run again (the supervisor's: its own process may be dying)
        self._lost_wait_s = lost_wait_s

    @property
    def name(self) -> str:
        return f"audited:{getattr(self.backend, 'name', type(self.backend).__name__)}"

    def _emit(self, spec: TaskSpec, type_: str, *, key: str, **kw: object) -> None:
        if self._events is None:
            return
        story = spec.context.story_id or NO_STORY
        envelope = Envelope(actor=self.actor, key=key)
        event = make_event(story, type_, clock=self._clock, envelope=envelope, **kw)
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
            SandboxUnavailable: from the backend (the decision is audited before), or the run was
                lost to the infrastructure twice.
        """
        ctx = spec.context
        decision = self.policy.decide(
            spec.cmd, role=ctx.role, phase=ctx.phase, env=spec.env, network=spec.network
        )
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
            return self._run_allowed(spec, spec.model_copy(update={"env": env, "cmd": cmd}))
        self._record(spec, result)
        return result

    def _record(self, spec: TaskSpec, result: TaskResult, *, key: str | None = None) -> None:
        ctx = spec.context
        data = {
            "argv": list(spec.cmd),
            "role": ctx.role,
            "phase": ctx.phase,
            "task_id": ctx.task_id,
        }
        self._emit(spec, "sandbox.run", payload=result, data=data, key=key)

    def _run_allowed(self, spec: TaskSpec, ready: TaskSpec) -> TaskResult:
        """Run on the backend; a lost run (see the module docstring) runs again, then raises."""
        why = ""
        for attempt in range(LOST_RETRIES + 1):
            try:
                result = self.backend.run(ready)
            except FleetError:
                raise  # SandboxUnavailable and the like: the backend's own verdict
            except Exception as exc:  # the run machinery crashed: no verdict on the command
                result = TaskResult(
                    spec_id=spec.id,
                    status="error",
                    reason=f"{type(exc).__name__}: {exc}"[:500],
                    backend=self.name,
                )
                why = result.reason
            else:
                why = lost_run(spec, result) or ""
                if not why:
                    self._record(spec, result)
                    return result
            self._record(spec, result, key=f"{spec.id}:lost{attempt}")
            log.warning("sandbox run %s lost (%s); attempt %d", spec.id, why, attempt + 1)
            if self._lost_wait_s:
                time.sleep(self._lost_wait_s)
        raise SandboxUnavailable(
            backend=self.name, reason=f"run {spec.id} lost {LOST_RETRIES + 1} times: {why}"
        )

    def cancel(self, spec_id: str) -> bool:
        """Cancel a running spec on the backend, if the backend supports it."""
        cancel = getattr(self.backend, "cancel", None)
        return bool(cancel(spec_id)) if cancel else False
