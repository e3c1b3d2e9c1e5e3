"""One llama.cpp Serve app serving two real models at one URL: each request's ``model`` picks the
engine, ``/v1/models`` lists both, ``/metrics`` labels each engine's counters, and the routed
client reaches each role's model through that one base URL. Two SmolLM2 engines (the plumbing
model under two names) keep it cheap; the shipped pair is measured in benchmarks/RESULTS.md."""

from __future__ import annotations

import httpx
import pytest

from fleet.adapters.model_registry import chat_model_for_role
from fleet.config import ModelsConfig, load
from fleet.contracts import ChatMessage

APP, PREFIX = "llm-multi", "/llm-multi"
A, B = "local-smollm2", "smollm2-b"


@pytest.fixture(scope="module")
def config() -> ModelsConfig:
    models = load("models.yaml")
    spec = models.models[A]
    return models.model_copy(
        update={
            "models": {**models.models, B: spec.model_copy(update={"n_ctx": 2048})},
            "routing": {"default": [A], "developer": [B], "qa": [A]},
        }
    )


@pytest.fixture(scope="module")
def url(ray_cluster, serve_http, config):
    from serve_apps.llm import deploy_llm, served_models, undeploy_llm

    served = served_models(config, fallback=A)
    assert served == [A, B]
    base = deploy_llm(config, served, route_prefix=PREFIX, app_name=APP)
    yield base
    undeploy_llm(APP)


def ask(url: str, model: str | None) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4}
    if model:
        body["model"] = model
    return httpx.post(f"{url}/chat/completions", json=body, timeout=300)


def test_each_request_reaches_the_engine_its_model_names(url):
    assert [m["id"] for m in httpx.get(f"{url}/models", timeout=30).json()["data"]] == [A, B]
    for model in (A, B):
        out = ask(url, model)
        assert out.status_code == 200 and out.json()["model"] == model
    assert ask(url, None).json()["model"] == A  # no model named: the default (first) one
    wrong = ask(url, "local-qwen-coder")
    assert wrong.status_code == 404
    assert f"this app serves '{A}', '{B}'" in wrong.json()["error"]["message"]


def predicted(url: str) -> dict[str, float]:
    """Generated tokens per engine, from the app's Prometheus text (label -> count)."""
    text = httpx.get(url.removesuffix("/v1") + "/metrics", timeout=30).text
    return {
        ln.split("{")[1].split("}")[0]: float(ln.split()[-1])
        for ln in text.splitlines()
        if ln.startswith("llamacpp:tokens_predicted_total{")
    }


def test_metrics_label_every_engine(url):
    ask(url, B)
    counts = predicted(url)
    assert set(counts) == {f'model="{A}"', f'model="{B}"'} and counts[f'model="{B}"'] > 0
    text = httpx.get(url.removesuffix("/v1") + "/metrics", timeout=30).text
    assert text.count("# TYPE llamacpp:tokens_predicted_total") == 1


def test_roles_routed_to_different_models_share_the_one_base_url(url, config):
    for role, model, other in (("developer", B, A), ("qa", A, B)):
        before = predicted(url)
        chat = chat_model_for_role(config, role, story_id="multi", llm_base_url=url)
        reply = chat.complete([ChatMessage(role="user", content="Say hi.")], max_tokens=4)
        after = predicted(url)
        assert reply.completion_tokens > 0 and reply.model == model, role
        # the engine of the role's model generated the reply, the other one nothing
        assert after[f'model="{model}"'] > before[f'model="{model}"'], role
        assert after[f'model="{other}"'] == before[f'model="{other}"'], role
