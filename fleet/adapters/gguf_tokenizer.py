"""Tokenizer port over the serving model's own vocabulary, read from its GGUF file.

llama.cpp stores a GPT-2 style byte-level BPE (tokens + merges) in the GGUF metadata,
with a pre-tokenizer name (``tokenizer.ggml.pre``) that selects its split regex:
``qwen2`` (Qwen2.5-Coder, the default model) splits on the Qwen2 regex (single digits,
letter runs with one leading non-letter); ``smollm`` splits every digit, then applies
the GPT-2 regex. We rebuild exactly that with the Rust ``tokenizers`` library, so counts
match llama.cpp without loading the weights (tests/integration/test_context_tokenizer.py
checks both against llama.cpp's ``/tokenize``).

Only the metadata block is parsed (a small reader below), not the tensors: it
takes ~0.2 s instead of the seconds a full GGUF parse costs. The default file is that of
the model ``routing.default`` serves, verified against its pinned sha256.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers
from tokenizers.models import BPE

from fleet.adapters.gguf_weights import resolve
from fleet.errors import ConfigError, ModelUnavailable

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_CONTROL, _USER_DEFINED = 3, 4  # llama.cpp token types matched before BPE (parse_special)
# llama.cpp's pre-tokenizer regex for "qwen2" (llama-vocab.cpp): like llama3's, single digits
QWEN2_SPLIT = (
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_WANTED = ("tokenizer.ggml.",)


def default_gguf_path(model: str | None = None) -> Path:
    """The verified GGUF of ``model`` (default: the first model of ``routing.default``).

    Raises:
        ModelUnavailable: that model is not a local llama.cpp model, or its files are missing.
        WeightsMismatch: its sha256 is not the pinned one.
    """
    from fleet.config import LlamaCppModel, load

    models = load("models.yaml")
    name = model or models.routing["default"][0]
    spec = models.models.get(name)
    if not isinstance(spec, LlamaCppModel):
        raise ModelUnavailable(
            model=name, reason="not a local llama.cpp model: its GGUF vocabulary is not here"
        )
    try:
        return resolve(spec, name=name)
    except ConfigError as exc:
        raise ModelUnavailable(model=name, reason=str(exc.fields.get("problem", exc))) from None


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    return struct.unpack(fmt, f.read(size))[0]


def _string(f: BinaryIO) -> bytes:
    return f.read(_read(f, "<Q"))


def _value(f: BinaryIO, vtype: int) -> Any:
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        itype, count = _read(f, "<I"), _read(f, "<Q")
        if itype in _SCALARS:
            fmt = _SCALARS[itype]
            size = struct.calcsize(fmt)
            return list(struct.unpack(f"<{count}{fmt[1]}", f.read(size * count)))
        return [_value(f, itype) for _ in range(count)]
    return _read(f, _SCALARS[vtype])


def read_gguf_metadata(path: Path, prefixes: tuple[str, ...] = _WANTED) -> dict[str, Any]:
    """Key/value metadata of a GGUF (v2/v3) file whose key starts with one of ``prefixes``."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelUnavailable(model=str(path), reason="not a GGUF file")
        version = _read(f, "<I")
        if version < 2:
            raise ModelUnavailable(
                model=str(path), reason=f"GGUF version {version} is not supported"
            )
        _read(f, "<Q")  # tensor count: not needed
        out: dict[str, Any] = {}
        for _ in range(_read(f, "<Q")):
            key = _string(f).decode()
            value = _value(f, _read(f, "<I"))
            if key.startswith(prefixes):
                out[key] = value
        return out


def build_tokenizer(meta: dict[str, Any]) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` equivalent to llama.cpp's for a gpt2/smollm vocabulary."""
    model = meta.get("tokenizer.ggml.model", b"").decode()
    if model != "gpt2":
        raise ModelUnavailable(
            model=model, reason="only byte-level BPE (gpt2) vocabularies are supported"
        )
    tokens = [t.decode("utf-8") for t in meta["tokenizer.ggml.tokens"]]
    merges = [tuple(m.decode("utf-8").split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    bpe = BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False)
    tok = Tokenizer(bpe)
    pre = meta.get("tokenizer.ggml.pre", b"").decode()
    steps: list[Any] = [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    if pre == "qwen2":
        split = pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated")
        steps = [split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    elif pre in {"smollm", "starcoder", "refact"}:
        # llama.cpp's regex list for these starts with "\p{N}": every digit is its own word
        steps.insert(0, pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.ByteLevel()
    types = meta.get("tokenizer.ggml.token_type") or []
    specials = [tokens[i] for i, t in enumerate(types) if t in (_CONTROL, _USER_DEFINED)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


class GGUFTokenizer:
    """Tokenizer port: counts and truncates with the serving model's real vocabulary."""

    def __init__(self, path: str | Path | None = None, *, model: str | None = None) -> None:
        self.path = Path(path) if path else default_gguf_path(model)
        self._tok = build_tokenizer(read_gguf_metadata(self.path))
        self.name = self.path.stem

    def encode(self, text: str) -> list[int]:
        """Token ids (no BOS: the Qwen2.5 and SmolLM2 GGUFs set add_bos_token=false)."""
        return self._tok.encode(text, add_special_tokens=False).ids

    def count(self, text: str) -> int:
        """Number of tokens ``text`` costs in a prompt."""
        return len(self.encode(text)) if text else 0

    def count_many(self, texts: list[str]) -> list[int]:
        """Counts for many texts in one (parallel, Rust-side) call."""
        if not texts:
            return []
        # the "fast" batch skips offsets: about twice as quick, and counts are all we need here
        return [len(e.ids) for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]

    def truncate(self, text: str, n: int) -> str:
        """The longest prefix of ``text`` that costs at most ``n`` tokens."""
        if n <= 0:
            return ""
        enc = self._tok.encode(text, add_special_tokens=False)
        if len(enc.ids) <= n:
            return text
        # cut on the source offsets, so no byte-level token is split mid-character
        end = enc.offsets[n - 1][1]
        cut = text[:end]
        while cut and self.count(cut) > n:
            cut = cut[:-1]
        return cut
