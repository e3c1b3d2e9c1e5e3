"""structured: a schema-constrained call, validated, retried once with the next seed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from fleet.contracts import ChatResponse
from fleet.errors import InvalidModelOutput
from fleet.structured import structured


class Answer(BaseModel):
    n: int


class Replies:
    def __init__(self, *texts: str) -> None:
        self.texts, self.calls = list(texts), []

    def complete(self, messages: Any, **kw: Any) -> ChatResponse:
        self.calls.append((kw["temperature"], kw["seed"], kw["max_tokens"]))
        return ChatResponse(text=self.texts.pop(0), model="m", prompt_tokens=1, completion_tokens=1)


def test_an_invalid_answer_is_asked_again_with_the_next_seed() -> None:
    chat = Replies("nope", '{"n": 3}')
    got = structured(chat, [], Answer, temperature=0.3, seed=7, max_tokens=40)  # type: ignore[arg-type]
    assert got == Answer(n=3) and chat.calls == [(0.3, 7, 40), (0.3, 8, 40)]


def test_attempts_bound_the_tries_and_the_failure_names_the_model() -> None:
    chat = Replies("nope", "nope", '{"n": 3}')
    with pytest.raises(InvalidModelOutput) as err:
        structured(chat, [], Answer, attempts=2, name="dev-1")  # type: ignore[arg-type]
    assert len(chat.calls) == 2 and err.value.fields["model"] == "m"
    assert chat.calls[0] == (0.0, None, 512)  # the defaults


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="tempreature"):
        structured(Replies('{"n": 1}'), [], Answer, tempreature=0.5)  # type: ignore[arg-type, call-arg]


def test_a_blank_answer_or_comment_is_invalid_and_asked_again() -> None:
    """SmolLM2 answered a council proposal with ``"\\n\\n"``: no answer. It is asked again, and a
    second blank is InvalidModelOutput (the member misses the step)."""
    from fleet.council.schemas import CritiqueDraft, ProposalDraft

    got = structured(Replies('{"answer": "\\n\\n"}', '{"answer": "sum(xs)"}'), [], ProposalDraft)
    assert got.answer == "sum(xs)"
    with pytest.raises(InvalidModelOutput):
        structured(Replies('{"answer": " "}', '{"answer": "\\n"}'), [], ProposalDraft)
    with pytest.raises(InvalidModelOutput):
        structured(Replies(*['{"severity": "minor", "comment": "  "}'] * 2), [], CritiqueDraft)
