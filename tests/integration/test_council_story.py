"""The council decides the change, on the real stack (Ray actors, bubblewrap, git, Redis) with
scripted models: QA's acceptance suite is written first and fails on the base, three developers
propose patches, each is tested on its own clean copy, critiques cite the results, and the winning
patch is exactly the change the workspace runner commits."""

from __future__ import annotations

import subprocess

import pytest
from fleet_stack import start_stack, stop_stack, wait_for

from fleet.orchestrator.sample import SAMPLE_STORY

MEMBERS = ("developer-1", "developer-2", "developer-3", "qa-1", "architect-1")


@pytest.fixture(scope="module")
def council_stack(ray_cluster, redis_url, tmp_path_factory):
    s = start_stack(
        ray_cluster,
        redis_url,
        factory=None,
        model="scripted",
        data_dir=str(tmp_path_factory.mktemp("fleet")),
        members=MEMBERS,
        rounds=1,
        phase_timeout_s=90.0,
        settle_on_pass=False,  # the whole protocol: critiques cite the round-0 results
        critique=True,  # (off by default in config/fleet.yaml)
    )
    yield s
    stop_stack(ray_cluster, s)


def _drive(client, stack, story_id, timeout=400.0):
    for _ in range(4):
        body = wait_for(
            client, stack, story_id, lambda b: b["parked"] is not None or b["outcome"], timeout
        )
        if body["outcome"] or body["parked"]["gate"] not in ("scope", "design", "acceptance"):
            return body
        r = client.post(
            f"{stack.base_url}/stories/{story_id}/approvals",
            json={"approved": True},
            headers=stack.headers(),
        )
        assert r.status_code == 202, r.text
    return wait_for(client, stack, story_id, lambda b: b["outcome"] is not None, timeout)


