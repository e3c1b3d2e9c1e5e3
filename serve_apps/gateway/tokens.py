"""Who is calling: bearer tokens mapped to principals (a name and a role: viewer, po or admin).

The gateway keeps and compares only SHA-256 digests of tokens. Where they come from, merged:

1. the ``po_token`` / ``viewer_token`` / ``admin_token`` settings (:mod:`fleet.settings`: the
   environment; principals named ``po``, ``viewer``, ``admin``);
2. ``<data_dir>/principals.json``: ``[{"name", "role", "sha256"}]``, digests only, mode 0600
   (``add_principal`` appends to it and returns the new token once);
3. ``<data_dir>/tokens.json``: the local client's credentials (role -> token, mode 0600, written
   by ``fleet up``; the CLI reads its po token there). The gateway hashes them on load and keeps
   no plaintext (the file itself is the client's credential store, not the gateway's).

Roles rank ``viewer < po < admin``: a viewer reads, a PO creates stories and acts on its own
(or shared) stories, an admin acts on every story.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fleet.settings import settings

ROLES = ("viewer", "po", "admin")
CLIENT_ROLES = ("po", "viewer")  # generated into tokens.json by ``fleet up``
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    role: str

    def may_act_on(self, owner: str, *, shared: bool = False) -> bool:
        """May this principal steer (approve, transition) a story owned by ``owner``?"""
        if self.role == "admin":
            return True
        return self.role == "po" and (shared or hmac.compare_digest(self.name, owner))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Digest -> principal; lookups compare against every digest in constant time."""

    def __init__(self, entries: Iterable[tuple[str, str, str]] = ()) -> None:
        self._entries: list[tuple[bytes, Principal]] = []
        for name, role, sha in entries:
            if role not in ROLES or not NAME.match(name):
                raise ValueError(f"bad principal {name!r} ({role!r})")
            self._entries.append((sha.encode(), Principal(name, role)))

    @classmethod
    def from_tokens(cls, principals: Iterable[Mapping[str, str]]) -> TokenStore:
        """From ``[{"name", "role", "token"}]`` (plaintext: tests and env), hashed here."""
        return cls((p["name"], p["role"], digest(p["token"])) for p in principals)

    def __len__(self) -> int:
        return len(self._entries)

    def merged(self, other: TokenStore) -> TokenStore:
        store = TokenStore()
        store._entries = self._entries + other._entries
        return store

    def principal(self, presented: str) -> Principal | None:
        want = digest(presented).encode()
        found = None
        for sha, who in self._entries:
            if hmac.compare_digest(sha, want):
                found = who
        return found


def token_file(data_dir: str | Path) -> Path:
    return Path(data_dir).expanduser() / "tokens.json"


def principals_file(data_dir: str | Path) -> Path:
    return Path(data_dir).expanduser() / "principals.json"


def read_tokens(data_dir: str | Path | None) -> dict[str, str]:
    """role -> token for the local client: the environment, gaps filled from tokens.json."""
    stored: dict[str, str] = {}
    if data_dir is not None and token_file(data_dir).exists():
        stored = json.loads(token_file(data_dir).read_text())
    given = settings()
    env = {"po": given.po_token, "viewer": given.viewer_token, "admin": given.admin_token}
    out = {
        role: (tok and tok.get_secret_value()) or stored.get(role, "") for role, tok in env.items()
    }
    return {role: tok for role, tok in out.items() if tok}


def load_store(data_dir: str | Path | None) -> TokenStore:
    """Every principal the gateway accepts (see the module docstring)."""
    client = [
        {"name": role, "role": role, "token": tok} for role, tok in read_tokens(data_dir).items()
    ]
    store = TokenStore.from_tokens(client)
    if data_dir is not None and principals_file(data_dir).exists():
        rows = json.loads(principals_file(data_dir).read_text())
        store = store.merged(TokenStore((r["name"], r["role"], r["sha256"]) for r in rows))
    return store


def _write_private(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def add_principal(data_dir: str | Path, name: str, role: str) -> str:
    """Create a principal; store only its token's digest; return the token (shown once)."""
    if role not in ROLES or not NAME.match(name):
        raise ValueError(f"a principal needs a name ({NAME.pattern}) and a role in {ROLES}")
    path = principals_file(data_dir)
    rows = json.loads(path.read_text()) if path.exists() else []
    if any(r["name"] == name for r in rows):
        raise ValueError(f"principal {name!r} already exists")
    token = secrets.token_urlsafe(24)
    _write_private(path, [*rows, {"name": name, "role": role, "sha256": digest(token)}])
    return token


def ensure_tokens(data_dir: str | Path) -> dict[str, str]:
    """Generate any missing client token (po, viewer); returns role -> token."""
    path = token_file(data_dir)
    stored = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for role in CLIENT_ROLES:
        if not stored.get(role):
            stored[role] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        _write_private(path, stored)
    return read_tokens(data_dir)


def by_token(role_tokens: dict[str, str]) -> dict[str, str]:
    """token -> role (the legacy lookup shape; principals are named after their role)."""
    return {tok: role for role, tok in role_tokens.items()}
