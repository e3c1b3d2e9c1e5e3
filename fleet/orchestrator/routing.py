"""Per-story model routing: ``role -> model`` overrides checked against roles.yaml and models.yaml."""

from __future__ import annotations

from collections.abc import Mapping

from fleet.config import ModelsConfig, RolesConfig
from fleet.errors import UnknownName, UserError


def check_overrides(
    overrides: Mapping[str, str], models: ModelsConfig, roles: RolesConfig
) -> dict[str, str]:
    """The overrides as a plain dict, or a clear error naming the bad role or model.

    Raises:
        UnknownName: a role that roles.yaml does not define, or a model that models.yaml does not.
        UserError: a role played by a person (the PO), which has no model.
    """
    agent_roles = {name for name, spec in roles.roles.items() if not spec.human}
    for role, model in overrides.items():
        if role not in roles.roles:
            raise UnknownName(what="role", name=role, valid=sorted(agent_roles))
        if role not in agent_roles:
            raise UserError(
                f"role {role!r} is a person, not an agent: it has no model; "
                f"pick one of {', '.join(sorted(agent_roles))}"
            )
        if model not in models.models:
            raise UnknownName(what="model", name=model, valid=sorted(models.models))
    return dict(overrides)


def parse_pairs(pairs: list[str] | None) -> dict[str, str]:
    """``["developer=scripted", ...]`` (the CLI's ``--model ROLE=MODEL``) as a dict."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        role, sep, model = pair.partition("=")
        if not sep or not role.strip() or not model.strip():
            raise UserError(f"--model expects ROLE=MODEL (e.g. developer=scripted), got {pair!r}")
        out[role.strip()] = model.strip()
    return out
