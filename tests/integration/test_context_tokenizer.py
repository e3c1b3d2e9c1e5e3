"""The GGUF tokenizer adapter gives exactly llama.cpp's tokens: the default model (Qwen2.5-Coder,
"qwen2" pre-tokenizer) and SmolLM2 ("smollm"), each checked against llama.cpp's /tokenize."""

from __future__ import annotations

import json
import urllib.request

import pytest

from cluster.graphserver import free_port
from fleet.adapters.gguf_tokenizer import GGUFTokenizer, default_gguf_path, read_gguf_metadata
from fleet.context.compress import raw_history
from fleet.context.synthetic import synthetic_story
from fleet.errors import ModelUnavailable
from fleet.ports import Tokenizer

SAMPLES = [
    "Hello world",
    "  leading spaces\n\n\ttabs 12345 and 3.14159 and 1,000,000",
    "def f(x):\n    return x**2  # comment\n",
    "Ünïcödé — 日本語テキスト 🚀 émojis ça va",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 uuid 123e4567-e89b-12d3-a456-426614174000",
    "<|im_start|>user\nhi<|im_end|>",
    "I'm they're we'll DON'T   \n\n\n",
    "a" * 300 + " " + "xyz " * 50,
    "<|fim_prefix|>def add(a, b):<|fim_suffix|>\n<|fim_middle|>",
    "x=1;y=22;z=333\r\n\r\n  \n\tfoo.bar_baz(QUX, 'it''s')  // 1e-9 -> 0xFF",
]
MODELS = ["local-qwen-coder", "local-smollm2"]


@pytest.fixture(scope="module", params=MODELS)
def llama_tokenize(request):
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(default_gguf_path(request.param))
    params.n_ctx = 2048
    params.port = free_port()
    params.hostnames = ["127.0.0.1"]
    server = xllamacpp.Server(params)

    def tokenize(text: str) -> list[int]:
        body = json.dumps({"content": text, "add_special": False, "parse_special": True}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{params.port}/tokenize", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)["tokens"]

    tokenize.model = request.param
    yield tokenize
    del server


def test_token_ids_match_llama_cpp(llama_tokenize):
    tok = GGUFTokenizer(model=llama_tokenize.model)
    assert isinstance(tok, Tokenizer)
    story = raw_history(synthetic_story(40).events)
    for text in [*SAMPLES, story]:
        assert tok.encode(text) == llama_tokenize(text), text[:60]
    assert (
        tok.count(story) > len(story) / 8
    )  # a real BPE count, far from a chars/4 guess for this text


def test_default_tokenizer_is_the_serving_models(tmp_path):
    """Context budgets count with the model routing.default serves: Qwen's 151k vocabulary."""
    tok = GGUFTokenizer()
    assert tok.path == default_gguf_path("local-qwen-coder")
    meta = read_gguf_metadata(tok.path)
    assert meta["tokenizer.ggml.pre"] == b"qwen2" and len(meta["tokenizer.ggml.tokens"]) > 150_000
    # the chat-template markers are single tokens, as llama.cpp counts them in a prompt
    assert tok.count("<|im_start|>system\nhi<|im_end|>") == 5


def test_metadata_reader_and_errors(tmp_path):
    meta = read_gguf_metadata(default_gguf_path("local-smollm2"))
    assert meta["tokenizer.ggml.model"] == b"gpt2" and len(meta["tokenizer.ggml.tokens"]) == 49152
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 20)
    with pytest.raises(ModelUnavailable, match="not a GGUF file"):
        GGUFTokenizer(bad)
    with pytest.raises(ModelUnavailable, match="not a local llama.cpp model"):
        GGUFTokenizer(model="scripted")
