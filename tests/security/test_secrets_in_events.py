"""Secrets never reach the event timeline: a real bubblewrap run that prints credentials, a
denied command carrying a token in its argv and a model proposal quoting a key all go through
the real RedisEventLog (real Redis+FalkorDB), and neither the stored streams nor the graph
projected from them hold the secret; the mask is there instead."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import redis
from pydantic import BaseModel, Field

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.falkordb_graph import FalkorDecisionGraph
from fleet.adapters.redis_events import RedisEventLog
from fleet.config import load
from fleet.context.masking import redact_model
from fleet.contracts import Proposal, RunContext, TaskSpec
from fleet.errors import InvalidInput
from fleet.events import make_event
from fleet.memory import Projector
from fleet.policy import PolicyEngine
from fleet.testing.fakes import FakeClock

# Built at run time so the test source itself holds no credential-shaped literal.
AWS_KEY = "AKIA" + "Z7Q3V5X2M4N6P8R0"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzQ9X2LMNOPQR"
GH_TOKEN = "ghp_" + "R8mK2vQ9xL4nT7pW1sY6zB3cD5fG0hJ8kM2n"
OPENAI_KEY = "sk-proj-" + "Qm4Xv8Ln2Rt6Yp0Wz3Hs7Kd1Fb5Jc9Ga"
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n7u4l0aXq2YzNm0tRgeLezV6ffAt0gunVTLw\n-----END RSA PRIVATE KEY-----"
SECRETS = (AWS_KEY, AWS_SECRET, GH_TOKEN, OPENAI_KEY, PEM_BODY)


@pytest.fixture
def timeline(redis_url):
    return RedisEventLog(redis_url, prefix=f"sec{uuid.uuid4().hex[:8]}")


def _raw(url: str, log: RedisEventLog, story: str) -> str:
    """The stored bytes of the story stream and the index stream, as Redis holds them."""
    with redis.Redis.from_url(url, decode_responses=True) as r:
        entries = r.xrange(log._k("stream", story)) + r.xrange(log.index_key)
    assert entries
    return "\n".join(json.dumps(fields) for _, fields in entries)


def test_sandbox_output_and_denied_argv_are_masked_in_the_stored_timeline(
    redis_url, timeline, tmp_path: Path
):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "leak.txt").write_text(
        f"AWS_ACCESS_KEY_ID={AWS_KEY}\naws_secret_access_key = {AWS_SECRET}\n"
        f"pushing with {GH_TOKEN}\n{PEM}\ncommit 9fceb02d0ae598e95dc970b74767f19372d61af8 ok\n"
    )
    os.chown(ws, 65534, 65534)
    os.chown(ws / "leak.txt", 65534, 65534)
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=timeline)
    ctx = RunContext(story_id="s-leak", role="developer", phase="build")
    ran = sandbox.run(
        TaskSpec(id="leak-cat", cmd=("cat", "leak.txt"), workspace=str(ws), context=ctx)
    )
    assert ran.status == "passed" and AWS_KEY in ran.stdout  # the sandbox really printed them
    denied = sandbox.run(
        TaskSpec(
            id="leak-curl",
            cmd=("curl", "-H", f"Authorization: Bearer {GH_TOKEN}", "https://api.github.com"),
            context=ctx,
        )
    )
    assert denied.status == "denied"

    stored = _raw(redis_url, timeline, "s-leak")
    assert "sandbox.run" in stored and "policy.decision" in stored
    assert [s for s in SECRETS if s in stored] == []
    for mask in ("aws_access_key", "assignment", "github_token", "private_key"):
        assert f"[REDACTED:{mask}]" in stored, mask
    assert "9fceb02d0ae598e95dc970b74767f19372d61af8" in stored  # a commit hash is no secret
    run_event = next(e for _, e in timeline.read("s-leak") if e.type == "sandbox.run")
    assert run_event.payload.stdout.startswith("AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key]")


def test_model_output_is_masked_in_stream_and_projected_graph(redis_url, timeline):
    clock = FakeClock()
    proposal = Proposal(
        id="d1.p1",
        deliberation_id="d1",
        author="developer-1",
        role="developer",
        content=f"Set OPENAI_API_KEY={OPENAI_KEY} in settings.py and call the API.",
        rationale=f"the key {OPENAI_KEY} works for me",
    )
    event = make_event("s-model", "council.proposal", clock=clock, payload=proposal)
    first = timeline.append(event)
    assert timeline.append(event) == first  # still idempotent: the id is never rewritten
    stored = _raw(redis_url, timeline, "s-model")
    assert OPENAI_KEY not in stored and stored.count("[REDACTED:") >= 2

    graph = FalkorDecisionGraph(redis_url, graph=f"g{timeline.prefix}")
    graph.ensure_schema()
    assert Projector(timeline, graph, group=f"grp-{timeline.prefix}").catch_up() >= 1
    dumped = json.dumps(graph.dump(), default=str)
    assert "d1.p1" in dumped and OPENAI_KEY not in dumped


def test_a_secret_in_a_field_that_cannot_hold_the_mask_is_refused_not_stored():
    class Tiny(BaseModel):
        note: str = Field(max_length=24)

    with pytest.raises(InvalidInput, match="note"):
        redact_model(Tiny(note=AWS_KEY))  # the 25-character mask does not fit: fail closed
    assert redact_model(Tiny(note="nothing to see"))[2] == 0
