"""Schemas of how the team works: roles.yaml, lifecycle.yaml, rigor.yaml, scopes.yaml, policy.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from fleet.config.base import DIMENSIONS, PHASES, Schema
from fleet.errors import UnknownName

# ----------------------------------------------------------------------------- roles.yaml


class RoleSpec(Schema):
    """One team role: what it is for, its prompt, default model and tools."""

    purpose: str = Field(description="one line: what this role is for")
    system_prompt: str = Field("", description="system prompt for the role's agents")
    model: str | None = Field(
        None, description="default model name from models.yaml (None for humans)"
    )
    tools: tuple[str, ...] = Field((), description="tool names the role may use (see policy.yaml)")
    critique_focus: tuple[str, ...] = Field(
        (), description="what this role looks for when critiquing"
    )
    human: bool = Field(False, description="a person, not an agent (the PO)")


class RolesConfig(Schema):
    """Schema of roles.yaml: the team's roles by name (agents and the human PO)."""

    roles: dict[str, RoleSpec] = Field(description="role name -> spec")

    def agent_roles(self) -> list[str]:
        return [name for name, spec in self.roles.items() if not spec.human]

    def get(self, name: str) -> RoleSpec:
        if name not in self.roles:
            raise UnknownName(what="role", name=name, valid=list(self.roles))
        return self.roles[name]


# ----------------------------------------------------------------------------- lifecycle.yaml


class TransitionSpec(Schema):
    """One move of the story state machine, with the guards it needs and its optional PO gate."""

    source: str = Field(alias="from", description="state the story is in")
    target: str = Field(alias="to", description="state the story moves to")
    name: str = Field(description="transition name, e.g. approve_scope")
    guards: tuple[str, ...] = Field((), description="facts that must all be true")
    human_gate: str | None = Field(None, description="PO gate name (scope, design, acceptance)")
    loop_back: bool = Field(False, description="a move back to an earlier state")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LifecycleConfig(Schema):
    """Schema of lifecycle.yaml: the story state machine (states, guards, transitions)."""

    initial: str = Field("BACKLOG", description="state of a new story")
    terminal: tuple[str, ...] = Field(("DONE",), description="states with no way out")
    states: tuple[str, ...] = Field(description="every state, in flow order")
    guards: dict[str, str] = Field(description="guard name -> what it checks (documentation)")
    transitions: tuple[TransitionSpec, ...] = Field(
        description="allowed moves between states, each with its guards and optional PO gate"
    )
    max_loopbacks: int = Field(3, ge=0, description="TEST->BUILD loops before the story parks")

    @model_validator(mode="after")
    def _consistent(self) -> LifecycleConfig:
        known = set(self.states)
        for i, t in enumerate(self.transitions):
            for end in (t.source, t.target):
                if end not in known:
                    raise ValueError(f"transitions[{i}] names unknown state {end!r}")
            for g in t.guards:
                if g not in self.guards:
                    raise ValueError(f"transitions[{i}] uses undeclared guard {g!r}")
        if self.initial not in known:
            raise ValueError(f"initial state {self.initial!r} is not in states")
        return self


# ----------------------------------------------------------------------------- rigor.yaml


