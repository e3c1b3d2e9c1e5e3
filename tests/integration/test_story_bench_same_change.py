"""The default is what the benchmark measures: three development tasks (a bug report naming no
file, a change to an existing function, another package's bug) run through the story path -- the
gateway, the orchestrator, the council actor, the role agents, the sandbox supervisor and the
workspace runner, with ``config/fleet.yaml``'s council as ``fleet up`` passes it -- and through
``bench_agents.py``'s build path (``council_arms._convene``, ``harness.fleet_build``) commit the
same change.

The model is ``echo_model.EchoModel``: each developer's patch carries a digest of everything it
was asked (prompt, schema, temperature, seed, token limit), so the two committed changes are
equal only if the council that won sent the same requests on both paths, sampled the same way,
and the same member won. Where they differ, the failure shows the first request that parted.
The tasks come from ``benchmarks/dev_tasks.yaml`` (their packages' source distributions, fetched
from PyPI once and cached like the benchmark's)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from echo_model import EchoModel, echo_services, fix_blocks
from fleet_stack import start_stack, stop_stack, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

TASKS = ("funcy-cut-suffix-empty", "funcy-ignore-default", "toolz-tail-off-by-one")


@pytest.fixture(scope="module")
def tasks() -> dict[str, Any]:
    import dev_tasks

    table = {t.id: t for t in dev_tasks.load()}
    return {i: dev_tasks.bench_task(table[i]) for i in TASKS}


@pytest.fixture(scope="module")
def record(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("echo") / "calls.jsonl"


@pytest.fixture(scope="module")
def fixes(tasks) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    out = {}
    for t in tasks.values():
        module = t.extra["module"]
        out[t.story.title] = (module, fix_blocks(module, t.files[module], t.extra["original"]))
    return out


@pytest.fixture(scope="module")
def story_stack(ray_cluster, redis_url, tmp_path_factory, fixes, record):
    import echo_model
    from ray import cloudpickle

    from fleet.config import load

    cloudpickle.register_pickle_by_value(echo_model)  # the actors cannot import tests/
    spec = load("fleet.yaml").council  # as `fleet up` passes it (cluster/fleet_apps.py)
    s = start_stack(
        ray_cluster,
        redis_url,
        factory=partial(echo_services, fixes, str(record)),
        model="scripted",
        data_dir=str(tmp_path_factory.mktemp("fleet")),
        members=spec.members,
        rounds=spec.rounds,
        settle_on_pass=spec.settle_on_pass,
        qa_examples=spec.qa_examples,
        debug_rounds=spec.debug_rounds,
        distinguish=spec.distinguish,
        resample_failing=spec.resample_failing,
        critique=spec.critique,
        phase_timeout_s=300.0,
    )
    yield s
    stop_stack(ray_cluster, s)


def _git(repo: Path | str, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def _story_path(client, stack, task, where: Path) -> tuple[str, dict[str, Any]]:
    """The committed change (a diff of the base) through the gateway, and the report's data."""
    from harness import git_repo

    from fleet.adapters.redis_events import RedisEventLog

    repo = git_repo(task.files, where)
    body = {"id": task.id, "title": task.story.title, "description": task.story.description,
            "repo": str(repo), "work_kind": task.kind}  # fmt: skip
    r = client.post(f"{stack.base_url}/stories", json=body, headers=stack.headers())
    assert r.status_code == 201, r.text
    for _ in range(4):  # the PO approves every gate, as `fleet run --auto-approve`
        state = wait_for(client, stack, task.id, lambda b: b["parked"] or b["outcome"], 900.0)
        if state["outcome"]:
            break
        assert state["parked"]["gate"] in ("scope", "design", "acceptance"), state["parked"]
        r = client.post(f"{stack.base_url}/stories/{task.id}/approvals", json={"approved": True},
                        headers=stack.headers())  # fmt: skip
        assert r.status_code == 202, r.text
    log = RedisEventLog(stack.redis_url, prefix=stack.prefix)
    try:
        state = wait_for(client, stack, task.id, lambda b: b["outcome"] is not None, 900.0)
    except AssertionError as exc:  # what the story was doing, for the failure
        seen = [(ev.type, str(ev.data)[:200]) for _, ev in log.read(task.id)][-25:]
        raise AssertionError(f"{exc}\nlast events: {seen}") from None
    assert state["outcome"] == "done", (state["parked"], state["transitions"])
    events = [ev for _, ev in log.read(task.id)]
    reports = [ev.data for ev in events if ev.type == "workspace.report" and ev.data.get("commit")]
    assert len(reports) == 1 and reports[0]["attempt"] == 0, reports
    data = dict(reports[0])
    result = next(ev.payload for ev in events if ev.type == "council.result")
    data["council"] = [(e.proposal_id, e.passed, e.tests_passed, e.tests_failed, e.detail[:300])
                       for e in result.evidence]  # fmt: skip
    return _git(repo, "diff", data["base_commit"], data["commit"]), data


