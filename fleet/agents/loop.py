"""A bounded tool loop for capable models, as small as mini-swe-agent's ``DefaultAgent``.

Each step the model answers with one action: a command (one ```bash block, run as an argv in
the member's sandboxed copy under the role's policy), edit blocks (applied to the copy), or
``SUBMIT``. The observation goes back as the next user message. The loop stops on submit, on
its step limit or on its token limit; in every case the copy's difference from the base files
is the member's ``Patch``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, Protocol, TypedDict, Unpack

from fleet.contracts import ChatMessage, Patch
from fleet.patches import EditError, apply_edits, make_patch, parse_edits
from fleet.patches.edits import SearchReplace
from fleet.ports import ChatModel
from fleet.prompts import render

_BASH = re.compile(r"```(?:bash|sh|shell|console)?\s*\n(.*?)```", re.S)
_SUBMIT = re.compile(r"^\s*SUBMIT\s*$", re.M)
MAX_OBSERVATION = 3_000
Exit = Literal["submitted", "step_limit", "token_limit"]


def __getattr__(name: str) -> str:
    """``LOOP_FORMAT``: the template ``loop.format``, rendered when read."""
    if name == "LOOP_FORMAT":
        return render("loop.format")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LoopWorkspace(Protocol):
    """The member's own copy of the repository (see ``fleet/adapters/sandbox_workspace.py``)."""

    def run(self, argv: list[str]) -> tuple[int, str]:
        """Run ``argv`` in the copy under the role's policy: (exit code, output)."""
        ...

    def files(self) -> dict[str, str]:
        """Path -> text of the copy's regular text files now."""
        ...

    def write(self, files: Mapping[str, str]) -> None:
        """Write these files into the copy (safe relative paths only)."""
        ...


@dataclass(frozen=True)
class LoopLimits:
    """When the loop stops (``step_limit`` replies, ``token_limit`` tokens in and out) and how
    each reply is decoded."""

    step_limit: int = 12
    token_limit: int = 60_000
    max_tokens: int = 768
    temperature: float = 0.0


class LoopOptions(TypedDict, total=False):
    """``LoopLimits``' fields as keywords of ``run_loop``."""

    step_limit: int
    token_limit: int
    max_tokens: int
    temperature: float


@dataclass(frozen=True)
class LoopResult:
    patch: Patch
    steps: int
    tokens: int
    exit: Exit


def _act(reply: str, ws: LoopWorkspace) -> str | None:
    """Carry out the reply's action; its observation (None: submitted)."""
    if "<<<<<<< SEARCH" in reply:
        try:
            edits = [e for e in parse_edits(reply) if isinstance(e, SearchReplace)]
            current = ws.files()
            new = apply_edits(current, edits)
            changed = {p: t for p, t in new.items() if current.get(p) != t}
            ws.write(changed)
        except EditError as exc:
            return render("loop.edit_failed", error=exc)
        return render("loop.edited", paths=", ".join(changed))
    if command := _BASH.search(reply):
        try:
            argv = shlex.split(command.group(1).strip().split("\n")[0])
        except ValueError as exc:
            return render("loop.bad_command", error=exc)
        if not argv:
            return render("loop.empty_command")
        code, out = ws.run(argv)
        return render("loop.output", code=code, output=out[-MAX_OBSERVATION:])
    if _SUBMIT.search(reply):
        return None
    return render("loop.no_action")


def run_loop(
    model: ChatModel,
    ws: LoopWorkspace,
    messages: list[ChatMessage],
    *,
    base_files: Mapping[str, str],
    base_commit: str,
    limits: LoopLimits | None = None,
    **options: Unpack[LoopOptions],
) -> LoopResult:
    """Run the loop from ``messages`` (context + task; the loop format is added) to a Patch of the
    copy against ``base_files``, within ``limits`` (or the same fields as keywords, ``options``).
    Raises ModelUnavailable / BudgetExceeded from the model."""
    limits = replace(limits or LoopLimits(), **options)
    step_limit, token_limit = limits.step_limit, limits.token_limit
    max_tokens, temperature = limits.max_tokens, limits.temperature
    form = render("loop.format")
    convo = [ChatMessage(role="system", content=f"{messages[0].content}\n\n{form}"),
             *messages[1:]]  # fmt: skip
    steps = tokens = 0
    exit: Exit = "step_limit"
    rationale = ""
    while steps < step_limit:
        if tokens >= token_limit:
            exit = "token_limit"
            break
        response = model.complete(convo, temperature=temperature, max_tokens=max_tokens)
        steps += 1
        tokens += response.prompt_tokens + response.completion_tokens
        rationale = rationale or response.text.strip().split("\n")[0][:300]
        observation = _act(response.text, ws)
        if observation is None:
            exit = "submitted"
            break
        convo += [ChatMessage(role="assistant", content=response.text),
                  ChatMessage(role="user", content=observation)]  # fmt: skip
    patch = make_patch(base_commit, base_files, ws.files(), rationale)
    return LoopResult(patch=patch, steps=steps, tokens=tokens, exit=exit)
