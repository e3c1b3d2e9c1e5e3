"""A chat model whose every reply is a function of exactly what it is asked, for comparing two
paths that should ask it the same things (``test_story_bench_same_change.py``).

A developer's request for an edit gets the task's known fix as edit blocks, its last line
carrying a digest of the whole request: the messages, the schema and the sampling (temperature,
seed, token limit). Whatever a path adds to or leaves out of a developer's prompt, or however it
samples, reaches the committed change. Every other request gets the scripted developer's answer
(``fleet.orchestrator.sample``: schema-valid filler, a function of the messages too). Each call
is appended to a JSONL file (``record``), so a test can show where two paths' requests part.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fleet.contracts import ChatMessage, ChatResponse
from fleet.orchestrator.sample import asks_for_a_change, scripted_developer


def fix_blocks(path: str, base: str, fixed: str) -> list[tuple[str, str]]:
    """``base`` -> ``fixed`` as (search, replace) pairs of whole lines, each search widened by
    its neighbours until it occurs once in ``base``."""
    a, b = base.splitlines(keepends=True), fixed.splitlines(keepends=True)
    pairs = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        lo, hi = i1, i2
        while not "".join(a[lo:hi]).strip() or base.count("".join(a[lo:hi])) != 1:
            lo, hi = max(0, lo - 1), min(len(a), hi + 1)
        pairs.append(("".join(a[lo:hi]), "".join(a[lo:i1] + b[j1:j2] + a[i2:hi])))
    return pairs


def digest(messages: Sequence[ChatMessage], schema: Any, sampling: Mapping[str, Any]) -> str:
    said = [(m.role, m.content) for m in messages]
    blob = json.dumps([said, schema, dict(sorted(sampling.items()))], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class EchoModel:
    """``fixes``: story title -> (module path, [(search, replace), ...]); ``label`` names the
    path in the record."""

    name = "scripted"

    def __init__(
        self, fixes: Mapping[str, tuple[str, list[tuple[str, str]]]], record: str, label: str
    ) -> None:
        self.fixes, self.record, self.label = dict(fixes), record, label

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
        max_tokens: int = 256,
        stop: Sequence[str] = (),
    ) -> ChatResponse:
        sampling = {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}
        said = "\n".join(m.content for m in messages)
        key = digest(messages, schema, sampling)
        story = next((t for t in self.fixes if t in said), None)
        developer = "You are developer-" in said and asks_for_a_change(said) and schema is None
        if story is not None and developer:
            path, pairs = self.fixes[story]
            blocks = [f"{path}\n<<<<<<< SEARCH\n{s}=======\n{r}>>>>>>> REPLACE\n" for s, r in pairs]
            last = blocks[-1].rsplit("\n>>>>>>> REPLACE", 1)[0].rstrip("\n")
            blocks[-1] = f"{last}  # {key}\n>>>>>>> REPLACE\n"
            text = "\n".join(blocks)
        else:
            text = scripted_developer(messages, schema)
        row = {"path": self.label, "story": story, "digest": key, "developer": developer,
               "sampling": sampling, "messages": [[m.role, m.content] for m in messages]}  # fmt: skip
        with Path(self.record).open("a") as f:
            f.write(json.dumps(row) + "\n")
        return ChatResponse(text=text, model=self.name, prompt_tokens=len(said.split()),
                            completion_tokens=len(text.split()))  # fmt: skip

    def for_role(self, role: str) -> EchoModel:
        """The benchmark's engine interface: every role on this model."""
        return self


def echo_services(
    fixes: Mapping[str, tuple[str, list[tuple[str, str]]]], record: str, settings: Any, log: Any
) -> Any:
    """The story path's real services (``actors.wiring.default_services``), their agents on
    ``EchoModel`` instead of the scripted developer (run inside the orchestrator actor)."""
    from functools import partial

    import actors.story_council
    from actors.wiring import default_services

    def factory(agent: str, model: str | None) -> Any:
        return partial(EchoModel, fixes, record, "story")

    actors.story_council.scripted_factory = factory  # type: ignore[assignment]
    return default_services(settings, log)
