"""Every text the fleet sends a model, rendered from the templates in ``config/prompts/``.

The Python holds no prompt text: code asks for a template by name and fills in its variables,
``render("author.correction", reason=why)``. The templates are read once per process, on first
use, from ``fleet.config.config_dir() / "prompts"`` and checked against the contract in
``fleet.config.prompts`` (``TEMPLATES``: every name and the variables it may use), the whole set
at once, so a broken template fails the first prompt of a process, not the one that needs it;
``fleet.config.load_all`` checks the same set with the other config files. A reader changes a
prompt by editing its YAML, without reading Python (``docs/prompts.md``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from string import Template

from fleet.config.loader import config_dir
from fleet.config.prompts import TEMPLATES, load, names

__all__ = ["TEMPLATES", "load", "names", "render", "use"]

_lock = threading.Lock()
_loaded: dict[str, Template] | None = None
_declared = names()


def use(directory: Path | None) -> None:
    """Render from the templates in ``directory`` from now on (checked now; tests and tools);
    ``None``: back to the configured set, read again on next use."""
    global _loaded
    templates = load(directory) if directory is not None else None
    with _lock:
        _loaded = templates


def _templates() -> dict[str, Template]:
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = load(config_dir() / "prompts")
        return _loaded


def render(name: str, /, **variables: object) -> str:
    """The text of template ``name`` (``area.key``) with ``variables`` filled in.

    The caller passes exactly the variables the contract declares for it, so every variable a
    template may use is always there (a template need not use them all).

    Raises:
        KeyError: ``name`` is not a declared template.
        TypeError: the variables are not the declared ones (a bug in the caller).
        ConfigError: from the first load, when the configured set is broken.
    """
    declared = _declared[name]
    if set(variables) != declared:
        raise TypeError(f"prompt {name} takes {sorted(declared)}, was given {sorted(variables)}")
    return _templates()[name].substitute({k: str(v) for k, v in variables.items()})
