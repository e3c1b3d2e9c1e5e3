"""The llama.cpp Serve app with real SmolLM2 (the small plumbing model) on a real local Ray cluster,
through the real client. The default model, Qwen, has its own tests in test_llm_qwen.py."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, Field

from cluster.graphserver import free_port
from fleet.adapters.model_registry import build_chat_model, chat_model_for_role
from fleet.config import ModelsConfig, SpeculativeDecoding, load
from fleet.contracts import ChatMessage
from fleet.errors import BudgetExceeded, InvalidModelOutput
from fleet.ledger import UsageLedger
from fleet.structured import structured
from fleet.testing.fakes import InMemoryEventLog

APP, PREFIX = "llm-test", "/llm-test"


class Triage(BaseModel):
    severity: Literal["low", "medium", "high"]
    component: str = Field(max_length=24)
    needs_tests: bool


class Essay(BaseModel):
    text: str = Field(min_length=400)


def ask(i: int) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content="You triage bug reports. Answer in JSON."),
        ChatMessage(
            role="user", content=f"Bug {i}: the login page crashes when the password is empty."
        ),
    ]


@pytest.fixture(scope="module")
def models() -> ModelsConfig:
    return load("models.yaml")


@pytest.fixture(scope="module")
def llm_url(ray_cluster, serve_http, models):

    from serve_apps.llm import deploy_llm, undeploy_llm

    assert models.models["local-smollm2"].num_cpus <= 1
    url = deploy_llm(models, "local-smollm2", route_prefix=PREFIX, app_name=APP)
    yield url
    undeploy_llm(APP)


def test_models_endpoint_and_http_errors(llm_url):
    listed = httpx.get(f"{llm_url}/models", timeout=30).json()
    assert [m["id"] for m in listed["data"]] == ["local-smollm2"]
    bad = httpx.post(f"{llm_url}/chat/completions", json={"messages": "nope"}, timeout=30)
    assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]
    stream = httpx.post(
        f"{llm_url}/chat/completions",
        json={"messages": [{"role": "user", "content": "x"}], "stream": True},
        timeout=30,
    )
    assert stream.status_code == 400 and "stream" in stream.json()["error"]["message"]
    assert httpx.get(f"{llm_url}/nothing", timeout=30).status_code == 404


def test_schema_constrained_answer_validates(llm_url, models):
    chat = build_chat_model(models, "local-smollm2", llm_base_url=llm_url)
    triage = structured(chat, ask(0), Triage, max_tokens=96, seed=7)
    assert isinstance(triage, Triage) and triage.severity in ("low", "medium", "high")
    assert len(triage.component) <= 24


def test_max_tokens_and_sampling_fields_are_honoured(llm_url):
    body = {
        "model": "local-smollm2",
        "messages": [{"role": "user", "content": "Tell me a long story."}],
        "max_tokens": 5,
        "temperature": 0.0,
        "seed": 1,
    }
    first = httpx.post(f"{llm_url}/chat/completions", json=body, timeout=60).json()
    again = httpx.post(f"{llm_url}/chat/completions", json=body, timeout=60).json()
    assert (
        first["usage"]["completion_tokens"] == 5
        and first["choices"][0]["finish_reason"] == "length"
    )
    assert first["model"] == "local-smollm2"
    assert first["choices"][0]["message"]["content"] == again["choices"][0]["message"]["content"]


def test_the_client_says_whether_a_reply_stopped_at_its_token_limit(llm_url, models):
    chat = build_chat_model(models, "local-smollm2", llm_base_url=llm_url)
    cut = chat.complete(ask(5), max_tokens=5)
    assert cut.truncated and cut.completion_tokens == 5
    ended = chat.complete(ask(0), schema=Triage.model_json_schema(), max_tokens=96, seed=7)
    assert not ended.truncated and Triage.model_validate_json(ended.text)


def test_the_models_completion_cap_bounds_a_longer_request(llm_url, models):
    cap = models.models["local-smollm2"].max_completion_tokens
    assert cap is not None
    body = {
        "model": "local-smollm2",
        "messages": [{"role": "user", "content": "Write a very long story about a lighthouse."}],
        "temperature": 0.0,
        "seed": 1,
    }
    for asked in ({"max_tokens": cap + 600}, {}):  # more than the cap, and no limit at all
        got = httpx.post(f"{llm_url}/chat/completions", json=body | asked, timeout=300).json()
        # SmolLM2 tells this story for longer than the cap: it stops at the cap, for length
        assert got["usage"]["completion_tokens"] == cap, (asked, got["usage"])
        assert got["choices"][0]["finish_reason"] == "length"


def test_eight_concurrent_requests_all_succeed(llm_url, models):
    chat = build_chat_model(models, "local-smollm2", llm_base_url=llm_url)
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda i: structured(chat, ask(i), Triage, max_tokens=96, seed=i), range(8))
        )
    assert len(results) == 8 and all(isinstance(r, Triage) for r in results)


def test_fallback_from_dead_primary_to_local_model_is_recorded(llm_url, models):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    config = ModelsConfig.model_validate(
        {
            "models": {
                "dead-primary": {
                    "backend": "openai",
                    "base_url": dead,
                    "model_id": "x",
                    "max_retries": 1,
                },
                "local-smollm2": models.models["local-smollm2"].model_dump(),
            },
            "routing": {"default": ["dead-primary", "local-smollm2"]},
        }
    )
    log = InMemoryEventLog()
    chat = chat_model_for_role(
        config,
        "qa",
        story_id="story-fb",
        llm_base_url=llm_url,
        ledger=UsageLedger(config, event_log=log),
        event_log=log,
    )
    triage = structured(chat, ask(1), Triage, max_tokens=96)
    assert isinstance(triage, Triage)
    events = [e for _, e in log.read("story-fb")]
    fallback = [e for e in events if e.type == "model.fallback"]
    assert (
        fallback
        and fallback[0].data["from"] == "dead-primary"
        and fallback[0].data["to"] == "local-smollm2"
    )
    assert dead in fallback[0].data["reason"]
    usage = [e.payload for e in events if e.type == "model.usage"]
    assert usage and usage[0].model == "local-smollm2" and usage[0].completion_tokens > 0


def test_budget_stops_the_call_after_it_is_spent(llm_url, models):
    config = models.model_copy(
        update={
            "budgets": {"story": models.budgets["story"].model_copy(update={"tokens": 50})},
            "routing": {"default": ("local-smollm2",)},  # the model this module serves
        }
    )
    log = InMemoryEventLog()
    ledger = UsageLedger(config, event_log=log)
    chat = chat_model_for_role(
        config, "developer", story_id="story-b", llm_base_url=llm_url, ledger=ledger
    )
    first = chat.complete(ask(2), max_tokens=40)
    assert first.prompt_tokens + first.completion_tokens >= 50  # this call spent the budget
    with pytest.raises(BudgetExceeded) as err:
        chat.complete(ask(3), max_tokens=40)
    assert err.value.scope == "story story-b" and err.value.limit == 50
    assert len(ledger.records) == 1  # the refused call never reached the model
    [event] = [e for _, e in log.read("story-b") if e.type == "budget.exceeded"]
    assert event.data["unit"] == "tokens" and event.data["spent"] >= 50


def test_invalid_structured_output_is_retried_then_reported_with_raw_text(llm_url, models):
    chat = build_chat_model(models, "local-smollm2", llm_base_url=llm_url)
    calls = []

    class Counting:
        def complete(self, messages, **kw):
            calls.append(kw)
            return chat.complete(messages, **kw)

    # 12 tokens cannot hold a 400-character string: the constrained JSON is cut off.
    with pytest.raises(InvalidModelOutput) as err:
        structured(Counting(), ask(4), Essay, max_tokens=12, seed=1)
    assert len(calls) == 2 and calls[0]["schema"] == Essay.model_json_schema()
    assert err.value.raw.startswith("{") and err.value.model == "local-smollm2"
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.value.raw)


def test_speculation_on_answers_and_reports_its_drafts(ray_cluster, serve_http, models):
    """SmolLM2 with prompt-lookup drafting (no second model) behind its own Serve app: a reply
    that copies the prompt is drafted from it, and the engine's counters say so per request
    (``timings``) and in its Prometheus text (``GET /metrics``)."""
    from serve_apps.llm import deploy_llm, undeploy_llm

    lookup = {"method": "ngram_simple", "ngram_size": 3, "n_max": 16}
    spec = models.models["local-smollm2"].model_copy(
        update={"speculative": SpeculativeDecoding.model_validate(lookup)}
    )
    config = models.model_copy(update={"models": {"local-smollm2": spec}})
    url = deploy_llm(config, "local-smollm2", route_prefix="/llm-spec-test", app_name="llm-spec")
    try:
        lines = "\n".join(f"x{i} = compute({i}, {i + 1})  # step {i}" for i in range(12))
        body = {
            "model": "local-smollm2",
            "messages": [{"role": "user", "content": f"Copy these lines exactly:\n{lines}"}],
            "max_tokens": 96,
            "temperature": 0.0,
        }
        out = httpx.post(f"{url}/chat/completions", json=body, timeout=300).json()
        assert out["usage"]["completion_tokens"] > 0 and out["choices"][0]["message"]["content"]
        timings = out["timings"]
        assert timings["draft_n"] > 0 and 0 < timings["draft_n_accepted"] <= timings["draft_n"]
        text = httpx.get(url.removesuffix("/v1") + "/metrics", timeout=30).text
        drafts = [
            ln for ln in text.splitlines() if ln.startswith("llamacpp:spec_decode_num_drafts")
        ]
        assert drafts and float(drafts[0].split()[-1]) > 0, text[:500]
    finally:
        undeploy_llm("llm-spec")
