"""The evidence suite of a task: QA's acceptance tests, kept only if they fail on the base commit.

QA writes the acceptance tests first (:func:`fleet.evidence.acceptance.build_suite`): executable
criteria become tests by code, prose ones by the QA members; the suite runs on the base commit
and a generated test is kept only if it fails there. The suite is stored in a checkpoint keyed by
the deliberation id, so a retried council is asked the identical question.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from fleet.agents.stubs import named
from fleet.contracts import RunContext, Story, Task
from fleet.council import Brief
from fleet.criteria import task_criteria
from fleet.errors import VersionConflict
from fleet.events import make_event
from fleet.evidence import EvidenceSuite
from fleet.evidence.acceptance import build_suite, names_of_tests
from fleet.pipeline.ports import Baseline, Checkout, QaTeam
from fleet.ports import Clock, EventLog

SUITE_KEY = "suite:{}"


def repo_tests(files: Sequence[str]) -> list[str]:
    """The repository's own Python test files (trusted evidence)."""
    return sorted(
        p
        for p in files
        if p.endswith(".py")
        and (p.rsplit("/", 1)[-1].startswith("test_") or p.endswith("_test.py"))
    )


@dataclass(frozen=True)
class SuitePorts:
    """What the suite step talks to, and whether QA also writes its own examples."""

    log: EventLog  # the checkpoint that keeps the suite, and the council.suite event
    qa: QaTeam
    baseline: Baseline
    clock: Clock
    qa_examples: bool = True


def task_suite(
    ports: SuitePorts, story: Story, task: Task, *, deliberation_id: str, at: Checkout
) -> EvidenceSuite:
    """QA's evidence suite for ``task`` on ``at`` (stored: a retried council reuses it)."""
    _, stored = ports.log.checkpoint_get(SUITE_KEY.format(deliberation_id))
    if stored:
        return EvidenceSuite.model_validate(stored["suite"])
    files = at.repo.files(at.commit)
    ctx = RunContext(story_id=story.id, task_id=task.id, role="qa", phase="test")
    brief = Brief(deliberation_id=deliberation_id, story_id=story.id, task_id=task.id,
                  task=f"{story.title}\n{task.description}", phase="build", round=0,
                  step="propose", source=at.repo.path, base=at.branch, base_commit=at.commit)  # fmt: skip
    notes: list[str] = []
    write, cases = _qa_calls(ports.qa, brief, files, notes)
    suite, built = build_suite(
        task_criteria(story, task),
        name="".join(ch if ch.isalnum() else "_" for ch in task.id).lower(),
        repo_tests=repo_tests(list(files)),
        qa=write if len(ports.qa) else None,
        baseline=lambda s: ports.baseline.baseline(
            s, source=at.repo.path, base=at.branch, context=ctx
        ),
        signatures=[s.head for s in named(files, f"{story.title}\n{task.description}")],
        qa_examples=cases if len(ports.qa) and ports.qa_examples else None,
    )
    notes += built
    suite = suite.model_copy(
        update={
            "files": {p: t for p, t in suite.files.items() if p not in files},
            "probes": {p: t for p, t in suite.probes.items() if p not in files},
        }
    )
    return _store(ports, story, suite, deliberation_id=deliberation_id, notes=notes)


def _qa_calls(
    qa: QaTeam, brief: Brief, files: Mapping[str, str], notes: list[str]
) -> tuple[Callable[[Sequence[str]], dict[str, str]], Callable[[Sequence[str]], list[str]]]:
    """QA's test writing and example writing as ``build_suite`` calls them: every member's
    candidates (a failed member is a note), never a file the repository already has."""

    def write(prose: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for got in qa.write_tests(brief, tuple(prose), notes):
            out.update({p: t for p, t in got.items() if p not in files})
        return out

    def cases(criteria: Sequence[str]) -> list[str]:
        out: list[str] = []
        for got in qa.write_examples(brief, tuple(criteria), notes):
            out += [c for c in got if isinstance(c, str) and c not in out]
        return out

    return write, cases


def _store(
    ports: SuitePorts, story: Story, suite: EvidenceSuite, *, deliberation_id: str,
    notes: Sequence[str],
) -> EvidenceSuite:  # fmt: skip
    """Checkpoint ``suite`` (first writer wins) and record it as ``council.suite``."""
    key, log = SUITE_KEY.format(deliberation_id), ports.log
    try:
        log.checkpoint_put(key, {"suite": suite.model_dump(mode="json")}, expected_version=0)
    except VersionConflict:  # another attempt stored it first: everyone uses that one
        stored = log.checkpoint_get(key)[1]
        if stored is None:
            raise
        return EvidenceSuite.model_validate(stored["suite"])
    tests = {p: names_of_tests(t) or [] for p, t in suite.files.items()}
    data = {
        "deliberation_id": deliberation_id,
        "files": sorted(suite.files),
        "tests": [f"{p}::{n}" for p, names in tests.items() for n in names],
        "trusted": list(suite.trusted),
        "probes": sorted(suite.probes),
        "notes": list(notes)[:20],
    }
    event = make_event(story.id, "council.suite", clock=ports.clock, data=data, actor="qa",
                       key=deliberation_id)  # fmt: skip
    log.append(event)
    return suite
