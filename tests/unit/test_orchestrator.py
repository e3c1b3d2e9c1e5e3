"""The orchestrator's pure logic, driven over an in-memory timeline with simple collaborators."""

from __future__ import annotations

import pytest

from fleet.coach import score_story
from fleet.config import load
from fleet.contracts import Deliberation, Proposal, Story, WorkspaceReport
from fleet.criteria import topo_order
from fleet.errors import BudgetExceeded, InvalidTransition
from fleet.lifecycle import Lifecycle
from fleet.orchestrator import commands, decide
from fleet.orchestrator.driver import StoryDriver
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.services import Services, summary_docs
from fleet.rigor import evaluate
from fleet.testing.fakes import FakeClock, InMemoryEventLog

RIGOR = load("rigor.yaml")
GOOD = Story(
    id="s1",
    title="Add a slugify helper to the text utilities",
    description="As a blog author I want titles turned into URL slugs so that links are readable.",
    acceptance_criteria=(
        "slugify('Hello World') returns 'hello-world'",
        "slugify strips characters that are not letters, digits or dashes",
    ),
    rigor="L1",
)
PASSING = WorkspaceReport(build_ok=True, unit_passed=5, coverage=90.0)
FAILING = WorkspaceReport(build_ok=True, unit_passed=1, unit_failed=4, coverage=10.0)


class Council:
    def __init__(self, fail_with: Exception | None = None):
        self.calls: list[tuple[str, int, tuple[str, ...]]] = []
        self.fail_with = fail_with

    def deliberate(self, story, task, *, deliberation_id, attempt, findings):
        if self.fail_with:
            raise self.fail_with
        self.calls.append((task.id, attempt, tuple(findings)))
        p = Proposal(
            id=f"{deliberation_id}.p",
            deliberation_id=deliberation_id,
            author="developer-1",
            role="developer",
            content="do it",
        )
        return Deliberation(
            id=deliberation_id,
            story_id=story.id,
            task_id=task.id,
            proposals=(p,),
            winner=p.id,
            rounds=1,
        )


class Executor:
    def __init__(self, reports):
        self.reports = list(reports)
        self.runs = 0

    def execute(self, story, task, winner, *, attempt):
        assert winner is not None
        self.runs += 1
        return self.reports[min(attempt, len(self.reports) - 1)]


def setup(reports=(PASSING,), council=None):
    log, clock = InMemoryEventLog(), FakeClock()
    services = Services(
        score=score_story,
        plan=plan_from_criteria,
        council=council or Council(),
        executor=Executor(reports),
        gate=lambda r, lvl: evaluate(r, lvl, RIGOR),
        document=summary_docs,
    )
    lifecycle = Lifecycle.from_config()
    return log, clock, lifecycle, services


def drive(log, clock, lifecycle, services, story_id="s1"):
    return StoryDriver(story_id, log=log, services=services, lifecycle=lifecycle, clock=clock).run()


def approve_until_done(log, clock, lifecycle, services, limit=10):
    view = drive(log, clock, lifecycle, services)
    gates = []
    while view.parked and limit:
        gates.append(view.parked.gate)
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )
        view = drive(log, clock, lifecycle, services)
        limit -= 1
    return view, gates


def test_happy_path_reaches_done_through_every_po_gate():
    log, clock, lifecycle, services = setup()
    commands.create_story(log, GOOD, clock=clock)
    view, gates = approve_until_done(log, clock, lifecycle, services)
    assert view.outcome == "done" and view.state == "DONE"
    assert gates == ["scope", "design", "acceptance"]
    path = [(f, t) for f, t, _ in view.transitions]
    assert path == [
        ("BACKLOG", "DRAFT"),
        ("DRAFT", "DESIGN"),
        ("DESIGN", "BUILD"),
        ("BUILD", "TEST"),
        ("TEST", "DOCS"),
        ("DOCS", "DONE"),
    ]
    assert len(view.tasks) == 2 and len(services.council.calls) == 2
    ids = [e.id for _, e in log.read("s1")]
    assert len(ids) == len(set(ids))


def test_below_dor_stays_in_draft_with_suggestions():
    log, clock, lifecycle, services = setup()
    commands.create_story(log, Story(id="s1", title="Fix it"), clock=clock)
    view = drive(log, clock, lifecycle, services)
    assert view.state == "DRAFT" and view.parked.gate == "dor"
    assert view.score and not view.score.ready and view.score.suggestions
    assert view.score.suggestions[0] in view.parked.reason
    with pytest.raises(commands.Conflict, match="better story"):
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )


