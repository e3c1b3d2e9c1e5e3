"""Tool policy: which argv a role may run in a phase, and which env passes into a run.

Pure and deterministic. Commands are matched on their argv (never a shell
string): the executable is compared by basename (``/usr/bin/python3.11`` is
``python3``), then rule prefixes are compared element by element. Order of
evaluation, first match wins:

1. empty argv, or an argument carrying shell syntax (``;``, ``$(``...) -> deny
2. a shell escape shape (``bash -c``, ``eval``, ``env``...) -> deny unless the
   phase sets ``allow_shell``
3. the phase's ``deny`` prefixes -> deny
4. the phase's ``allow`` prefixes -> allow
5. ``default`` (``deny`` in the shipped policy)

An allowed command is still denied when the run's environment names a variable the policy
does not allow (:meth:`PolicyEngine.env_problem`): ``PATH`` is pinned by the sandbox, and
``LD_*``, ``GCONV_PATH`` and ``PYTHON*`` pass only when ``env_allow`` names them exactly (a
``LC_*``-style pattern never covers them). The sandbox layer resolves the executable to an
absolute path in a trusted directory before running it, so a basename rule cannot be satisfied
by a same-named file in the workspace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fleet.config import PhaseRules, PolicyConfig

_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_DANGEROUS = re.compile(r"^(LD_.*|GCONV_PATH|PYTHON.*|BASH_ENV|ENV|IFS|PATH)$")


@dataclass(frozen=True)
class PolicyDecision:
    """One verdict; ``rule`` names what decided it (audited verbatim)."""

    allowed: bool
    rule: str
    reason: str


def program(argv0: str) -> str:
    """Canonical program name: basename, with ``python3.11`` folded to ``python3``."""
    name = argv0.rsplit("/", 1)[-1]
    if _PYTHON.match(name) and name.startswith("python3."):
        return "python3"
    return name


def _short_flag_matches(want: str, arg: str) -> bool:
    # "-c" must also catch clusters such as "-ec" or "-xc" (bash -ec "...").
    if len(want) == 2 and want[0] == "-" and arg.startswith("-") and not arg.startswith("--"):
        return want[1] in arg[1:]
    return arg == want


def _matches_escape(shape: Sequence[str], argv: Sequence[str]) -> bool:
    if program(argv[0]) != program(shape[0]):
        return False
    # Options after "-m module" or "--" belong to the module/script (pytest -c FILE), not the
    # interpreter, so only the interpreter's own options are examined.
    rest = list(argv[1:])
    for stop in ("-m", "--"):
        if stop in rest:
            rest = rest[: rest.index(stop)]
    return all(any(_short_flag_matches(want, a) for a in rest) for want in shape[1:])


def _matches_prefix(rule: Sequence[str], argv: Sequence[str]) -> bool:
    if len(argv) < len(rule) or program(argv[0]) != program(rule[0]):
        return False
    return all(a == r for a, r in zip(argv[1:], rule[1:], strict=False))


def _show(words: Sequence[str]) -> str:
    return " ".join(words)


class PolicyEngine:
    """Decides per (role, phase) whether an argv may run; see the module docstring."""

    def __init__(self, config: PolicyConfig) -> None:
        self._config = config

    @property
    def config(self) -> PolicyConfig:
        return self._config

    def _rules(self, role: str, phase: str) -> PhaseRules | None:
        return self._config.roles.get(role, {}).get(phase)

    def env_problem(self, env: Mapping[str, str]) -> str | None:
        """The first variable of ``env`` the policy refuses, with why; ``None`` if all may pass."""
        exact = {n for n in self._config.env_allow if not n.endswith("*")}
        prefixes = tuple(n[:-1] for n in self._config.env_allow if n.endswith("*"))
        for name in env:
            if name == "PATH":
                return "PATH is pinned by the sandbox; a run may not set it"
            if name in exact:
                continue
            if _DANGEROUS.match(name):
                return f"{name} can load code into the run; refused unless env_allow names it"
            if not (prefixes and name.startswith(prefixes)):
                return f"{name} is not in the policy's env_allow"
        return None

    def decide(
        self,
        argv: Sequence[str],
        *,
        role: str,
        phase: str,
        env: Mapping[str, str] | None = None,
    ) -> PolicyDecision:
        """Allow or deny ``argv`` (run with ``env``) for ``role`` in ``phase``, naming the rule."""
        decision = self._decide_argv(argv, role=role, phase=phase)
        why = self.env_problem(env or {}) if decision.allowed else None
        if why:
            return PolicyDecision(False, f"env:{why.split(' ', 1)[0]}", why)
        return decision

    def _decide_argv(self, argv: Sequence[str], *, role: str, phase: str) -> PolicyDecision:
        if not argv or not argv[0]:
            return PolicyDecision(False, "empty_argv", "no command given")
        for i, arg in enumerate(argv):
            meta = next((m for m in self._config.metacharacters if m in arg), None)
            if meta is not None:
                return PolicyDecision(
                    False,
                    f"metacharacter:{meta!r}",
                    f"argument {i} ({arg[:80]!r}) contains shell syntax {meta!r}; "
                    "pass an argv list, commands never run through a shell",
                )
        rules = self._rules(role, phase)
        for shape in self._config.shell_escapes:
            if _matches_escape(shape, argv) and not (rules and rules.allow_shell):
                return PolicyDecision(
                    False,
                    f"shell_escape:{_show(shape)}",
                    f"{_show(shape)!r} runs a shell string; not allowed for {role} in {phase}",
                )
        if rules is not None:
            for rule in rules.deny:
                if _matches_prefix(rule, argv):
                    return PolicyDecision(
                        False,
                        f"roles.{role}.{phase}.deny:{_show(rule)}",
                        f"{_show(rule)!r} is denied for {role} in {phase}",
                    )
            for rule in rules.allow:
                if _matches_prefix(rule, argv):
                    return PolicyDecision(
                        True,
                        f"roles.{role}.{phase}.allow:{_show(rule)}",
                        f"{_show(rule)!r} is allowed for {role} in {phase}",
                    )
        allowed = self._config.default == "allow"
        where = "no rule matched" if rules is not None else f"no rules for {role} in {phase}"
        return PolicyDecision(
            allowed,
            f"default:{self._config.default}",
            f"{where}: {program(argv[0])!r} is {'allowed' if allowed else 'not on the allowlist'}",
        )

    def filter_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Only the variables of ``env`` the policy lets through; the rest (tokens, keys) stays out."""
        return {k: v for k, v in env.items() if self.env_problem({k: v}) is None}
