"""Loading and validating config files with errors that name the file, the key and the problem."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import (
    ValidationError,
)

from fleet.config.base import SYSTEM_ROLES, Schema
from fleet.config.cluster import ClusterConfig
from fleet.config.models import ModelsConfig
from fleet.config.prompts import load as load_prompts
from fleet.config.stack import FleetConfig
from fleet.config.team import LifecycleConfig, PolicyConfig, RigorConfig, RolesConfig, ScopesConfig
from fleet.errors import ConfigError, UnknownName
from fleet.settings import OVERRIDES, settings

# ----------------------------------------------------------------------------- loading

SCHEMAS: dict[str, type[Schema]] = {
    "roles.yaml": RolesConfig,
    "lifecycle.yaml": LifecycleConfig,
    "rigor.yaml": RigorConfig,
    "scopes.yaml": ScopesConfig,
    "policy.yaml": PolicyConfig,
    "models.yaml": ModelsConfig,
    "fleet.yaml": FleetConfig,
    "cluster.yaml": ClusterConfig,
}

S = TypeVar("S", bound=Schema)


def installed_data(name: str) -> Path:
    """A directory ``pip install`` put under ``<prefix>/share/swe-ai-fleet/`` (pyproject data-files)."""
    return Path(sys.prefix) / "share" / "swe-ai-fleet" / name


def config_dir() -> Path:
    """The ``config_dir`` setting, else the checkout's ``config/``, else its installed copy."""
    configured = settings().config_dir
    if configured:
        return configured
    checkout = Path(__file__).resolve().parents[2] / "config"
    return checkout if (checkout / "fleet.yaml").is_file() else installed_data("config")


def parse(name: str, text: str, schema: type[S]) -> S:
    """Validate YAML ``text`` (from file ``name``) against ``schema``."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        key = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file=name, key=key, problem=f"malformed YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(file=name, key="", problem="expected a mapping at the top level")
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(file=name, key=key, problem=err["msg"]) from None


def load(name: str, directory: Path | None = None) -> Any:
    """Load and validate ``config/<name>`` with its schema."""
    if name not in SCHEMAS:
        raise UnknownName(what="config file", name=name, valid=list(SCHEMAS))
    path = (directory or config_dir()) / name
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(file=str(path), key="", problem=f"cannot read: {exc.strerror}") from None
    return parse(str(path), text, SCHEMAS[name])


def load_all(directory: Path | None = None) -> dict[str, Schema]:
    """Every config file, validated, plus cross-file checks (roles named everywhere exist) and the
    prompt templates of ``prompts/`` (``fleet.config.prompts``)."""
    out = {name: load(name, directory) for name in SCHEMAS}
    roles: RolesConfig = out["roles.yaml"]
    base = directory or config_dir()
    for name, field in (
        ("scopes.yaml", "scopes"),
        ("policy.yaml", "roles"),
        ("models.yaml", "routing"),
    ):
        for role in getattr(out[name], field):
            if role != "default" and role not in roles.roles and role not in SYSTEM_ROLES:
                raise ConfigError(
                    file=str(base / name),
                    key=f"{field}.{role}",
                    problem=f"unknown role; valid: {', '.join(roles.roles)}",
                )
    models: ModelsConfig = out["models.yaml"]
    for role, spec in roles.roles.items():
        if spec.model and spec.model not in models.models:
            raise ConfigError(
                file=str(base / "roles.yaml"),
                key=f"roles.{role}.model",
                problem=f"unknown model {spec.model!r}; valid: {', '.join(models.models)}",
            )
    load_prompts(base / "prompts")  # every prompt template present, declared and well formed
    return out


def fleet_config(
    directory: Path | None = None, env: Mapping[str, str] | None = None
) -> FleetConfig:
    """``fleet.yaml`` with the settings' overrides (``fleet.settings.OVERRIDES``, read from ``env``
    or else the process environment) applied and ``~`` expanded in ``data_dir``: the one place the
    data directory is resolved.

    Raises:
        ConfigError: fleet.yaml is broken, or an override is not a valid value.
    """
    given = settings(env)
    tree = load("fleet.yaml", directory).model_dump(by_alias=True)
    for field, dotted in OVERRIDES.items():
        if (value := getattr(given, field)) is not None:
            _set(tree, dotted, value)
    tree["data_dir"] = str(Path(os.path.expanduser(tree["data_dir"])).absolute())
    return FleetConfig.model_validate(tree)


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value