def test_blocked_gate_loops_back_with_findings_then_parks():
    council = Council()
    log, clock, lifecycle, services = setup(reports=(FAILING,), council=council)
    commands.create_story(log, GOOD, clock=clock)
    view, gates = approve_until_done(log, clock, lifecycle, services, limit=2)
    assert gates == ["scope", "design"]
    assert view.parked and view.parked.gate == "blocked" and "unit" in view.parked.reason
    assert view.loopbacks == lifecycle.config.max_loopbacks
    later = [c for c in council.calls if c[1] > 0]
    assert later and all(any("unit" in f for f in c[2]) for c in later)


def test_blocked_then_fixed_finishes():
    log, clock, lifecycle, services = setup(reports=(FAILING, PASSING))
    commands.create_story(log, GOOD, clock=clock)
    view, _ = approve_until_done(log, clock, lifecycle, services)
    assert view.outcome == "done" and view.loopbacks == 1


def test_budget_parks_and_resumes_after_approval():
    council = Council(fail_with=BudgetExceeded(scope="story", limit=10, spent=11))
    log, clock, lifecycle, services = setup(council=council)
    commands.create_story(log, GOOD, clock=clock)
    view = drive(log, clock, lifecycle, services)
    for _ in range(2):
        commands.approve(
            log, "s1", gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
        )
        view = drive(log, clock, lifecycle, services)
    assert view.parked.gate == "budget" and view.state == "BUILD"
    council.fail_with = None
    commands.approve(
        log, "s1", gate="budget", approved=True, note=commands.PoNote(by="po"), clock=clock
    )
    view, _ = approve_until_done(log, clock, lifecycle, services)
    assert view.outcome == "done"
    assert any(e.type == "budget.exceeded" for _, e in log.read("s1"))


def test_rerunning_after_a_crash_duplicates_nothing():
    log, clock, lifecycle, services = setup()
    commands.create_story(log, GOOD, clock=clock)
    drive(log, clock, lifecycle, services)
    before = [e.id for _, e in log.read("s1")]
    drive(log, clock, lifecycle, services)  # a restarted orchestrator re-drives the same view
    assert [e.id for _, e in log.read("s1")] == before


def test_rejected_design_replans_and_po_transitions_are_checked():
    log, clock, lifecycle, services = setup()
    commands.create_story(log, GOOD, clock=clock)
    drive(log, clock, lifecycle, services)
    with pytest.raises(InvalidTransition, match="Allowed from DRAFT: approve_scope"):
        commands.transition(
            log, lifecycle, "s1", target="DONE", note=commands.PoNote(by="po"), clock=clock
        )
    commands.transition(
        log, lifecycle, "s1", target="DESIGN", note=commands.PoNote(by="po"), clock=clock
    )
    view = drive(log, clock, lifecycle, services)
    assert view.state == "DESIGN" and view.parked.gate == "design"
    commands.transition(
        log, lifecycle, "s1", target="reject_design", note=commands.PoNote(by="po"), clock=clock
    )
    view = drive(log, clock, lifecycle, services)
    assert view.state == "DRAFT" and view.parked.gate == "scope"
    commands.approve(
        log, "s1", gate="scope", approved=True, note=commands.PoNote(by="po"), clock=clock
    )
    view = drive(log, clock, lifecycle, services)
    assert view.plan_round == 2 and all(t.id.startswith("p2-") for t in view.tasks.values())


def test_planning_is_one_task_per_criterion_and_topo_order_detects_cycles():
    tasks = plan_from_criteria(GOOD)
    assert [t.id for t in tasks] == ["p1-t1", "p1-t2"]
    a = tasks[0].model_copy(update={"depends_on": ("p1-t2",)})
    b = tasks[1].model_copy(update={"depends_on": ("p1-t1",)})
    with pytest.raises(ValueError, match="cycle"):
        topo_order([a, b])
    assert [t.id for t in topo_order([a, tasks[1]])] == ["p1-t2", "p1-t1"]


def test_ready_tasks_follow_dependencies():
    log, clock, lifecycle, _ = setup()
    view = decide.StoryView()
    t1, t2 = plan_from_criteria(GOOD)
    t2 = t2.model_copy(update={"depends_on": (t1.id,)})
    view.tasks = {t1.id: t1, t2.id: t2}
    assert decide.ready_tasks(view, 0) == (t1,)
    view.reports[(t1.id, 0)] = PASSING
    assert decide.ready_tasks(view, 0) == (t2,)


def test_findings_put_the_failing_tests_with_their_messages_first():
    failing = FAILING.model_copy(
        update={
            "notes": ("environment: shared", "failed: tests/t.py::test_a: assert [''] == ['a']")
        }
    )
    council = Council()
    log, clock, lifecycle, services = setup(reports=(failing,), council=council)
    commands.create_story(log, GOOD, clock=clock)
    approve_until_done(log, clock, lifecycle, services, limit=2)
    later = [c for c in council.calls if c[1] > 0]
    assert later and later[0][2][0].endswith("failed: tests/t.py::test_a: assert [''] == ['a']")
    assert any("unit" in f for f in later[0][2][1:])
