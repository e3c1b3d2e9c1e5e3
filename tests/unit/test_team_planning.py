"""Planning by the team, with scripted models: the architect proposes a task DAG, the council
critiques and votes on it, the winner becomes the story's tasks; the plan derived from the
criteria is the fallback; tasks without dependencies are built in parallel."""

from __future__ import annotations

import json
import threading

import pytest

from fleet.config import load
from fleet.contracts import Story
from fleet.council import Council, Member
from fleet.council.local import local_gather
from fleet.council.plans import PlanDraft, plan_schema, tasks_of
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.sample import scripted_architect
from fleet.orchestrator.team_planning import TeamPlan
from fleet.testing.council import Voter
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

ROLES = load("roles.yaml")
STORY = Story(
    id="s1",
    title="Add divide and power to calc",
    description="As a user I want divide and power.",
    acceptance_criteria=(
        "divide(6, 3) returns 2.0",
        "divide(1, 0) raises ValueError with the message 'division by zero'",
        "power(2, 3) returns 8",
        "the README documents divide and power",
    ),
)
CRITERIA = STORY.acceptance_criteria


def _draft(tasks, reason=""):
    return PlanDraft.model_validate({"tasks": tasks, "reason": reason})


def test_a_plan_is_a_valid_dag_covering_every_criterion():
    tasks = tasks_of(
        _draft([{"id": "t1", "criteria": [1, 2]}, {"id": "T 2", "criteria": [3]},
                {"id": "t3", "criteria": [4], "depends_on": ["t1", "t-2"]}]),
        story_id="s1", criteria=CRITERIA,
    )  # fmt: skip
    assert [(t.id, t.depends_on) for t in tasks] == [
        ("t1", ()), ("t-2", ()), ("t3", ("t1", "t-2"))
    ]  # fmt: skip
    assert tasks[0].description == f"{CRITERIA[0]}; {CRITERIA[1]}"
    bad = {
        "in no task": [{"id": "t1", "criteria": [1, 2, 3]}],
        "distinct": [{"id": "t1", "criteria": [1, 2]}, {"id": "t1", "criteria": [3, 4]}],
        "unknown task or itself": [{"id": "t1", "criteria": [1, 2, 3, 4], "depends_on": ["t9"]}],
        "1..4": [{"id": "t1", "criteria": [1, 2, 3, 4, 5]}],
    }  # fmt: skip
    for why, plan in bad.items():
        with pytest.raises(ValueError, match=why):
            tasks_of(_draft(plan), story_id="s1", criteria=CRITERIA)
    schema = plan_schema(4).model_json_schema()
    assert "PlanDraft4" in schema["title"] and json.dumps(schema).count('"maximum": 4') >= 1


def _shape(plan) -> list[tuple[str, str, tuple[str, ...]]]:
    tasks = tasks_of(_draft(plan), story_id="s1", criteria=CRITERIA)
    return [(t.id, t.description, t.depends_on) for t in tasks]


def test_two_tasks_that_are_both_the_whole_story_are_one_task():
    whole = [1, 2, 3, 4]
    shaped = _shape([{"id": "t1", "criteria": whole},
                     {"id": "t2", "criteria": whole, "depends_on": ["t1"]}])  # fmt: skip
    assert shaped == [("t1", "; ".join(CRITERIA), ())]


def test_criteria_about_one_function_are_one_task_and_each_criterion_is_delivered_once():
    # divide's two criteria split over t1 and t3, criterion 3 listed twice
    shaped = _shape([{"id": "t1", "criteria": [1]}, {"id": "t2", "criteria": [3, 4]},
                     {"id": "t3", "criteria": [2, 3], "depends_on": ["t2"]}])  # fmt: skip
    assert shaped == [
        ("t1", f"{CRITERIA[0]}; {CRITERIA[1]}", ("t2",)),  # took t3's work and its dependency
        ("t2", f"{CRITERIA[2]}; {CRITERIA[3]}", ()),
    ]
    one = Story(id="one", title="divide", acceptance_criteria=CRITERIA[:2])
    tasks = tasks_of(_draft([{"id": "a", "criteria": [1]}, {"id": "b", "criteria": [2]}]),
                     story_id="one", criteria=one.acceptance_criteria)  # fmt: skip
    assert len(tasks) == 1  # one behaviour, one task


