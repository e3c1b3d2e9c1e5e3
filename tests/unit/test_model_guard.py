"""The unit-test guard: a chat request fails the test at once instead of reaching a model."""

from __future__ import annotations

import pytest

from fleet.adapters.openai_chat import ModelRequestsForbidden, OpenAIChatModel, Retry
from fleet.contracts import ChatMessage
from fleet.errors import ModelUnavailable


def test_a_model_request_in_a_unit_test_is_refused():
    # a port nobody listens on: were the guard off, this would be a ModelUnavailable after retries
    chat = OpenAIChatModel("http://127.0.0.1:9/v1", model_id="m", retry=Retry(max_retries=0))
    with pytest.raises(ModelRequestsForbidden, match="ALLOW_MODEL_REQUESTS is False"):
        chat.complete([ChatMessage(role="user", content="hi")])


def test_the_opt_in_lets_a_loopback_peer_be_reached(allow_model_requests):
    chat = OpenAIChatModel(
        "http://127.0.0.1:9/v1", model_id="m", retry=Retry(max_retries=0, timeout_s=2)
    )
    with pytest.raises(ModelUnavailable, match="cannot connect"):
        chat.complete([ChatMessage(role="user", content="hi")])
