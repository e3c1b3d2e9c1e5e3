"""The fleet's exceptions: control-flow signals, user/config errors, infra errors.

All of them pickle with their typed fields intact, because Ray re-raises
exceptions in the caller's process.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[FleetError], message: str, fields: dict[str, Any]) -> FleetError:
    err = cls.__new__(cls)
    FleetError.__init__(err, message, **fields)
    return err


class FleetError(Exception):
    """Base of every fleet error; ``fields`` holds the typed details."""

    def __init__(self, message: str = "", **fields: Any) -> None:
        self.fields = fields
        for name, value in fields.items():
            setattr(self, name, value)
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self.fields))


# --------------------------------------------------------------------- control flow


class ControlSignal(FleetError):
    """Not a failure: tells the orchestrator to stop and wait for someone."""


class BudgetExceeded(ControlSignal):
    def __init__(self, *, scope: str, limit: float, spent: float, unit: str = "tokens") -> None:
        super().__init__(
            f"budget for {scope} spent: {spent:g} of {limit:g} {unit}",
            scope=scope,
            limit=limit,
            spent=spent,
            unit=unit,
        )


class ParkedForHuman(ControlSignal):
    def __init__(self, *, story_id: str, gate: str, reason: str) -> None:
        super().__init__(
            f"story {story_id} waits for the PO at {gate}: {reason}",
            story_id=story_id,
            gate=gate,
            reason=reason,
        )


class VersionConflict(ControlSignal):
    """A compare-and-set lost the race: re-read and retry."""

    def __init__(self, *, key: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{key}: expected version {expected}, found {actual}",
            key=key,
            expected=expected,
            actual=actual,
        )


# --------------------------------------------------------------------- user / config


class UserError(FleetError):
    """The input was wrong; the message says how to fix it."""


class ConfigError(UserError):
    def __init__(self, *, file: str, key: str, problem: str) -> None:
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}", file=file, key=key, problem=problem)


class UnknownName(UserError):
    """A name (role, model, backend, profile...) that is not configured."""

    def __init__(self, *, what: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        super().__init__(
            f"unknown {what} {name!r}; valid: {', '.join(sorted(valid)) or '(none)'}",
            what=what,
            name=name,
            valid=tuple(valid),
        )


class InvalidTransition(UserError):
    def __init__(
        self, *, state: str, target: str, reason: str, allowed: list[str] | tuple[str, ...]
    ) -> None:
        allowed_s = ", ".join(allowed) or "(none: terminal state)"
        super().__init__(
            f"cannot move {state} -> {target}: {reason}. Allowed from {state}: {allowed_s}",
            state=state,
            target=target,
            reason=reason,
            allowed=tuple(allowed),
        )


class GuardFailed(InvalidTransition):
    """A transition exists but its guard refused it."""


class PolicyDenied(UserError):
    def __init__(self, *, role: str, phase: str, argv: tuple[str, ...], rule: str) -> None:
        super().__init__(
            f"{role} may not run {' '.join(argv)!r} in {phase}: {rule}",
            role=role,
            phase=phase,
            argv=tuple(argv),
            rule=rule,
        )


class NotFound(UserError):
    def __init__(self, *, what: str, id: str) -> None:
        super().__init__(f"{what} {id!r} not found", what=what, id=id)


class ResourceConflict(UserError):
    """A Kubernetes object already exists or was changed concurrently (HTTP 409)."""

    def __init__(self, *, kind: str, name: str, reason: str) -> None:
        super().__init__(
            f"{kind} {name!r}: conflict: {reason}", kind=kind, name=name, reason=reason
        )


class ResourceInvalid(UserError):
    """A Kubernetes object fails its schema, locally or on the API server (HTTP 422)."""

    def __init__(self, *, kind: str, name: str, problems: list[str] | tuple[str, ...]) -> None:
        super().__init__(
            f"{kind} {name!r} is invalid: " + "; ".join(problems),
            kind=kind,
            name=name,
            problems=tuple(problems),
        )


class InvalidInput(UserError):
    """A value failed validation; ``field`` names the part at fault (e.g. ``payload.title``)."""

    def __init__(self, *, what: str, field: str, problem: str) -> None:
        super().__init__(
            f"invalid {what}: {field}: {problem}", what=what, field=field, problem=problem
        )


# --------------------------------------------------------------------- infrastructure


class InfraError(FleetError):
    """Something outside the fleet failed (a server, a binary, a model)."""


class SandboxUnavailable(InfraError):
    def __init__(self, *, backend: str, reason: str) -> None:
        super().__init__(f"sandbox {backend} cannot run: {reason}", backend=backend, reason=reason)


class ModelUnavailable(InfraError):
    def __init__(self, *, model: str, reason: str) -> None:
        super().__init__(f"model {model} unavailable: {reason}", model=model, reason=reason)


class InvalidModelOutput(InfraError):
    def __init__(self, *, model: str, reason: str, raw: str) -> None:
        super().__init__(
            f"model {model} returned invalid output ({reason}): {raw[:500]!r}",
            model=model,
            reason=reason,
            raw=raw,
        )


class StorageUnavailable(InfraError):
    def __init__(self, *, what: str, reason: str) -> None:
        super().__init__(f"{what} unavailable: {reason}", what=what, reason=reason)


class WorkspaceUnavailable(InfraError):
    """A workspace could not be created from its git source (bad path/URL, clone failed)."""

    def __init__(self, *, source: str, reason: str) -> None:
        super().__init__(
            f"workspace from {source} unavailable: {reason}", source=source, reason=reason
        )


class RayUnavailable(InfraError):
    """The local Ray head did not start or does not answer."""

    def __init__(self, *, what: str, reason: str) -> None:
        super().__init__(f"{what} unavailable: {reason}", what=what, reason=reason)


class QuorumLost(InfraError):
    """Too few council members answered a phase for the deliberation to go on."""

    def __init__(
        self,
        *,
        deliberation_id: str,
        round: int,
        present: int,
        quorum: int,
        missing: tuple[str, ...] = (),
        why: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            f"council {deliberation_id} lost quorum in round {round}: {present} of the needed {quorum} "
            f"members answered (missing: {', '.join(missing) or 'none'})"
            + (f"; why: {'; '.join(why)}" if why else ""),
            deliberation_id=deliberation_id,
            round=round,
            present=present,
            quorum=quorum,
            missing=tuple(missing),
            why=tuple(why),
        )


class ClusterError(InfraError):
    """The Kubernetes API cannot be reached or answered with an unexpected error."""

    def __init__(self, *, server: str, reason: str) -> None:
        super().__init__(f"Kubernetes API {server}: {reason}", server=server, reason=reason)


class PortInUse(InfraError):
    def __init__(self, *, port: int, what: str) -> None:
        super().__init__(
            f"port {port} for {what} is already in use by another program; "
            f"free it or change the port in config/fleet.yaml",
            port=port,
            what=what,
        )
