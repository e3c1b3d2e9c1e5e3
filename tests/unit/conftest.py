"""Fixtures shared by the pure context tests: the real GGUF tokenizer and a builder over scopes.yaml."""

from __future__ import annotations

import pytest

from fleet.adapters.gguf_tokenizer import GGUFTokenizer
from fleet.config import load
from fleet.context import ContextBuilder


@pytest.fixture(scope="module")
def tok() -> GGUFTokenizer:
    return GGUFTokenizer()


@pytest.fixture(scope="module")
def builder(tok: GGUFTokenizer) -> ContextBuilder:
    return ContextBuilder(load("scopes.yaml"), tok)