def test_a_cycle_cannot_be_built_the_edge_that_closes_it_is_left_out():
    shaped = _shape([{"id": "a", "criteria": [1, 2], "depends_on": ["b"]},
                     {"id": "b", "criteria": [3], "depends_on": ["c"]},
                     {"id": "c", "criteria": [4], "depends_on": ["a"]}])  # fmt: skip
    assert [(i, d) for i, _, d in shaped] == [("a", ("b",)), ("b", ("c",)), ("c", ())]


def test_any_proposed_plan_becomes_a_dag_of_distinct_tasks():
    import random

    from fleet.criteria import topo_order

    rng = random.Random(40)
    for _ in range(300):
        n = rng.randint(1, 5)
        steps = [{"id": f"t{i}", "criteria": rng.sample(range(1, 5), rng.randint(1, 4)),
                  "depends_on": rng.sample([f"t{j}" for j in range(n) if j != i],
                                           rng.randint(0, n - 1))}
                 for i in range(n)]  # fmt: skip
        covered = {k for s in steps for k in s["criteria"]}
        steps[0]["criteria"] += [k for k in range(1, 5) if k not in covered]
        tasks = tasks_of(_draft(steps), story_id="s1", criteria=CRITERIA)
        topo_order(list(tasks))  # raises on a cycle
        delivered = [c for t in tasks for c in t.description.split("; ")]
        assert sorted(delivered) == sorted(CRITERIA), steps  # every criterion exactly once
        assert all(d in {t.id for t in tasks} for t in tasks for d in t.depends_on)


def _team(architect_script) -> dict[str, Member]:
    scripts = {"architect-1": architect_script, "developer-1": Voter("architect-1"),
               "qa-1": Voter("architect-1")}  # fmt: skip
    return {
        m: Member(m, m.rsplit("-", 1)[0], ROLES.get(m.rsplit("-", 1)[0]),
                  ScriptedChatModel(script=s))
        for m, s in scripts.items()
    }  # fmt: skip


def _planner(members, log):
    council = Council(local_gather(members), log, clock=FakeClock())
    roles = {m: m.rsplit("-", 1)[0] for m in members}
    calls = []

    def deliberate(request):
        calls.append(request)
        return council.deliberate(request)

    return TeamPlan(council=lambda story: (tuple(members), roles), deliberate=deliberate), calls


def test_the_architects_plan_deliberated_by_the_council_becomes_the_tasks():
    log = InMemoryEventLog()
    planner, calls = _planner(_team(scripted_architect), log)
    tasks = planner(STORY, 1)
    assert [(t.id, t.depends_on) for t in tasks] == [
        ("p1-t1", ()), ("p1-t2", ()), ("p1-t3", ("p1-t1", "p1-t2"))
    ]  # fmt: skip
    assert tasks[0].description == f"{STORY.title}: {CRITERIA[0]}; {CRITERIA[1]}"
    assert calls[0].proposers == ("architect-1",) and calls[0].criteria == CRITERIA
    events = [ev for _, ev in log.read("s1")]
    result = next(ev.payload for ev in events if ev.type == "council.result")
    assert result.id == "s1.plan1" and all(p.plan for p in result.proposals)
    assert {c.author for c in result.critiques} == {"developer-1", "qa-1"}  # plans are critiqued
    assert {p.round for p in result.proposals} == {0, 1}  # and revised
    assert {b.voter for b in result.ballots} == {"architect-1", "developer-1", "qa-1"}
    assert (
        "p1-t3" not in result.proposals[0].content
        and "t3 after t1,t2" in result.proposals[0].content
    )
    assert planner(STORY, 1) == tasks  # the same council id: its stored result, no new calls


