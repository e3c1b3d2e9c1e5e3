"""Other programs' log lines out of the fleet's own output: Ray Serve's driver logger ("Started
Serve in namespace", "Application 'gateway' is ready at …") writes to a file named at the end
instead of the terminal, so ``fleet demo`` shows the fleet's own lines only."""

from __future__ import annotations

import logging
from pathlib import Path

FOREIGN = ("ray.serve",)  # loggers that print to the terminal in the CLI's own process


def foreign_logs_to(path: Path) -> Path:
    """Send the FOREIGN loggers' records to ``path`` (appended) instead of the terminal.
    For the local stack's own CLI process (``fleet demo``): it imports Ray with the local
    head's token auth."""
    from cluster.fleet_apps import auth_env
    from cluster.rayhead import ensure_token

    # Ray reads its auth mode when first imported: the token the local head will use (made now
    # if missing, as the head's start would) must be in force before this import, as in connect()
    ensure_token()
    auth_env()
    import ray.serve  # noqa: F401 - importing it installs its terminal handler, replaced here

    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in FOREIGN:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if not isinstance(handler, logging.FileHandler):  # the terminal's
                logger.removeHandler(handler)
        logger.addHandler(to_file)
        logger.propagate = False
    return path
