"""A real council on the real local model: SmolLM2-135M behind the llama.cpp Serve app.

Asserts structure and plumbing (schema-valid drafts, a complete Deliberation), not wisdom.
Bounded for CI: every draft fits in ``MAX_TOKENS`` (the schemas cap each field), so no
answer is cut short and retried; each phase may take up to ``PHASE_S`` on a loaded machine
before a member is counted missing, and the whole deliberation up to ``BOUND_S``.
"""

from __future__ import annotations

import time
import uuid

import pytest

from actors.agent import spawn_agent
from actors.council import spawn_council
from fleet.config import load
from fleet.contracts import Deliberation
from fleet.council import DeliberationRequest

APP, PREFIX = "llm-council", "/llm-council"
TEAM = ("developer-1", "qa-1", "architect-1")
MAX_TOKENS, PHASE_S, BOUND_S = 112, 150.0, 420.0  # idle 2-core box: ~15-30 s in all


@pytest.fixture(scope="module")
def llm_url(ray_cluster, serve_http):

    from serve_apps.llm import deploy_llm, undeploy_llm

    url = deploy_llm(load("models.yaml"), "local-smollm2", route_prefix=PREFIX, app_name=APP)
    yield url
    undeploy_llm(APP)


@pytest.mark.slow
def test_three_members_two_rounds_on_smollm2(ray_cluster, redis_url, llm_url, tmp_path):
    from functools import partial

    from fleet.adapters.redis_events import RedisEventLog

    ns = f"council-llm-{uuid.uuid4().hex[:6]}"
    factory = partial(
        RedisEventLog, redis_url, prefix=f"t{uuid.uuid4().hex[:8]}", archive_dir=str(tmp_path)
    )
    handles = [
        spawn_agent(
            m,
            namespace=ns,
            model="local-smollm2",
            llm_base_url=llm_url,
            seed=i,
            max_tokens=MAX_TOKENS,
        )
        for i, m in enumerate(TEAM)
    ]
    council = spawn_council(factory, namespace=ns)
    handles.append(council)
    req = DeliberationRequest(
        id=f"llm-{uuid.uuid4().hex[:6]}",
        story_id="s-llm",
        members=TEAM,
        rounds=2,
        early_stop=False,
        phase_timeout_s=PHASE_S,
        task="Add a function that returns the sum of a list of integers, with a unit test.",
    )
    try:
        start = time.monotonic()
        d = ray_cluster.get(council.deliberate.remote(req), timeout=BOUND_S)
        took = time.monotonic() - start
    finally:
        for h in handles:
            ray_cluster.kill(h)
    Deliberation.model_validate(d.model_dump())  # round-trips as a valid contract
    latest: dict[str, int] = {}  # a member who misses round 2 stands on its round-1 draft
    for p in d.proposals:
        latest[p.author] = max(p.round, latest.get(p.author, -1))
    final = {p.id for p in d.proposals if p.round == latest[p.author]}
    assert any(p.round == 2 for p in d.proposals)
    assert d.winner in final
    assert len(d.proposals) >= 2 * 3 and all(p.content.strip() for p in d.proposals)
    assert d.critiques and all(
        c.severity in ("info", "minor", "major", "blocker") for c in d.critiques
    )
    assert len(d.ballots) >= 2
    for b in d.ballots:  # complete rankings over the final proposals (make_ballot fills them)
        assert sorted(b.ranking) == sorted(final), (b.ranking, final)
        assert all(0 <= s <= 10 for s in b.scores.values())
    decided = [ev for _, ev in factory().read("s-llm") if ev.type == "decision.made"]
    assert decided and decided[-1].payload.deliberation_id == req.id
    assert all(len(who) <= len(TEAM) - req.needed for who in d.missing.values()), (
        d.missing
    )  # quorum held
    # Not asserted beyond BOUND_S: the machine is shared and load varies a lot.
    print(f"\nSmolLM2 council: {took:.1f}s, missing={d.missing}, winner={d.winner}")
