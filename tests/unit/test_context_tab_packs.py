"""The Context tab's packs: a pack built with the repository is cached under its key plus the
task's base commit, and the gateway finds it there (the tab said "No context pack is recorded"
for every story whose members saw the code)."""

from __future__ import annotations

import json

from fleet.context.service import ContextEngine
from fleet.contracts import ContextPack, ContextSection, Patch, Proposal, Story
from fleet.events import make_event
from serve_apps.gateway.po_api import base_commits, context_packs

BASE = "a" * 40


class Clock:
    def now_ms(self) -> int:
        return 1_700_000_000_000

    def monotonic(self) -> float:
        return 0.0


class Log:
    def __init__(self, rows: list, scratch: dict[str, str]) -> None:
        self.rows, self.scratch = rows, scratch

    def read(self, story_id: str, **_: object) -> list:
        return self.rows

    def get_scratch(self, key: str) -> str | None:
        return self.scratch.get(key)


def _story() -> list:
    c = Clock()
    patch = Patch(base_commit=BASE, diff="--- a/x\n+++ b/x\n")
    prop = Proposal(
        id="p1", deliberation_id="s1.T1.a0", author="developer-1", role="developer",
        content="c", patch=patch,
    )  # fmt: skip
    return [
        ("1-0", make_event("s1", "story.created", clock=c, payload=Story(id="s1", title="T"))),
        ("2-0", make_event("s1", "council.proposal", clock=c, payload=prop)),
    ]


def _pack(role: str, phase: str) -> str:
    pack = ContextPack(
        story_id="s1", task_id=None, role=role, phase=phase,
        sections=(ContextSection(name="code", content="def divide(a, b): ..."),),
    )  # fmt: skip
    return json.dumps({"at": "2-0", "pack": pack.model_dump_json()})


def test_packs_built_with_the_repository_are_found_under_the_base_commit():
    rows = _story()
    assert base_commits(rows) == [BASE]
    key = ContextEngine.pack_key("s1", "developer", "build", None)
    plain = ContextEngine.pack_key("s1", "architect", "design", None)
    log = Log(
        rows, {f"{key}:{BASE}": _pack("developer", "build"), plain: _pack("architect", "design")}
    )
    found = {p.key: p.pack for p in context_packs(log, "s1")}
    assert set(found) == {f"developer:build:- @ {BASE[:10]}", "architect:design:-"}
    assert found[f"developer:build:- @ {BASE[:10]}"]["sections"][0]["content"].startswith(
        "def divide"
    )