def test_no_valid_plan_falls_back_to_the_plan_from_the_criteria():
    def forgetful(messages, schema):  # covers criterion 1 only: invalid, so no answer
        if (schema or {}).get("title", "").startswith("PlanDraft"):
            return json.dumps({"tasks": [{"id": "t1", "criteria": [1]}], "reason": "x"})
        return Voter()(messages, schema)

    log = InMemoryEventLog()
    planner, _ = _planner(_team(forgetful), log)
    assert planner(STORY, 1) == plan_from_criteria(STORY, 1)
    assert "QuorumLost" in planner.notes[0] and "are in no task" in planner.notes[0]
    lost = next(ev for _, ev in log.read("s1") if ev.type == "council.quorum_lost")
    # the record says why the architect gave no answer
    assert "criteria [2, 3, 4] are in no task" in lost.data["failures"]["0:propose:architect-1"]


def test_no_architect_or_criteria_of_one_task_need_no_planning_council():
    asked = []
    planner = TeamPlan(council=lambda s: (("developer-1", "qa-1"), {"developer-1": "developer",
                                                                    "qa-1": "qa"}),
                       deliberate=asked.append)  # fmt: skip
    assert planner(STORY, 2) == plan_from_criteria(STORY, 2) and asked == []
    one = STORY.model_copy(update={"acceptance_criteria": ("divide(6, 3) returns 2.0",)})
    assert planner(one, 1) == plan_from_criteria(one, 1) and asked == []
    same_function = STORY.model_copy(update={"acceptance_criteria": CRITERIA[:2]})
    assert len(plan_from_criteria(same_function, 1)) == 1
    planner = TeamPlan(council=lambda s: (("architect-1",), {"architect-1": "architect"}),
                       deliberate=asked.append)  # fmt: skip
    assert planner(same_function, 1) == plan_from_criteria(same_function, 1) and asked == []


def test_tasks_without_dependencies_are_built_in_parallel():
    from test_orchestrator import GOOD, Council, approve_until_done, setup

    from fleet.orchestrator import commands

    log, clock, lifecycle, services = setup()
    commands.create_story(log, GOOD, clock=clock)
    t1, t2 = plan_from_criteria(GOOD)
    t3 = t2.model_copy(update={"id": "p1-t3", "depends_on": (t1.id, t2.id)})
    services.plan = lambda story, n: [t1, t2, t3]
    both = threading.Barrier(2, timeout=10)  # t1's and t2's councils must be running together
    order: list[str] = []

    class Together(Council):
        def deliberate(self, story, task, **kw):
            if task.depends_on:
                assert set(order) == {t1.id, t2.id}  # t3 only after both
            else:
                both.wait()
            order.append(task.id)
            return super().deliberate(story, task, **kw)

    services.council = Together()
    view, _ = approve_until_done(log, clock, lifecycle, services)
    assert view.outcome == "done" and order[-1] == t3.id and set(order[:2]) == {t1.id, t2.id}


def test_the_winners_patch_ships_on_a_moved_base_when_it_still_applies():
    from fleet.contracts import Patch, Proposal, Task
    from fleet.orchestrator.implement import ChangeJob, implement

    patch = Patch(base_commit="old", diff="diff --git a/x.py b/x.py\n", files=("x.py",))
    win = Proposal(id="p", deliberation_id="d", author="developer-1", role="developer",
                   content="x", patch=patch)  # fmt: skip
    task = Task(id="p1-t2", story_id="s1", role="developer", description="power")

    class Check:
        def __init__(self, answer):
            self.answer, self.seen = answer, []

        def check(self, p):
            self.seen.append(p.base_commit)
            return self.answer

    ok = Check(None)
    got = implement(None, ChangeJob(STORY, task, win, {}, [], "new", "ctx", check=ok))  # type: ignore[arg-type]
    assert got.diff == patch.diff and got.base_commit == "new" and ok.seen == ["new"]
    assert implement(None, ChangeJob(STORY, task, win, {}, [], "old", "ctx")) is patch  # type: ignore[arg-type]

    class Asked(Exception):
        pass

    class Model:
        def complete(self, messages, **kw):
            raise Asked

    stale = Check("the diff does not apply")
    with pytest.raises(Asked):  # no longer applies: the developer's model writes a fresh change
        implement(Model(), ChangeJob(STORY, task, win, {}, [], "new", "ctx", check=stale))  # type: ignore[arg-type]
