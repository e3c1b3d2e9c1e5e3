"""The story state machine, driven by ``config/lifecycle.yaml``.

Guards are boolean *facts* the caller computes (``dor_ok``, ``po_approved``,
``attempts_left``...); the FSM only checks them and explains refusals. A fact
the caller did not provide counts as false, so forgetting one never lets a
story through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fleet.config import LifecycleConfig, TransitionSpec, load
from fleet.errors import GuardFailed, InvalidTransition, UnknownName

LOOPBACK_FACT = "attempts_left"


class Lifecycle:
    """The FSM over one :class:`LifecycleConfig`; stateless, so share one instance."""

    def __init__(self, config: LifecycleConfig) -> None:
        self.config = config
        self._by_source: dict[str, list[TransitionSpec]] = {s: [] for s in config.states}
        for t in config.transitions:
            self._by_source[t.source].append(t)

    @classmethod
    def from_config(cls) -> Lifecycle:
        """The FSM from ``lifecycle.yaml`` in the config directory (``fleet.config.config_dir``)."""
        return cls(load("lifecycle.yaml"))

    @property
    def initial(self) -> str:
        return self.config.initial

    def _check_state(self, state: str) -> None:
        if state not in self._by_source:
            raise UnknownName(what="story state", name=state, valid=list(self.config.states))

    def allowed(self, state: str) -> list[TransitionSpec]:
        """Transitions out of ``state``, in config order (empty for a terminal state)."""
        self._check_state(state)
        if self.is_terminal(state):
            return []
        return list(self._by_source[state])

    def is_terminal(self, state: str) -> bool:
        self._check_state(state)
        return state in self.config.terminal

    def _describe(self, state: str) -> list[str]:
        return [f"{t.name} -> {t.target}" for t in self.allowed(state)]

    def _matching(self, state: str, target: str) -> list[TransitionSpec]:
        """Transitions from ``state`` whose target state or name is ``target``."""
        return [t for t in self.allowed(state) if target in (t.target, t.name)]

    def human_gate(self, state: str, target: str) -> str | None:
        """The PO gate (scope, design, acceptance) the move needs, or None.

        Raises:
            InvalidTransition: no such move from ``state``.
        """
        return self._resolve(state, target)[0].human_gate

    def _resolve(self, state: str, target: str) -> list[TransitionSpec]:
        self._check_state(state)
        found = self._matching(state, target)
        if not found:
            reason = (
                f"{state} is a terminal state"
                if self.is_terminal(state)
                else f"no transition from {state} to {target}"
            )
            raise InvalidTransition(
                state=state, target=target, reason=reason, allowed=self._describe(state)
            )
        return found

    def failed_guards(self, spec: TransitionSpec, facts: Mapping[str, bool]) -> list[str]:
        """Each guard of ``spec`` that is false or missing, with what it means."""
        out = []
        for guard in spec.guards:
            value = facts.get(guard)
            if value is True:
                continue
            state = "not provided" if value is None else "false"
            out.append(f"{guard} is {state} ({self.config.guards[guard]})")
        return out

    def transition(self, state: str, target: str, facts: Mapping[str, bool]) -> TransitionSpec:
        """Check the move ``state -> target`` (a state or a transition name).

        Returns the transition that fires (the first in config order whose guards hold).

        Raises:
            UnknownName: ``state`` is not a state of this lifecycle.
            InvalidTransition: no such move; the message lists the allowed ones.
            GuardFailed: the move exists but a guard is false; names each failed guard.
        """
        candidates = self._resolve(state, target)
        failures: list[str] = []
        for spec in candidates:
            failed = self.failed_guards(spec, facts)
            if not failed:
                return spec
            failures.append(f"{spec.name}: " + "; ".join(failed))
        raise GuardFailed(
            state=state,
            target=target,
            reason="guard failed: " + " | ".join(failures),
            allowed=self._describe(state),
        )

    # ------------------------------------------------------------------ loop-backs

    def loopbacks(
        self, history: Iterable[tuple[str, str]], *, source: str = "TEST", target: str = "BUILD"
    ) -> int:
        """How many ``source -> target`` loop-backs a story's (from, to) history holds."""
        return sum(1 for frm, to in history if (frm, to) == (source, target))

    def attempts_left(self, loopbacks_done: int) -> bool:
        """The ``attempts_left`` fact: fewer than ``max_loopbacks`` loops so far."""
        return loopbacks_done < self.config.max_loopbacks

    def with_attempts(self, facts: Mapping[str, bool], loopbacks_done: int) -> dict[str, bool]:
        """``facts`` plus the computed ``attempts_left`` fact."""
        return {**facts, LOOPBACK_FACT: self.attempts_left(loopbacks_done)}