def _bench_path(task, root: Path, model: EchoModel) -> str:
    """The committed change through the benchmark's council arm and build path."""
    import bench_agents
    import council_arms
    from harness import fleet_build

    args, _ = bench_agents._parse([])  # the command line's defaults: config/fleet.yaml's council
    winner, _, _, _, where = council_arms._convene(task, model, root, args, 0, ())
    assert winner is not None and winner.patch is not None
    tree, info = fleet_build(task, model, root / "build", attempts=1, winner=winner,
                             repo=where / "repo")  # fmt: skip
    assert tree is not None, info
    return _git(tree, "diff", winner.patch.base_commit, "HEAD")


def _first_parting(record: Path, title: str) -> str:
    """The first developer request that differs between the two paths, for the failure."""
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    asked = {p: [r for r in rows if r["path"] == p and r["story"] == title and r["developer"]]
             for p in ("story", "bench")}  # fmt: skip
    story, bench = ({r["digest"]: r for r in asked[p]} for p in ("story", "bench"))
    only = [r for d, r in story.items() if d not in bench]
    if not only:
        return f"every story-path developer request was also the benchmark's ({len(story)})"
    theirs = min(bench.values(), key=lambda r: _distance(r, only[0]), default=None)
    return f"story path: {json.dumps(only[0])[:3000]}\nbenchmark: {json.dumps(theirs)[:3000]}"


def _asked(record: Path, title: str) -> dict[str, list[str]]:
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    return {p: sorted(r["digest"] for r in rows if r["path"] == p and r["story"] == title)
            for p in ("story", "bench")}  # fmt: skip


def _unmatched(asked: dict[str, list[str]]) -> dict[str, list[str]]:
    story, bench = (set(asked[p]) for p in ("story", "bench"))
    return {"story only": sorted(story - bench), "bench only": sorted(bench - story)}


def _distance(a: dict[str, Any], b: dict[str, Any]) -> int:
    import difflib

    x, y = json.dumps(a["messages"]), json.dumps(b["messages"])
    same = difflib.SequenceMatcher(None, x, y, autojunk=False).get_matching_blocks()
    return len(x) + len(y) - 2 * sum(m.size for m in same)


@pytest.mark.parametrize("task_id", TASKS)
def test_the_story_path_and_the_benchmark_commit_the_same_change(
    task_id, tasks, fixes, record, story_stack, client, tmp_path
):
    task = tasks[task_id]
    ours, data = _story_path(client, story_stack, task, tmp_path / "story-repo")
    theirs = _bench_path(task, tmp_path / "bench", EchoModel(fixes, str(record), "bench"))
    module = task.extra["module"]
    assert f"+++ b/{module}" in ours  # the fix, with the winning request's digest
    assert ours == theirs, _first_parting(record, task.story.title)
    # and every member was asked the same things on both paths, in any order
    asked = _asked(record, task.story.title)
    assert asked["story"] == asked["bench"], (_unmatched(asked), data.get("council"))
