"""Find the GGUF weights a llama.cpp model loads: verified against models.yaml's pinned sha256.

The logic lives in :mod:`fleet.adapters.gguf_weights` (pure stdlib, shared with the tokenizer);
this module is the serving side's entry point.
"""

from __future__ import annotations

from pathlib import Path

from fleet.adapters.gguf_weights import WeightsMismatch, locate, resolve
from fleet.config import LlamaCppModel

__all__ = ["WeightsMismatch", "locate_gguf", "model_weights"]


def locate_gguf(gguf: str) -> Path:
    """Path of the ``.gguf`` named by ``gguf`` (a file path or an installed package name).

    The package is found with ``find_spec`` and never imported.

    Raises:
        ConfigError: no such file, package, or no ``.gguf`` inside the package.
    """
    return locate(gguf)


def model_weights(spec: LlamaCppModel, *, name: str, progress: bool = False) -> Path:
    """The verified GGUF for ``spec`` (assembled from its parts once, if it has parts).

    Raises:
        ConfigError: packages or file missing.
        WeightsMismatch: the file's sha256 is not the pinned one.
    """
    return resolve(spec, name=name, progress=progress)
