"""Environment tunables, all in one place, all with the ``FLEET_`` prefix.

``fleet.yaml`` holds the defaults; these variables override them for one run
(tests use them to get free ports and a temporary data directory):

==========================  ================================================
``FLEET_CONFIG_DIR``        directory holding the ``*.yaml`` files (default: repo ``config/``)
``FLEET_DATA_DIR``          data_dir: Redis AOF, pidfiles, logs (``~`` expanded)
``FLEET_REDIS_PORT``        redis.port of the local Redis+FalkorDB server
``FLEET_GATEWAY_PORT``      gateway.port of the Serve HTTP gateway
``FLEET_DASHBOARD_PORT``    ray.dashboard.port of the local Ray head
``FLEET_RAY_GCS_PORT``      ray.gcs_port of the local Ray head
==========================  ================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleet.config import FleetConfig, load
from fleet.errors import ConfigError

# variable -> dotted path in fleet.yaml; FLEET_CONFIG_DIR is read by fleet.config.config_dir().
ENV_OVERRIDES: dict[str, str] = {
    "FLEET_DATA_DIR": "data_dir",
    "FLEET_REDIS_PORT": "redis.port",
    "FLEET_GATEWAY_PORT": "gateway.port",
    "FLEET_DASHBOARD_PORT": "ray.dashboard.port",
    "FLEET_RAY_GCS_PORT": "ray.gcs_port",
}


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value


def _port(var: str, raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise ConfigError(file="environment", key=var, problem=f"{raw!r} is not a port (1-65535)")
    return port


def fleet_config(
    directory: Path | None = None, env: Mapping[str, str] | None = None
) -> FleetConfig:
    """``fleet.yaml`` with ``FLEET_*`` overrides applied and ``~`` expanded in ``data_dir``.

    Raises:
        ConfigError: fleet.yaml is broken, or an override is not a valid value.
    """
    env = os.environ if env is None else env
    base: FleetConfig = load("fleet.yaml", directory)
    tree = base.model_dump(by_alias=True)
    for var, dotted in ENV_OVERRIDES.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        _set(tree, dotted, raw if dotted == "data_dir" else _port(var, raw))
    tree["data_dir"] = str(Path(os.path.expanduser(tree["data_dir"])).absolute())
    return FleetConfig.model_validate(tree)
