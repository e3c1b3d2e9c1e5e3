"""No shipping on no evidence, end to end: on the real stack (Ray actors, bubblewrap, git, Redis)
with the scripted model, a council whose only candidate fails the story's own acceptance tests
does not ship it.

The scripted developer always writes the sample's change (``divide`` raising "division by zero",
fleet/orchestrator/sample.py); this story asks for another message, so the one candidate fails
the acceptance test made from that criterion, in its first proposal and its revision alike.
The story must end parked at the ``blocked``/``error`` gate naming the failing test, after at
most one retry council, with that change never built, committed or delivered."""

from __future__ import annotations

import subprocess

import pytest
from fleet_stack import start_stack, stop_stack, wait_for

from fleet.orchestrator.sample import SAMPLE_STORY

MEMBERS = ("developer-1", "qa-1")  # one developer: one candidate
STORY_ID = "unproven-1"
WANTED = "cannot divide by zero"  # the scripted change raises "division by zero"
STORY = {
    **SAMPLE_STORY,
    "id": STORY_ID,
    "acceptance_criteria": [
        "divide(6, 3) returns 2.0",
        f"divide(1, 0) raises ValueError with the message '{WANTED}'",
    ],
}


@pytest.fixture(scope="module")
def lone_stack(ray_cluster, redis_url, tmp_path_factory):
    s = start_stack(
        ray_cluster,
        redis_url,
        factory=None,
        model="scripted",
        data_dir=str(tmp_path_factory.mktemp("fleet")),
        members=MEMBERS,
        rounds=1,
        phase_timeout_s=90.0,
    )
    yield s
    stop_stack(ray_cluster, s)


def _git(repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def _drive(client, stack, story_id, timeout=400.0):
    """Approve scope and design; return the story once it waits elsewhere or has ended."""
    for _ in range(4):
        body = wait_for(
            client, stack, story_id, lambda b: b["parked"] is not None or b["outcome"], timeout
        )
        if body["outcome"] or body["parked"]["gate"] not in ("scope", "design"):
            return body
        r = client.post(
            f"{stack.base_url}/stories/{story_id}/approvals",
            json={"approved": True},
            headers=stack.headers(),
        )
        assert r.status_code == 202, r.text
    raise AssertionError(f"{story_id} kept asking for scope/design approvals: {body}")


def test_a_council_whose_only_candidate_fails_its_evidence_does_not_ship_it(
    lone_stack, client, sample_git
):
    from fleet.adapters.redis_events import RedisEventLog

    refs_before = _git(sample_git, "for-each-ref", "--format=%(refname) %(objectname)")
    r = client.post(
        f"{lone_stack.base_url}/stories",
        json={**STORY, "repo": sample_git},
        headers=lone_stack.headers(),
    )
    assert r.status_code == 201, r.text
    final = _drive(client, lone_stack, STORY_ID)

    # not delivered: parked where a person must look, with the failing test named
    assert final["outcome"] != "done", final
    parked = final["parked"]
    assert parked is not None and parked["gate"] in ("blocked", "error"), final
    # the criterion the change fails, by its test (test_divide_2: the message), and pytest's why
    assert "_acceptance.py::test_divide_2" in parked["reason"], parked
    assert "division by zero" in parked["reason"], parked
    # the first attempt's gate blocked it once; the retry council's same change parked it at once
    names = [t["name"] for t in final["transitions"]]
    assert names.count("gate_blocked") <= 1 and "gate_passed" not in names, names

    events = [
        ev for _, ev in RedisEventLog(lone_stack.redis_url, prefix=lone_stack.prefix).read(STORY_ID)
    ]
    results = [ev.payload for ev in events if ev.type == "council.result" and ev.payload.task_id]
    assert results, [ev.type for ev in events]
    assert len(results) <= 2, [r.id for r in results]  # no loop repeating the same change
    for result in results:
        # the council's only candidate, and it fails the story's own acceptance test
        assert {p.author for p in result.proposals} == {"developer-1"}
        winner = next(p for p in result.proposals if p.id == result.winner)
        assert winner.patch is not None and "division by zero" in winner.patch.diff
        evidence = {e.proposal_id: e for e in result.evidence}[winner.id]
        assert not evidence.passed and evidence.tests_failed >= 1
        assert result.unproven and all("_acceptance.py::" in t for t in result.unproven)

    # never built: every workspace report of a task says so, none carries a commit
    reports = [ev for ev in events if ev.type == "workspace.report"]
    assert reports and not any(ev.data.get("commit") for ev in reports), [ev.data for ev in reports]
    assert all(
        ev.data.get("built") is False and ev.payload.notes[0].startswith("not built")
        for ev in reports
    ), [(ev.data, ev.payload.notes) for ev in reports]

    # nothing reached the user's repository: no fleet/<story> branch, no ref moved
    assert _git(sample_git, "for-each-ref", "--format=%(refname) %(objectname)") == refs_before
    assert not _git(sample_git, "branch", "--list", f"fleet/{STORY_ID}").strip()
    assert "def divide" not in _git(sample_git, "grep", "-h", "def ", "HEAD", "--", "calc")