class Thresholds(Schema):
    """Rigor gate score thresholds: pass at or above ``pass``, warn at or above ``warn``, else block."""

    pass_at: float = Field(90, alias="pass", ge=0, le=100, description="score >= this passes")
    warn_at: float = Field(
        70, alias="warn", ge=0, le=100, description="score >= this warns; below blocks"
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RigorProfile(Schema):
    """One rigor level: dimension weights, targets, and which dimensions block the gate."""

    description: str = Field(description="one line: what this level is for")
    weights: dict[str, float] = Field(description="dimension -> weight (normalised when scoring)")
    coverage_target: float = Field(0, ge=0, le=100, description="coverage percent that scores 100")
    max_lint_findings: int = Field(10, ge=0, description="lint findings at which lint scores 0")
    max_static_findings: int = Field(10, ge=0, description="static findings at which it scores 0")
    required: tuple[str, ...] = Field((), description="dimensions that block when they score 0")
    no_failures: tuple[str, ...] = Field(
        (), description="dimensions that block on any failure (e.g. one failing unit test)"
    )
    thresholds: Thresholds | None = Field(None, description="overrides the global thresholds")

    @model_validator(mode="after")
    def _known_dimensions(self) -> RigorProfile:
        for name in (*self.weights, *self.required, *self.no_failures):
            if name not in DIMENSIONS:
                raise ValueError(f"unknown dimension {name!r}; valid: {', '.join(DIMENSIONS)}")
        return self


class RigorConfig(Schema):
    """Schema of rigor.yaml: the global gate thresholds and the L0-L3 scoring profiles."""

    thresholds: Thresholds = Field(
        Thresholds(), description="gate thresholds unless a profile overrides them"
    )
    profiles: dict[Literal["L0", "L1", "L2", "L3"], RigorProfile] = Field(
        description="rigor level (L0 spike .. L3 mission critical) -> scoring profile"
    )


# ----------------------------------------------------------------------------- scopes.yaml


class Scope(Schema):
    """What one role sees in one phase: its context sections and the pack's token budget."""

    sections: tuple[str, ...] = Field(description="context sections, highest priority first")
    budget_tokens: int = Field(gt=0, description="pack budget counted with the model's tokenizer")
    located_only: bool = Field(
        False,
        description="the code section is the located functions alone when localisation is "
        "confident, the budget spent as if it showed everything (the other files and functions "
        "are left to the repository map, which is what it would be beside them)",
    )


class ScopesConfig(Schema):
    """Schema of scopes.yaml: the context sections and each role's per-phase scope."""

    sections: dict[str, str] = Field(description="section name -> what it contains")
    scopes: dict[str, dict[str, Scope]] = Field(description="role -> phase -> scope")

    @model_validator(mode="after")
    def _known(self) -> ScopesConfig:
        for role, phases in self.scopes.items():
            for phase, scope in phases.items():
                if phase not in PHASES:
                    raise ValueError(
                        f"scopes.{role}: unknown phase {phase!r}; valid: {', '.join(PHASES)}"
                    )
                for s in scope.sections:
                    if s not in self.sections:
                        raise ValueError(f"scopes.{role}.{phase}: undeclared section {s!r}")
        return self


# ----------------------------------------------------------------------------- policy.yaml


class PhaseRules(Schema):
    """Command rules of one role in one phase: argv prefixes allowed and denied."""

    allow: tuple[tuple[str, ...], ...] = Field((), description="argv prefixes that may run")
    deny: tuple[tuple[str, ...], ...] = Field((), description="argv prefixes that never run")
    allow_shell: bool = Field(False, description="permit shell escapes (bash -c, eval...)")
    network: bool = Field(
        False, description="runs may ask for the network (TaskSpec.network); refused otherwise"
    )


class PolicyConfig(Schema):
    """Schema of policy.yaml: which argv each role may run in each phase, and which env passes in."""

    default: Literal["deny", "allow"] = Field("deny", description="when no rule matches")
    shell_escapes: tuple[tuple[str, ...], ...] = Field(
        description="argv shapes treated as shell strings"
    )
    env_allow: tuple[str, ...] = Field(
        description="variable names a run's env may carry ('NAME*' patterns allowed; PATH is "
        "pinned; LD_*, GCONV_PATH, PYTHON* only when named exactly)"
    )
    roles: dict[str, dict[str, PhaseRules]] = Field(description="role -> phase -> rules")
    metacharacters: tuple[str, ...] = Field(
        (";", "|", "&", "`", "$(", "${", ">", "<", "\n"),
        description="substrings that deny an argument (shell syntax smuggled into an argv)",
    )
