"""One pydantic schema per file in ``config/`` and a loader with clear errors.

A broken file raises :class:`fleet.errors.ConfigError` naming the file, the
key and the problem, never a bare pydantic or YAML traceback. The schemas live
in one module per group of files; everything is re-exported here.
"""

from __future__ import annotations

from fleet.config.base import *  # noqa: F403
from fleet.config.cluster import *  # noqa: F403
from fleet.config.loader import *  # noqa: F403
from fleet.config.models import *  # noqa: F403
from fleet.config.stack import *  # noqa: F403
from fleet.config.team import *  # noqa: F403
