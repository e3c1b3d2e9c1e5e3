"""No shipping on no evidence: a winner failing the story's own acceptance tests is not built,
and a retry council that lands on a change that already failed parks the story at once."""

from __future__ import annotations

import json

from test_orchestrator import GOOD, PASSING, approve_until_done, setup

from fleet.contracts import Deliberation, Evidence, Patch, Proposal
from fleet.contracts import TestOutcome as Outcome
from fleet.council.outcome import unproven
from fleet.council.protocol import CouncilState
from fleet.council.schemas import DeliberationRequest
from fleet.evidence import EvidenceSuite
from fleet.evidence.acceptance import Probes, build_suite
from fleet.orchestrator import commands
from fleet.orchestrator.shipping import NOT_BUILT
from fleet.testinfra import INFRA_NOTE

SPEC = "tests/test_t1_acceptance.py"
DIFF = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def test_the_suite_marks_the_story_criteria_tests_and_the_record_names_what_the_winner_fails():
    suite, _ = build_suite(
        ["divide(6, 3) returns 2.0"], name="t1", repo_tests=(), qa=None,
        baseline=lambda s: (), probes=Probes(enabled=False),
    )  # fmt: skip
    assert suite.spec == (f"{SPEC}::",)
    req = DeliberationRequest(id="d", story_id="s", task="t", members=("developer-1", "qa-1"),
                              proposers=("developer-1",), rule="evidence", suite=suite,
                              source="/repo")  # fmt: skip
    state = CouncilState(request=req)
    state.evidence.append(
        Evidence(proposal_id="d:p0:developer-1", passed=False, tests_failed=1,
                 tests=(Outcome(test_id=f"{SPEC}::test_divide_1", passed=False,
                                excerpt="assert 3.0 == 2.0\n  +  where ..."),))
    )  # fmt: skip
    assert unproven(state, "d:p0:developer-1") == (
        f"{SPEC}::test_divide_1: assert 3.0 == 2.0 + where ...",
    )
    passing = EvidenceSuite(files=suite.files, spec=suite.spec)
    state.evidence.append(
        Evidence(proposal_id="d:p0:developer-1", passed=True, tests_passed=1,
                 tests=(Outcome(test_id=f"{SPEC}::test_divide_1", passed=True),))
    )  # fmt: skip
    assert unproven(state, "d:p0:developer-1") == () and passing.spec


class Council:
    """Attempt n's winner: ``winners[n]`` = (diff, failing spec tests)."""

    def __init__(self, winners):
        self.winners, self.calls = winners, []

    def deliberate(self, story, task, *, deliberation_id, attempt, findings):
        self.calls.append((task.id, attempt, tuple(findings)))
        diff, failing = self.winners[min(attempt, len(self.winners) - 1)]
        p = Proposal(id=f"{deliberation_id}:p0:developer-1", deliberation_id=deliberation_id,
                     author="developer-1", role="developer", content="x",
                     patch=Patch(base_commit="c", diff=diff, files=("calc.py",)))  # fmt: skip
        return Deliberation(id=deliberation_id, story_id=story.id, task_id=task.id,
                            proposals=(p,), winner=p.id, unproven=failing)  # fmt: skip


def test_an_unproven_winner_is_not_built_and_the_next_council_is_told_why():
    council = Council([(DIFF, (f"{SPEC}::test_divide_1: assert 3.0 == 2.0",)),
                       (DIFF.replace("x = 2", "x = 3"), ())])  # fmt: skip
    log, clock, lifecycle, services = setup(reports=(PASSING,), council=council)
    commands.create_story(log, GOOD, clock=clock)
    view, _ = approve_until_done(log, clock, lifecycle, services)
    assert view.outcome == "done"
    first = [r for (tid, n), r in view.reports.items() if n == 0]
    assert first and all(r.notes[0].startswith(NOT_BUILT) for r in first)
    assert services.executor.runs == len(view.build_tasks())  # attempt 1 only, per task
    retried = [c for c in council.calls if c[1] == 1]
    assert retried and all(any("test_divide_1" in f for f in c[2]) for c in retried)


def test_a_retry_council_choosing_the_change_that_failed_parks_the_story_at_once():
    failing = (f"{SPEC}::test_divide_1: assert 3.0 == 2.0",)
    council = Council([(DIFF, failing)])  # the same unproven change every time
    log, clock, lifecycle, services = setup(reports=(PASSING,), council=council)
    commands.create_story(log, GOOD, clock=clock)
    view, gates = approve_until_done(log, clock, lifecycle, services, limit=2)
    assert view.parked and view.parked.gate == "blocked"
    assert "already failed" in view.parked.reason and "test_divide_1" in view.parked.reason
    assert services.executor.runs == 0 and view.loopbacks == 1  # no third council, no build
    # the gate says the change was not built on purpose, not that its build failed
    assert f"build: {NOT_BUILT}" in view.parked.reason
    assert "did not build" not in view.parked.reason and "coverage: not measured" not in (
        view.parked.reason
    )


def test_a_long_failure_is_cut_at_a_word_with_an_ellipsis():
    suite, _ = build_suite(
        ["divide(6, 3) returns 2.0"], name="t1", repo_tests=(), qa=None,
        baseline=lambda s: (), probes=Probes(enabled=False),
    )  # fmt: skip
    req = DeliberationRequest(id="d", story_id="s", task="t", members=("developer-1", "qa-1"),
                              proposers=("developer-1",), rule="evidence", suite=suite,
                              source="/repo")  # fmt: skip
    state = CouncilState(request=req)
    excerpt = "AssertionError: Regex pattern did not match. " + "expected 'cannot divide' " * 20
    state.evidence.append(
        Evidence(proposal_id="d:p0:developer-1", passed=False, tests_failed=1,
                 tests=(Outcome(test_id=f"{SPEC}::test_divide_1", passed=False,
                                excerpt=excerpt),))
    )  # fmt: skip
    (said,) = unproven(state, "d:p0:developer-1")
    cut = said.removeprefix(f"{SPEC}::test_divide_1: ")
    assert len(cut) <= 200 and cut.endswith(" …")
    assert excerpt.startswith(cut.removesuffix(" …")) and excerpt[len(cut) - 2] == " "


def test_the_acceptance_gate_says_the_change_keeps_edits_to_test_infrastructure():
    noted = PASSING.model_copy(
        update={"notes": (INFRA_NOTE + json.dumps(["conftest.py", "setup.cfg"]),)}
    )
    council = Council([(DIFF, ())])
    log, clock, lifecycle, services = setup(reports=(noted,), council=council)
    commands.create_story(log, GOOD, clock=clock)
    view, gates = approve_until_done(log, clock, lifecycle, services, limit=2)
    assert gates == ["scope", "design"] and view.parked.gate == "acceptance"
    assert "TEST INFRASTRUCTURE" in view.parked.reason
    assert "conftest.py, setup.cfg" in view.parked.reason