def _git(repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_the_winning_patch_is_exactly_the_committed_change(
    council_stack, client, sample_git, tmp_path
):
    from fleet.adapters.redis_events import RedisEventLog

    body = {**SAMPLE_STORY, "id": "council-1", "repo": sample_git}
    r = client.post(f"{council_stack.base_url}/stories", json=body, headers=council_stack.headers())
    assert r.status_code == 201, r.text
    final = _drive(client, council_stack, "council-1")
    assert final["outcome"] == "done", (final["parked"], final["transitions"])
    events = [
        ev
        for _, ev in RedisEventLog(council_stack.redis_url, prefix=council_stack.prefix).read(
            "council-1"
        )
    ]

    suite = next(ev for ev in events if ev.type == "council.suite")
    assert len(suite.data["tests"]) == 2  # both executable criteria, failing on the base: kept
    # both criteria are about divide: one task, so no planning council
    assert [ev.payload.task_id for ev in events if ev.type == "council.result"] == ["p1-t1"]
    result = next(ev.payload for ev in events if ev.type == "council.result" and ev.payload.task_id)
    assert result.task_id == "p1-t1"
    assert {p.author for p in result.proposals} == {"developer-1", "developer-2", "developer-3"}
    assert all(p.patch is not None for p in result.proposals)
    winner = next(p for p in result.proposals if p.id == result.winner)
    evidence = {e.proposal_id: e for e in result.evidence}
    assert evidence[winner.id].passed and evidence[winner.id].tests_passed >= 2
    assert any("passes" in c.content for c in result.critiques), [  # critiques cite the results
        (c.author, c.content) for c in result.critiques
    ]
    assert {c.role for c in result.critiques} >= {"qa", "architect", "developer"}
    assert result.tally.rule == "evidence/borda"
    decision = next(
        ev.payload
        for ev in events
        if ev.type == "decision.made" and ev.payload.deliberation_id == result.id
    )
    assert winner.patch.diff in decision.what

    report = next(ev for ev in events if ev.type == "workspace.report" and ev.data.get("commit"))
    commit = report.data["commit"]
    base = report.data["base_commit"]  # the workspace may be a shallow clone: no parent commit
    assert base == winner.patch.base_commit
    # the committed tree is the base tree with the winner's diff applied, nothing more or less
    check = tmp_path / "check"
    _git(tmp_path, "clone", "-q", sample_git, str(check))
    _git(check, "checkout", "-q", base)
    subprocess.run(
        ["git", "-C", str(check), "apply", "-"], input=winner.patch.diff, text=True, check=True
    )
    # the generated tests ship importing the code (fleet.evidence.imports): as committed
    shipped = report.data["generated_tests"]
    assert shipped["imports"] and not shipped["lookup"], shipped
    for path in shipped["imports"]:
        text = _git(sample_git, "show", f"{commit}:{path}") + "\n"
        assert "_find" not in text and "from calc import divide\n" in text, text
        (check / path).write_text(text)
    for path in shipped.get("merged", {}):
        (check / path).unlink()
    _git(check, "add", "-A")
    # the workspace is removed once the story is delivered: the commit is on fleet/<story> in the repo
    assert _git(check, "write-tree") == _git(sample_git, "rev-parse", f"{commit}^{{tree}}")

    # the story report shows the council: every proposal with its test results, the critiques
    # citing them, the ballots, the winner, and that the committed change is the winner's patch
    r = client.get(
        f"{council_stack.base_url}/stories/council-1/report?format=json",
        headers=council_stack.headers(),
    )
    assert r.status_code == 200, r.text
    councils = [c for c in r.json()["councils"] if c["id"] == result.id]
    assert len(councils) == 1
    council = councils[0]
    assert council["winner"] == winner.id and council["distrusted"] == []
    assert set(council["suite_tests"]) == set(suite.data["tests"])
    assert all(
        p["tested"] and p["tests_passed"] + p["tests_failed"] >= 2 for p in council["proposals"]
    )
    assert all(p["diff"] for p in council["proposals"])
    assert council["committed"] == {
        "commit": commit,
        "branch": report.data["branch"],
        "status": report.data["status"],
        "equals_winner": True,
        "tests_import": True,
    }
    md = client.get(
        f"{council_stack.base_url}/stories/council-1/report", headers=council_stack.headers()
    ).text
    assert f"**winner: {winner.author}** (`{winner.id}`)" in md
    for p in result.proposals:
        ev = evidence[p.id]
        total = ev.tests_passed + ev.tests_failed
        assert f"**{p.author}**, round {p.round} (`{p.id}`)" in md
        assert f"passes {ev.tests_passed}/{total} evidence tests" in md
    assert "#### Critiques" in md and "'s proposal, round 1" in md and "[passes " in md
    if result.ballots:  # the ballots of the last vote
        assert md.count(f"- round {result.ballots[-1].round}, ") >= len(MEMBERS) - 1
    else:  # the council skips the vote when the evidence decides (fleet/council/selection.py)
        assert "- not asked in round 1, vote: the evidence decides" in md
    assert f"Committed change: commit `{commit}`" in md and (
        "**equals the winner's patch, its generated tests importing the code**" in md
    )


def _council_service(stack, tmp_path):
    from actors.story_services import RayCouncil
    from actors.wiring import OrchestratorSettings, event_log

    settings = OrchestratorSettings(
        redis_url=stack.redis_url,
        prefix=stack.prefix,
        graph=f"g{stack.prefix[1:]}",
        namespace=stack.namespace,
        model="scripted",
        members=MEMBERS,
        rounds=1,
        phase_timeout_s=90.0,
        data_dir=str(tmp_path),
    )
    return settings, RayCouncil(settings, event_log(settings))


def test_the_team_plans_a_story_with_several_criteria_on_the_council_actor(council_stack, tmp_path):
    """The architect's task DAG is deliberated by the real council actor and its role agents
    (critiques, a revision, ballots in Redis); the winner becomes the tasks."""
    from actors.wiring import team_plan
    from fleet.contracts import Story

    settings, council = _council_service(council_stack, tmp_path)
    story = Story(
        id="plan-1",
        title="Add divide and power to calc",
        description="As a user I want divide and power.",
        acceptance_criteria=(
            "divide(6, 3) returns 2.0",
            "power(2, 3) returns 8",
            "the README documents divide and power",
        ),
    )
    tasks = team_plan(settings, council)(story, 1)
    assert [(t.id, t.depends_on) for t in tasks] == [
        ("p1-t1", ()),
        ("p1-t2", ()),
        ("p1-t3", ("p1-t1", "p1-t2")),
    ]
    events = [ev for _, ev in council.log.read("plan-1")]
    result = next(ev.payload for ev in events if ev.type == "council.result")
    assert result.id == "plan-1.plan1" and result.winner.endswith("architect-1")
    assert all(p.plan for p in result.proposals) and {p.round for p in result.proposals} == {0, 1}
    assert {c.author for c in result.critiques} == set(MEMBERS) - {"architect-1"}
    assert {b.voter for b in result.ballots} == set(MEMBERS)


def test_devops_and_data_members_join_as_long_lived_agent_actors(council_stack, tmp_path):
    import ray

    from actors.agent import agent_actor_name
    from fleet.contracts import Story

    _, council = _council_service(council_stack, tmp_path)
    story = Story(
        id="ops-1",
        title="Pin the requests dependency and add a users table migration",
        description="As an operator I want reproducible installs and a users table.",
        acceptance_criteria=("pyproject pins requests", "a migration creates the users table"),
    )
    ids, roles = council.members(story)  # spawns them: named, detached (actors/builder.py)
    assert ids[-2:] == ("devops-1", "data-1") and roles["devops-1"] == "devops"
    for agent in ("devops-1", "data-1"):
        handle = ray.get_actor(
            agent_actor_name(agent, council.scope), namespace=council_stack.namespace
        )
        assert ray.get(handle.ping.remote()) == agent
