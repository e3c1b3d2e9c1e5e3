"""Compression of long stories (ratio and key-fact retention) and the engine's cache rules."""

from __future__ import annotations

import json

import pytest

from fleet.context import ContextEngine, MemoryScratch, StoryDigest
from fleet.context.compress import measure, raw_history
from fleet.context.synthetic import synthetic_story
from fleet.contracts import Decision, FleetEvent
from fleet.testing.fakes import InMemoryEventLog, ScriptedChatModel


def _digest(events) -> StoryDigest:
    d = StoryDigest(events[0].story_id)
    d.apply_all([(f"{i}-0", e) for i, e in enumerate(events, 1)])
    return d


@pytest.mark.parametrize("n_events", [600, 3000])
def test_long_story_compresses_at_least_60_percent_and_keeps_every_key_fact(builder, tok, n_events):
    s = synthetic_story(n_events)
    assert (
        len(s.facts.decisions) == 16
        and len(s.facts.criteria) == 6
        and len(s.facts.failing_tests) == 4
    )
    pack = builder.build(_digest(s.events), "developer", "build", task_id="T1")
    report = measure(s.events, pack, s.facts.all(), tok)
    assert report.ratio >= 0.60, report
    assert report.retention == 1.0, report.missing
    # old history never goes in raw (the developer's build scope has none at all)
    names = {x.name for x in pack.sections}
    assert "history" not in names or "history" in pack.compressed or "history" in pack.dropped


def test_resolved_failures_are_not_reported_as_failing(builder):
    s = synthetic_story(800)
    text = builder.build(_digest(s.events), "qa", "test").render()
    failing = [ln for ln in text.splitlines() if ln.startswith("FAILING")]
    named = [k for ln in failing for k in ln.removeprefix("FAILING ").split(": ")[0].split(", ")]
    assert sorted(named) == s.facts.failing_tests
    assert text.index("FAILING") < text.index("gate L2")  # failing tests first


def test_unbudgeted_pack_is_still_much_smaller_than_raw_history(builder, tok):
    s = synthetic_story(2000)
    pack = builder.build(_digest(s.events), "developer", "build", task_id="T1", budget=10**6)
    assert pack.token_count < 0.25 * tok.count(raw_history(s.events))


def test_digest_stays_bounded_as_the_timeline_grows():
    small, large = synthetic_story(1000), synthetic_story(8000)
    assert len(_digest(large.events).to_json()) < 1.5 * len(_digest(small.events).to_json())


def test_llm_summary_goes_through_the_chat_port_and_is_redacted(builder):
    seen = []

    def script(messages, schema):
        seen.append(messages[-1].content)
        return json.dumps(
            {"summary": "Four tests still fail; key sk-proj-abcdefghijklmnopqrstuvwx1234 leaked."}
        )

    s = synthetic_story(500, n_decisions=3)
    log = InMemoryEventLog()
    for e in s.events:
        log.append(e)
    engine = ContextEngine(
        log, builder, summarizer=ScriptedChatModel(script=script), summary_every=100
    )
    text = engine.pack(s.story_id, "architect", "draft").render()
    assert len(seen) == 1 and "decision" in seen[0].lower()
    assert "Summary of earlier work: Four tests still fail" in text
    assert "sk-proj-" not in text and "[REDACTED:openai_key]" in text


def test_engine_caches_until_a_new_event_then_rebuilds(builder):
    s = synthetic_story(300)
    log, store = InMemoryEventLog(), MemoryScratch()
    for e in s.events:
        log.append(e)
    engine = ContextEngine(log, builder, store=store)
    first = engine.pack(s.story_id, "developer", "build", "T1")
    assert engine.pack(s.story_id, "developer", "build", "T1") == first
    assert engine.stats["builds"] == 1 and engine.stats["hits"] == 1
    new = Decision(id="D-new", story_id=s.story_id, task_id="T1", what="Cache packs per story version",
                   decided_by=("architect-1",), why="speed")  # fmt: skip
    log.append(FleetEvent(id="n1", story_id=s.story_id, type="decision.made", at_ms=1, payload=new))
    after = engine.pack(s.story_id, "developer", "build", "T1")
    assert engine.stats["builds"] == 2 and "Cache packs per story version" in after.render()
    # a fresh engine on the same store serves the stored pack without rebuilding
    again = ContextEngine(log, builder, store=store)
    assert again.pack(s.story_id, "developer", "build", "T1") == after
    assert again.stats == {"hits": 1, "builds": 0, "events_folded": 0}
