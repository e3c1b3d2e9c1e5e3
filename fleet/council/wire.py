"""A council call's arguments and answer as JSON bytes, for sending them between processes.

Ray pickles pydantic objects slowly: a Brief with five proposals as actor-call arguments added
~2 ms to every phase on the reference machine, while bytes pass through almost free. JSON
round-trips the contracts exactly, so the member sees the same Brief and answers the same.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from fleet.contracts import Proposal
from fleet.council.plans import PlanDraft
from fleet.council.schemas import (
    BallotDraft,
    Brief,
    Candidate,
    CritiqueDraft,
    CritiqueNote,
    ProposalDraft,
)
from fleet.errors import UserError

_Critique = CritiqueDraft | CritiqueNote

_ARGS: dict[str, TypeAdapter[Any]] = {
    "propose": TypeAdapter(tuple[Brief]),
    "vote": TypeAdapter(tuple[Brief]),
    "critique": TypeAdapter(tuple[Brief, Proposal]),
    "critiques": TypeAdapter(tuple[Brief, tuple[Proposal, ...]]),
    "revise": TypeAdapter(tuple[Brief, Proposal | None]),
    "distinguish": TypeAdapter(tuple[Brief, tuple[Proposal, ...]]),
}
_ANSWERS: dict[str, TypeAdapter[Any]] = {
    "propose": TypeAdapter(ProposalDraft | Candidate | PlanDraft),
    "revise": TypeAdapter(ProposalDraft | Candidate | PlanDraft),
    "vote": TypeAdapter(BallotDraft),
    "critique": TypeAdapter(_Critique),
    "critiques": TypeAdapter(list[_Critique]),
    "distinguish": TypeAdapter(list[str]),
}


def _adapter(method: str) -> TypeAdapter[Any]:
    adapter = _ARGS.get(method)
    if adapter is None:
        raise UserError(f"unknown council call {method!r}; one of {', '.join(sorted(_ARGS))}")
    return adapter


def encode(method: str, args: tuple[Any, ...]) -> bytes:
    """``args`` of member method ``method`` as JSON bytes."""
    return _adapter(method).dump_json(args)


def decode(method: str, data: bytes) -> tuple[Any, ...]:
    """The arguments ``encode`` was given, as contracts again."""
    return tuple(_adapter(method).validate_json(data))


def encode_answer(method: str, answer: Any) -> Any:
    """A draft (or list of drafts) as JSON bytes; a failure, or a list holding one, as it is."""
    failed = isinstance(answer, BaseException) or (
        isinstance(answer, list) and any(isinstance(a, BaseException) for a in answer)
    )
    return answer if failed else _ANSWERS[method].dump_json(answer)


def decode_answer(method: str, answer: Any) -> Any:
    """What ``encode_answer`` was given (a non-bytes answer is returned unchanged)."""
    return _ANSWERS[method].validate_json(answer) if isinstance(answer, bytes) else answer
