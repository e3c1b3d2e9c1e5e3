"""Which models the embedded llama.cpp app serves, and its Prometheus text with several engines."""

from __future__ import annotations

import pytest

from cluster.fleet_apps import FleetApps
from fleet.config import ModelsConfig, load
from fleet.errors import ConfigError
from serve_apps.llm import build_llm_app, served_models
from serve_apps.llm.engine import ModelNotServed
from serve_apps.llm.llamacpp import labelled


@pytest.fixture(scope="module")
def models() -> ModelsConfig:
    return load("models.yaml")


def routed(models: ModelsConfig, routing: dict[str, list[str]]) -> ModelsConfig:
    return models.model_copy(update={"routing": routing})


def test_every_llamacpp_model_the_routing_names_is_served_the_default_first(models):
    config = routed(
        models,
        {"default": ["local-qwen-coder"], "developer": ["local-qwen-1.5b", "local-qwen-coder"]},
    )
    assert served_models(config, fallback="x") == ["local-qwen-coder", "local-qwen-1.5b"]
    # not every model in the file: SmolLM2 is in models.yaml but no role routes to it
    assert "local-smollm2" not in served_models(models, fallback="x")
    shipped = served_models(models, fallback="x")
    assert shipped[0] == models.routing["default"][0]
    assert set(shipped) == {n for chain in models.routing.values() for n in chain}


def test_a_model_named_for_every_role_is_served_alone_and_other_backends_never(models):
    assert served_models(models, model="local-smollm2", fallback="x") == ["local-smollm2"]
    # hosted (openai) and scripted models are not served by the llama.cpp app
    config = routed(models, {"default": ["hosted"], "qa": ["scripted"]})
    assert served_models(config, fallback="local-qwen-coder") == ["local-qwen-coder"]


def test_the_stack_serves_what_the_routing_names_unless_a_model_is_chosen(models):
    fleet = load("fleet.yaml")
    assert FleetApps(fleet).served() == served_models(models, fallback=fleet.llm.model)
    assert FleetApps(fleet, model="local-smollm2").served() == ["local-smollm2"]


def test_several_models_in_one_app_must_all_be_llamacpp(models):
    with pytest.raises(ConfigError, match="all are llamacpp models"):
        build_llm_app(models, ["vllm-qwen", "local-qwen-coder"])
    with pytest.raises(ConfigError, match="has no Serve app"):
        build_llm_app(models, ["hosted"])


def test_a_misrouted_request_is_told_every_model_that_is_served():
    err = ModelNotServed(asked="gpt-9", served=("local-qwen-coder", "local-qwen-1.5b"))
    assert "'gpt-9' is not served here; this app serves 'local-qwen-coder', 'local-qwen-1.5b'" in (
        str(err)
    )


def test_each_engines_samples_carry_their_model_and_help_lines_appear_once():
    text = (
        "# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.\n"
        "# TYPE llamacpp:tokens_predicted_total counter\n"
        "llamacpp:tokens_predicted_total 42\n"
        'llamacpp:slot{id="0"} 1\n'
    )
    seen: set[str] = set()
    page = labelled(text, "a", seen) + labelled(text.replace("42", "7"), "b", seen)
    assert page == [
        "# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.",
        "# TYPE llamacpp:tokens_predicted_total counter",
        'llamacpp:tokens_predicted_total{model="a"} 42',
        'llamacpp:slot{model="a",id="0"} 1',
        'llamacpp:tokens_predicted_total{model="b"} 7',
        'llamacpp:slot{model="b",id="0"} 1',
    ]
