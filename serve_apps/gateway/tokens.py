"""Bearer tokens for the gateway's roles (po, viewer).

Precedence: ``FLEET_PO_TOKEN`` / ``FLEET_VIEWER_TOKEN`` from the environment, then
``<data_dir>/tokens.json`` (written with mode 0600 by ``fleet up`` when unset).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

ENV = {"po": "FLEET_PO_TOKEN", "viewer": "FLEET_VIEWER_TOKEN"}


def token_file(data_dir: str | Path) -> Path:
    return Path(data_dir).expanduser() / "tokens.json"


def read_tokens(data_dir: str | Path | None) -> dict[str, str]:
    """role -> token from the environment, filling gaps from the tokens file."""
    stored: dict[str, str] = {}
    if data_dir is not None and token_file(data_dir).exists():
        stored = json.loads(token_file(data_dir).read_text())
    out = {role: os.environ.get(var) or stored.get(role, "") for role, var in ENV.items()}
    return {role: tok for role, tok in out.items() if tok}


def ensure_tokens(data_dir: str | Path) -> dict[str, str]:
    """Generate and store any missing role token; returns role -> token."""
    path = token_file(data_dir)
    stored = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for role in ENV:
        if not stored.get(role):
            stored[role] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh)
    return read_tokens(data_dir)


def by_token(role_tokens: dict[str, str]) -> dict[str, str]:
    """token -> role, the lookup the gateway needs."""
    return {tok: role for role, tok in role_tokens.items()}
