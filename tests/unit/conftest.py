"""Fixtures shared by the unit tests, and the guard that keeps them off real models.

Unit tests run without Ray, servers or models. ``openai_chat.ALLOW_MODEL_REQUESTS`` is switched
off for the whole session, so any code path that would send a chat request fails the test with
``ModelRequestsForbidden`` instead of silently calling a model. A test that talks to a loopback
stand-in on purpose (the HTTP client's own tests) opts in with the ``allow_model_requests``
fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleet.adapters import openai_chat
from fleet.adapters.gguf_tokenizer import GGUFTokenizer
from fleet.config import load
from fleet.context import ContextBuilder


@pytest.fixture(autouse=True)
def _no_model_requests() -> Iterator[None]:
    openai_chat.ALLOW_MODEL_REQUESTS = False
    yield
    openai_chat.ALLOW_MODEL_REQUESTS = True


@pytest.fixture
def allow_model_requests() -> Iterator[None]:
    """For tests whose "model" is a loopback HTTP peer they started themselves."""
    openai_chat.ALLOW_MODEL_REQUESTS = True
    yield
    openai_chat.ALLOW_MODEL_REQUESTS = False


@pytest.fixture(scope="module")
def tok() -> GGUFTokenizer:
    return GGUFTokenizer()


@pytest.fixture(scope="module")
def builder(tok: GGUFTokenizer) -> ContextBuilder:
    return ContextBuilder(load("scopes.yaml"), tok)
