"""The fleet's environment variables, all in one place: one :class:`Settings` object.

This module is the only reader of the ``FLEET_*`` environment and the only module that spells a
variable's name; every other module asks :func:`settings` for a value and :func:`env_name` for a
name it writes into a child's environment or mentions in help text. ``fleet.yaml`` holds the
stack's defaults (the data directory's among them); the overrides here win for one run (tests use
them for free ports and a temporary data directory), applied by :func:`fleet.config.fleet_config`.
A bad value is a :class:`~fleet.errors.ConfigError` naming the variable, never a traceback.

``docs/configuration.md`` lists the variables with these descriptions;
``tests/unit/test_settings.py`` checks that the list and this model agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from fleet.errors import ConfigError

ENV_PREFIX = "FLEET_"


def _port(raw: Any) -> int:
    try:
        port = int(raw)
    except (TypeError, ValueError):
        port = -1
    if not 1 <= port <= 65535:
        raise ValueError(f"{raw!r} is not a port (1-65535)")
    return port


def _paths(raw: Any) -> Any:
    # a search path like $PATH (os.pathsep-separated), not the JSON list pydantic-settings wants
    return tuple(p for p in raw.split(os.pathsep) if p) if isinstance(raw, str) else raw


def _flag(raw: Any) -> Any:
    # any value but an empty one or an explicit "no" turns it on (as ``FLEET_DEBUG=1`` always did)
    if isinstance(raw, str):
        return raw.strip().lower() not in ("", "0", "false", "no", "off")
    return raw


Port = Annotated[int, BeforeValidator(_port)]


class Settings(BaseSettings):
    """Every ``FLEET_*`` variable; unset (or empty) means the default or fleet.yaml's value."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    config_dir: Path | None = Field(
        None,
        description="the directory holding the `*.yaml` files (default: the checkout's "
        "`config/`, else the installed copy)",
    )
    data_dir: str | None = Field(
        None, description="overrides fleet.yaml `data_dir` (`~` is expanded)"
    )
    redis_port: Port | None = Field(None, description="overrides fleet.yaml `redis.port`")
    gateway_port: Port | None = Field(None, description="overrides fleet.yaml `gateway.port`")
    dashboard_port: Port | None = Field(
        None, description="overrides fleet.yaml `ray.dashboard.port`"
    )
    ray_gcs_port: Port | None = Field(None, description="overrides fleet.yaml `ray.gcs_port`")
    gateway_url: str | None = Field(
        None,
        description="the gateway `fleet backlog` and a `fleet submit` job talk to "
        "(default: fleet.yaml's gateway; set on the cluster's RayJob)",
    )
    po_token: SecretStr | None = Field(
        None, description="the gateway's `po` bearer token (else `<data_dir>/tokens.json`)"
    )
    viewer_token: SecretStr | None = Field(
        None, description="the gateway's read-only `viewer` token (else the tokens file)"
    )
    admin_token: SecretStr | None = Field(None, description="the gateway's `admin` token")
    repo_roots: Annotated[tuple[str, ...] | None, NoDecode, BeforeValidator(_paths)] = Field(
        None,
        description="where local target repositories may live, `:`-separated (default: the "
        "workspace root and the data dir holding it, the temp dir, the home directory)",
    )
    model_trace: Path | None = Field(
        None,
        description="(debugging) a file every model completion is appended to, one JSON line "
        "each ([Models](models.md#the-client))",
    )
    model_dir: Path | None = Field(
        None,
        description="the assembled GGUF weights (default: `$XDG_CACHE_HOME/swe-fleet/models`, "
        "else `~/.cache/swe-fleet/models`)",
    )
    hf_model_dir: Path = Field(
        Path("~/.cache/swe-fleet/smollm2-135m-hf"),
        description="the Hugging Face-format copy of the SmolLM2 weights the vLLM test loads "
        "(default: `~/.cache/swe-fleet/smollm2-135m-hf`)",
    )
    actor_resource: str | None = Field(
        None,
        description="the Ray custom resource of the nodes the fleet's actors prefer (set on "
        "the KubeRay pods; unset: anywhere)",
    )
    ray_namespace: str | None = Field(
        None, description="the fleet's Ray namespace (set on the KubeRay pods)"
    )
    redis_url: str | None = Field(None, description="the cluster's Redis (set on the KubeRay pods)")
    kuberay_crds: Path | None = Field(
        None,
        description="the KubeRay CRD files rendered manifests are validated against (default: "
        "`cluster/crds/`)",
    )
    backlog: str | None = Field(
        None, description="the backlog (JSON) a `fleet submit` job runs (set by `fleet submit`)"
    )
    debug: Annotated[bool, BeforeValidator(_flag)] = Field(
        False, description="`1`: a CLI error shows its full traceback"
    )


class _Given(Settings):
    """Settings from a mapping alone: the process environment is not consulted."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *_: PydanticBaseSettingsSource,
        **__: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def env_name(field: str) -> str:
    """The variable that sets ``field`` (``"po_token"`` -> ``FLEET_PO_TOKEN``).

    Raises:
        KeyError: ``field`` is not a setting (a typo would otherwise name a variable no one reads).
    """
    if field not in Settings.model_fields:
        raise KeyError(f"no setting {field!r}")
    return ENV_PREFIX + field.upper()


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``env`` (default: the process environment, read now, not cached).

    Raises:
        ConfigError: a variable holds a value its setting cannot take (``file`` is
            ``"environment"``, ``key`` the variable).
    """
    try:
        if env is None:
            return Settings()
        given = {f: env[env_name(f)] for f in Settings.model_fields if env.get(env_name(f))}
        return _Given.model_validate(given)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        cause = (err.get("ctx") or {}).get("error")
        problem = str(cause) if isinstance(cause, ValueError) else err["msg"]
        key = env_name(field) if field in Settings.model_fields else "environment"
        raise ConfigError(file="environment", key=key, problem=problem) from None


# setting -> dotted path in fleet.yaml, applied by fleet.config.fleet_config()
OVERRIDES: dict[str, str] = {
    "data_dir": "data_dir",
    "redis_port": "redis.port",
    "gateway_port": "gateway.port",
    "dashboard_port": "ray.dashboard.port",
    "ray_gcs_port": "ray.gcs_port",
}
# the same by variable name
ENV_OVERRIDES: dict[str, str] = {env_name(field): dotted for field, dotted in OVERRIDES.items()}
