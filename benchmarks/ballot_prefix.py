"""A developer's ballot after its own patch, on the served engine's settings
(``bench_models.py --part ballot``).

In a patch council a member's critique and ballot prompts begin as its patch prompt does (the
same system prompt, then the context pack; ``Member.messages``), so the model server finds the
repository context in the slot that served the patch and evaluates only the listing and the job.
Before, they began with the role's prompt and "Answer in JSON." and a ``## Context`` heading:
the whole prompt was evaluated again. Both prompts here are built by the council's own
``Member`` over a real repository file (~2,000 tokens, ``model_loads.edit_context``); the old
form is the new one with that system prompt and heading put back. Each round and form begins with
a file of its own (no cache shared across them): the member's patch request (32 tokens of
reply), then its ballot, timed. Prints ``RESULT ballot_prefix_gain`` (old form's ballot seconds
/ this form's, median of the rounds) and the prompt tokens each evaluated.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from typing import Any

from model_loads import LARGE, edit_context

from fleet import contracts
from fleet.contracts import ChatMessage, Evidence, Patch, Proposal

DIFF = "--- a/fleet/patches/edits.py\n+++ b/fleet/patches/edits.py\n+    return {}\n"


class _Recorder:
    """Records the prompts a member sends; answers a schema with a scripted instance."""

    def __init__(self) -> None:
        from fleet.testing.fakes import ScriptedChatModel

        self.asked: list[tuple[list[ChatMessage], dict[str, Any]]] = []
        self.fallback = ScriptedChatModel()

    def complete(self, messages: Any, **kw: Any) -> contracts.ChatResponse:
        self.asked.append((list(messages), kw))
        if kw.get("schema"):
            return self.fallback.complete(messages, **kw)
        return contracts.ChatResponse(
            text="no edit", model="rec", prompt_tokens=1, completion_tokens=1, latency_ms=0.0
        )


class _Repo:
    def __init__(self, files: dict[str, str]) -> None:
        self.tree = files

    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return dict(self.tree)

    def read(self, ref: str, path: str) -> str | None:
        return self.tree.get(path)

    def check(self, patch: Patch) -> str | None:
        return None


def _proposal(author: str, body: str) -> Proposal:
    patch = Patch(base_commit="abc", diff=DIFF.replace("{}", body), files=("x.py",), rationale="r")
    return Proposal(id=f"d:p0:{author}", deliberation_id="d", author=author, role="developer",
                    round=0, content=body, patch=patch)  # fmt: skip


def prompts(code: str, salt: str) -> tuple[list[ChatMessage], Any, list[ChatMessage], Any]:
    """(patch prompt, its sampling, ballot prompt, its sampling) of developer-1, built by
    ``Member`` over ``code`` and a first file naming ``salt``."""
    from fleet.agents import write_patch
    from fleet.config import load
    from fleet.council import Brief, Member
    from fleet.council.patching import PatchTools
    from fleet.errors import FleetError

    files = {"a_round.py": f"ROUND = {salt!r}\n", "fleet/patches/edits.py": code}
    chat = _Recorder()
    tools = PatchTools(write_patch=write_patch, repo=lambda s: _Repo(files))
    member = Member("developer-1", "developer", load("roles.yaml").get("developer"), chat,
                    temperature=0.0, seed=7, tools=tools)  # fmt: skip
    brief = Brief(deliberation_id="d", story_id="s", task_id="T1", round=0, step="propose",
                  task="Make apply_edits return the files it changed", source="/repo",
                  base="main", base_commit="abc")  # fmt: skip
    with contextlib.suppress(FleetError):
        member.propose(brief)
    mine, other = _proposal("developer-1", "mine"), _proposal("developer-2", "other")
    evidence = (Evidence(proposal_id=mine.id, passed=True, tests_passed=1),
                Evidence(proposal_id=other.id, passed=True, tests_passed=1))  # fmt: skip
    member.vote(brief.model_copy(update={"step": "vote", "proposals": (mine, other),
                                         "evidence": evidence}))  # fmt: skip
    (patch, pkw), (ballot, bkw) = chat.asked[0], chat.asked[-1]
    return patch, pkw, ballot, bkw


def old_form(ballot: list[ChatMessage], role_prompt: str) -> list[ChatMessage]:
    """The ballot as it was built before: the role's prompt asking for JSON, a heading first."""
    user = ballot[1].content.removesuffix(" Answer in JSON.")
    return [ChatMessage(role="system", content=f"{role_prompt.strip()} Answer in JSON."),
            ChatMessage(role="user", content=f"## Context\n{user}")]  # fmt: skip


def _body(messages: list[ChatMessage], kw: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    from fleet.structured import json_schema

    body: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "seed": 7,
    }
    if kw.get("schema") is not None:
        schema = kw["schema"]
        schema = schema if isinstance(schema, dict) else json_schema(schema)
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": schema}}
    return body


def run_ballots(models: Any, *, rounds: int) -> None:
    """The default developer model as served, ``rounds`` rounds, each form in turn."""
    from fleet.config import load
    from serve_apps.llm.engine import LlamaCppEngine

    spec = models.models[LARGE]
    print(f"ballot: {LARGE} n_parallel={spec.n_parallel} n_ctx={spec.n_ctx}", flush=True)
    engine = LlamaCppEngine(spec, served_name=LARGE)
    role_prompt = load("roles.yaml").get("developer").system_prompt
    code, times = edit_context(), {"old": [], "new": []}
    for r in range(rounds):
        for form in ("old", "new"):
            patch, pkw, ballot, bkw = prompts(code, f"{r}-{form}")
            engine.chat(_body(patch, pkw, 32))
            asked = old_form(ballot, role_prompt) if form == "old" else ballot
            start = time.perf_counter()
            out = engine.chat(_body(asked, bkw, 48))
            seconds = time.perf_counter() - start
            times[form].append(seconds)
            evaluated = out.get("timings", {}).get("prompt_n", 0)
            print(f"round {r}: {form} ballot {seconds:.1f} s, {evaluated} of "
                  f"{out['usage']['prompt_tokens']} prompt tokens evaluated; "
                  f"reply {json.dumps(out['choices'][0]['message']['content'])[:80]}",
                  flush=True)  # fmt: skip
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"RESULT ballot_old_s {old:.1f}")
    print(f"RESULT ballot_new_s {new:.1f}")
    print(f"RESULT ballot_prefix_gain {old / new:.3f}")
