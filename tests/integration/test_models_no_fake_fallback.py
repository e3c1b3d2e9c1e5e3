"""Production routing never contains the scripted model; a dead model is a visible error or a
real fallback, never scripted output; strict schemas meet OpenAI's rules."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from cluster.cli.gateway_client import describe
from cluster.graphserver import free_port
from fleet.adapters.model_registry import chat_model_for_role
from fleet.adapters.strict_schema import drop_optional_nulls, to_strict
from fleet.config import LlamaCppModel, ModelsConfig, load
from fleet.contracts import ChatMessage
from fleet.errors import ModelUnavailable
from fleet.testing.fakes import InMemoryEventLog

MSG = [ChatMessage(role="user", content="hi")]


def test_shipped_routing_uses_qwen_and_never_the_scripted_model():
    """Developers and QA on the 1.5B (the 0.5B as fallback), every other role on the 0.5B
    (docs/models.md: the routing chosen by measurement); all of them pinned local models."""
    from serve_apps.llm import served_models

    models = load("models.yaml")
    for role, chain in models.routing.items():
        primary = "local-qwen-1.5b" if role in ("developer", "qa") else "local-qwen-coder"
        assert chain[0] == primary, role
        assert all(models.models[n].backend != "scripted" for n in chain), role
    assert models.routing["developer"] == ("local-qwen-1.5b", "local-qwen-coder")
    assert models.routing["qa"] == ("local-qwen-1.5b", "local-qwen-coder")
    qwen = models.models["local-qwen-coder"]
    assert isinstance(qwen, LlamaCppModel) and len(qwen.parts) == 6 and qwen.sha256
    assert all(isinstance(s, LlamaCppModel) and s.sha256 for n, s in models.models.items()
               if s.backend == "llamacpp")  # fmt: skip
    # the embedded stack serves exactly the routed models, and roles.yaml names only those
    served = served_models(models, fallback="local-qwen-coder")
    assert served == ["local-qwen-coder", "local-qwen-1.5b"]
    roles = load("roles.yaml")
    assert {r.model for r in roles.roles.values() if not r.human} <= set(served)


def test_scripted_cannot_be_configured_as_a_fallback():
    base = load("models.yaml").model_dump(mode="json")
    with pytest.raises(ValidationError, match="cannot be a fallback"):
        ModelsConfig.model_validate(
            {**base, "routing": {"default": ["local-qwen-coder", "scripted"]}}
        )
    named = ModelsConfig.model_validate({**base, "routing": {"default": ["scripted"]}})
    assert named.routing["default"] == ("scripted",)  # named on purpose: allowed


def test_a_model_from_parts_must_pin_its_hash():
    with pytest.raises(ValidationError, match="sha256 pinned"):
        LlamaCppModel(backend="llamacpp", gguf="m.gguf", parts=("a-part1",))


def _dead(*names: str) -> ModelsConfig:
    models = {
        n: {"backend": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1",
            "model_id": n, "max_retries": 0}
        for n in names
    }  # fmt: skip
    return ModelsConfig.model_validate({"models": models, "routing": {"default": list(names)}})


def test_dead_models_give_a_visible_error_event_and_raise():
    log = InMemoryEventLog()
    chat = chat_model_for_role(_dead("a", "b"), "qa", story_id="s1", event_log=log)
    with pytest.raises(ModelUnavailable) as err:
        chat.complete(MSG)
    assert "a:" in str(err.value) and "b:" in str(err.value)
    events = [e for _, e in log.read("s1")]
    assert [e.type for e in events] == ["model.fallback", "model.error"]
    fallback, error = (describe(e.model_dump(mode="json")) for e in events)
    assert fallback.startswith("  !! model a failed, falling back to b")
    assert error.startswith("  !! MODEL ERROR (qa, a->b)") and "cannot connect" in error


class Plan(BaseModel):
    class Step(BaseModel):
        command: str
        timeout_s: int = 60

    summary: str = Field(max_length=200)
    risk: Literal["low", "high"] = "low"
    steps: list[Step]
    owner: str | None = None


def _check_strict(node):
    """OpenAI's strict-mode rules for every object in a schema."""
    if isinstance(node, list):
        for n in node:
            _check_strict(n)
    if not isinstance(node, dict):
        return
    assert "default" not in node
    if node.get("type") == "object":
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    for value in node.values():
        _check_strict(value)


def test_strict_schema_meets_the_rules_and_defaults_survive_the_round_trip():
    original = Plan.model_json_schema()
    strict = to_strict(original)
    _check_strict(strict)
    assert original == Plan.model_json_schema()  # the input is untouched
    reply = {"summary": "s", "risk": None, "owner": None,
             "steps": [{"command": "pytest", "timeout_s": None}]}  # fmt: skip
    plan = Plan.model_validate(drop_optional_nulls(reply, original))
    assert plan.risk == "low" and plan.steps[0].timeout_s == 60 and plan.owner is None
    assert json.loads(json.dumps(strict))  # plain JSON
