"""QA's model calls besides tests: its own examples of the task's functions, and the inputs that
tell passing candidates apart (``fleet/council/examples.py``, ``fleet/council/distinguish.py``).

Functions over the member (``Member.write_examples`` and ``Member.distinguish`` call them): its
model, role prompt, sampling and repository tools.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from fleet.agents.stubs import head_of, named, top_functions
from fleet.config import RoleSpec
from fleet.contracts import ChatMessage, Proposal
from fleet.council import distinguish, examples
from fleet.council.patching import PatchTools
from fleet.council.schemas import Brief
from fleet.council.seeds import mix
from fleet.criteria import examples as acceptance_examples
from fleet.evidence.suite import without
from fleet.ports import ChatModel
from fleet.prompts import render


class Asker(Protocol):
    """What these calls use of a council member (``fleet/council/member.py``)."""

    agent_id: str
    spec: RoleSpec
    chat: ChatModel
    temperature: float
    seed: int
    tools: PatchTools | None

    def identity(self, *, style: bool = False) -> str: ...


def _reply(member: Asker, messages: list[ChatMessage], salt: str, brief: Brief, tokens: int) -> str:
    reply = member.chat.complete(
        messages,
        temperature=member.temperature,
        seed=mix(member.seed, brief.seed, salt),
        max_tokens=tokens,
    )
    return reply.text


_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\(")
MAX_CALLED = 2  # existing functions the task calls whose source QA is shown


def called(files: Mapping[str, str], text: str) -> list[tuple[str, str]]:
    """(name, head) of the top-level functions of the repository's non-test Python files that
    ``text`` writes as a call (``tail(2, seq)``): a bug report's or a change's function. The head
    is its signature and docstring, not its body: QA's expected values then come from what the
    function promises, independently of the code, so one the base commit already returns is
    behaviour confirmed twice (a keep test), not the bug copied by reading it. At most
    ``MAX_CALLED``, in the text's order."""
    wanted = list(dict.fromkeys(_CALL.findall(text)))

    def read(path: str, source: str) -> bool:  # outside tests/, defining a name the text calls
        return "/tests/" not in f"/{path}" and any(f"def {w}(" in source for w in wanted)

    found: dict[str, str] = {}
    for _, node, lines in top_functions(files, read):
        if node.name in wanted:
            found.setdefault(node.name, head_of(node, lines))
    return [(w, found[w]) for w in wanted if w in found][:MAX_CALLED]


def examples_of(member: Asker, brief: Brief, criteria: Sequence[str]) -> list[str]:
    """More "f(args) returns value" cases of the functions the task is about (its criteria's,
    the body-less ones it names, the existing ones it calls); [] when there is no repository
    or no such function."""
    if member.tools is None or brief.source is None:
        return []
    files = member.tools.repo(brief.source).files(brief.base_commit or brief.base or "HEAD")
    text = "\n".join([brief.task, *criteria])
    stubs = named(files, text)
    existing = [(n, src) for n, src in called(files, text) if n not in {s.name for s in stubs}]
    funcs = list(dict.fromkeys([*(e.func for e in acceptance_examples(criteria)),
                                *(s.name for s in stubs), *(n for n, _ in existing)]))  # fmt: skip
    if not funcs:
        return []
    heads = [s.head for s in stubs if s.name in funcs] + [src for _, src in existing]
    role_prompt = member.spec.system_prompt.strip()
    messages = [
        ChatMessage(
            role="system",
            content=render(
                "council.system_examples", role_prompt=role_prompt, agent=member.agent_id
            ),
        ),
        ChatMessage(
            role="user",
            content=f"{member.identity()}\n\n{examples.job(brief.task, criteria, heads, funcs)}",
        ),
    ]
    text = _reply(member, messages, "examples", brief, examples.TOKENS)
    return examples.lines(text, funcs, criteria)


def inputs(member: Asker, brief: Brief, targets: Sequence[Proposal]) -> list[str]:
    """Calls of the functions ``targets`` change on which they would differ; [] when they change
    no top-level function."""
    shown = [
        (p.author, without(p.patch.diff, brief.evidence_files) if p.patch else "") for p in targets
    ]
    funcs = distinguish.functions([diff for _, diff in shown])
    if not funcs:
        return []
    role_prompt = member.spec.system_prompt.strip()
    system = render("distinguish.system", role_prompt=role_prompt, agent=member.agent_id)
    messages = [
        ChatMessage(role="system", content=system),
        ChatMessage(
            role="user",
            content=f"{member.identity()}\n\n{distinguish.job(brief.task, funcs, shown)}",
        ),
    ]
    text = _reply(member, messages, "distinguish", brief, distinguish.TOKENS)
    return distinguish.calls(text, funcs)
