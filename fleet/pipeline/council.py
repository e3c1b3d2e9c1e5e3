"""The council step: QA's evidence suite first, then the developers' patches judged by it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fleet.config import CouncilSpec
from fleet.contracts import Deliberation, Story, Task
from fleet.council import DeliberationRequest
from fleet.council.patching import AGAIN_FLOOR
from fleet.council.seeds import mix
from fleet.council.team import proposers
from fleet.criteria import task_criteria
from fleet.orchestrator.driver import attempt_of, convened_of
from fleet.orchestrator.view import StoryView
from fleet.pipeline.ports import Baseline, CouncilRunner, QaTeam, Sources
from fleet.pipeline.sources import checkout
from fleet.pipeline.suite import SuitePorts, task_suite
from fleet.ports import Clock, EventLog

# (story, task) -> (member ids, member id -> role): the council for that task
Members = Callable[[Story, Task], tuple[tuple[str, ...], dict[str, str]]]


_SPEC = CouncilSpec()  # config/fleet.yaml's ``council:`` block, where it says nothing


@dataclass(frozen=True)
class CouncilOptions:
    """How a task's council runs (``OrchestratorSettings`` fields of the same names; the
    debugging bound, distinguishing inputs and resampling default to ``CouncilSpec``'s)."""

    rounds: int = 2
    settle_on_pass: bool = True
    phase_timeout_s: float = 600.0
    qa_examples: bool = True
    debug_rounds: int = _SPEC.debug_rounds
    distinguish: bool = _SPEC.distinguish
    resample_failing: bool = _SPEC.resample_failing
    critique: bool = _SPEC.critique


@dataclass(frozen=True)
class CouncilPorts:
    """What the council step talks to."""

    log: EventLog  # checkpoints (the stored suite) and the council.suite event
    sources: Sources
    members: Members
    qa: Callable[[Sequence[str]], QaTeam]  # the QA team of these member ids
    baseline: Baseline
    council: CouncilRunner
    clock: Clock
    options: CouncilOptions = CouncilOptions()


RECONVENED_FLOOR = AGAIN_FLOOR  # a re-convened council's least patch temperature


def council_seed(retry: int, convened: int, attempt: int = 0) -> int:
    """The base sampling seed of a task attempt's council and its QA suite.

    The first council samples with seed 0 (as the benchmark's build path does). A council
    convened again after a lost quorum (``convened``: ids ``<id>.c1``, ``<id>.c2``), or after
    the PO approved the error gate (``retry``), gets seeds of its own: with the same prompt and
    seeds the model would repeat, token for token, the replies that lost the quorum. A council
    convened again also samples its patches at least ``RECONVENED_FLOOR`` hot (the request's
    ``temperature_floor``): a greedy developer repeats its reply whatever the seed (on
    ``toolz-unique-key`` three councils lost their quorum on the same two replies).

    A later ``attempt`` of the task (after the gate blocked the last one's change) gets seeds of
    its own too: its developers are told what failed, but QA's suite request is the same, and
    with the same seed QA would write the same tests again (the same first test that did not
    reproduce the bug; one that did is kept: :func:`fleet.pipeline.suite.repro_key`).
    """
    base = mix("council", retry, convened) if convened else retry
    return mix(base, "attempt", attempt) if attempt else base


def deliberate(
    ports: CouncilPorts,
    story: Story,
    task: Task,
    view: StoryView,
    *,
    deliberation_id: str,
    findings: Sequence[str],
) -> Deliberation:
    """The council's decision on ``task`` of the story in ``view``.

    Raises:
        BudgetExceeded / QuorumLost: from the council (the driver parks or re-convenes).
    """
    retry, convened = view.council_retries(deliberation_id), convened_of(deliberation_id)
    if retry:  # the PO approved the error gate after a lost quorum: a fresh council
        deliberation_id = f"{deliberation_id}:retry{retry}"
    seed = council_seed(retry, convened, attempt_of(deliberation_id))
    members, roles = ports.members(story, task)
    at = checkout(ports.sources, story, view)
    qa = ports.qa([m for m in members if roles[m] == "qa"])
    suite_ports = SuitePorts(log=ports.log, qa=qa, baseline=ports.baseline, clock=ports.clock,
                             qa_examples=ports.options.qa_examples)  # fmt: skip
    suite = task_suite(suite_ports, story, task, deliberation_id=deliberation_id, at=at, seed=seed)
    text = [task.description]
    if findings:
        text += ["The last attempt failed; fix:", *list(findings)[:6]]
    options = ports.options
    request = DeliberationRequest(
        id=deliberation_id, story_id=story.id, task_id=task.id, task="\n".join(text),
        phase="build", members=members, roles=roles,
        proposers=proposers(members) or members[:1], rounds=options.rounds,
        settle_on_pass=options.settle_on_pass, phase_timeout_s=options.phase_timeout_s,
        debug_rounds=options.debug_rounds, distinguish=options.distinguish,
        resample_failing=options.resample_failing, critique=options.critique,
        rule="evidence", seed=seed, suite=suite, source=at.repo.path, base=at.branch,
        temperature_floor=RECONVENED_FLOOR if convened else 0.0,
        base_commit=at.commit, acceptance=tuple(task_criteria(story, task)),
        findings=tuple(findings or ())[:6],
    )  # fmt: skip
    return ports.council.run(request)
