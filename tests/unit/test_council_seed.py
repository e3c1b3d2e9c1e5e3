"""A council convened again after a lost quorum samples with seeds of its own.

With the same prompt and the same seeds the model repeats its replies token for token, so a
council re-convened with the seeds of the one that lost its quorum (a reply with no edit, a
member past the deadline) could only lose it again. The council step reads which council it is
from the id the driver gives it and derives the request's and QA's base seed from it.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleet.orchestrator.driver import attempt_of, convened_of, deliberation_id
from fleet.orchestrator.view import fold
from fleet.pipeline import council as step
from fleet.testing.fakes import FakeClock, InMemoryEventLog
from tests.unit.test_council_preset import STORY, TASK, Sources


class Qa:
    """One QA member that writes nothing and keeps the seed of each brief it is given."""

    def __init__(self) -> None:
        self.seeds: list[int] = []

    def __len__(self) -> int:
        return 1

    def write_tests(self, brief: Any, criteria: Any, notes: list[str]) -> list[dict[str, str]]:
        self.seeds.append(brief.seed)
        return []

    def write_examples(self, brief: Any, criteria: Any, notes: list[str]) -> list[list[str]]:
        self.seeds.append(brief.seed)
        return []


class Asked(Exception):
    """The council was asked: its request is all these tests need."""


class Runner:
    def __init__(self) -> None:
        self.seeds: list[int] = []
        self.floors: list[float] = []

    def run(self, request: Any) -> Any:
        self.seeds.append(request.seed)
        self.floors.append(request.temperature_floor)
        raise Asked


class Baseline:
    """The base commit's run of the draft suite: nothing ran (no test is kept)."""

    def baseline(self, suite: Any, **_: Any) -> list[Any]:
        return []


def asked(
    convened: int, floors: list[float] | None = None, attempt: int = 0
) -> tuple[int, set[int]]:
    """(the council request's seed, the seeds QA's briefs carried) for council ``convened``;
    the request's temperature floor goes to ``floors``."""
    qa, runner = Qa(), Runner()
    ports = step.CouncilPorts(
        log=InMemoryEventLog(), sources=Sources(),
        members=lambda story, task: (("developer-1", "qa-1"), {"developer-1": "developer",
                                                               "qa-1": "qa"}),
        qa=lambda ids: qa, baseline=Baseline(), council=runner, clock=FakeClock(),
    )  # fmt: skip
    did = deliberation_id("s1", "T1", attempt, convened)
    with pytest.raises(Asked):
        step.deliberate(ports, STORY, TASK, fold([]), deliberation_id=did, findings=())
    assert qa.seeds, "QA was asked for the suite"
    if floors is not None:
        floors.extend(runner.floors)
    return runner.seeds[0], set(qa.seeds)


def test_the_first_council_samples_as_the_benchmark_does_and_each_later_one_afresh():
    first, qa_first = asked(0)
    assert first == 0 and qa_first == {0}  # the benchmark's build path: seed 0
    second, qa_second = asked(1)
    third, qa_third = asked(2)
    assert len({first, second, third}) == 3
    assert qa_second == {second} and qa_third == {third}  # QA samples afresh too


def test_a_later_attempts_council_and_qa_sample_afresh():
    """After the gate blocked an attempt, QA's suite request is the same as before: with the same
    seed QA wrote the same tests (the same first test that did not reproduce the bug)."""
    first, qa_first = asked(0)
    second, qa_second = asked(0, attempt=1)
    reconvened, _ = asked(1, attempt=1)
    assert qa_first == {first} and qa_second == {second}
    assert len({first, second, reconvened}) == 3


def test_the_convened_number_and_the_attempt_are_read_back_from_the_id_the_driver_makes():
    for convened in range(3):
        did = deliberation_id("s1", "p1-t1", 2, convened)
        assert convened_of(did) == convened and convened_of(f"{did}:retry1") == convened
        assert attempt_of(did) == 2 and attempt_of(f"{did}:retry1") == 2
    assert convened_of("s1.plan1") == 0 and attempt_of("s1.plan1") == 0
    assert attempt_of(deliberation_id("s1.a7", "t1", 0)) == 0  # a story id's look-alike


def test_the_seed_of_a_po_retry_and_of_a_reconvened_council_differ():
    seeds = {step.council_seed(retry, convened) for retry in range(3) for convened in range(3)}
    assert len(seeds) == 9


def test_a_reconvened_council_samples_its_greedy_developers_too():
    """A new seed does not change a greedy reply: on toolz-unique-key three councils lost their
    quorum on developer-1's (T=0) and developer-2's (T=0.2) same replies."""
    from tests.unit.test_prompts_golden import GOOD, Recorder, _brief, _member

    floors: list[float] = []
    asked(0, floors)
    asked(1, floors)
    assert floors == [0.0, step.RECONVENED_FLOOR] and step.RECONVENED_FLOOR >= 0.7

    def first_temperature(floor: float) -> float:
        chat = Recorder(GOOD)
        temperatures: list[float] = []
        complete = chat.complete
        chat.complete = lambda m, **kw: temperatures.append(kw["temperature"]) or complete(m, **kw)  # type: ignore[method-assign]
        _member("developer-1", chat).propose(
            _brief().model_copy(update={"temperature_floor": floor})
        )
        return temperatures[0]

    assert first_temperature(0.0) == 0.0  # developer-1 of a first council: greedy
    assert first_temperature(step.RECONVENED_FLOOR) == step.RECONVENED_FLOOR


def test_a_developer_with_no_candidate_proposes_again_hot_in_the_next_round():
    """A developer whose round-0 reply gave no patch is asked to propose in round 1: decoded as
    before (0.0, 0.2), the 1.5B repeated its echo line for line on
    more-itertools-padded-next-multiple. It is sampled at least ``AGAIN_FLOOR`` hot, with a seed
    other than its first proposal's; one with a patch revises at its own temperature."""
    from fleet.council.patching import AGAIN_FLOOR
    from tests.unit.test_prompts_golden import GOOD, Recorder, _brief, _member

    def sampled(act: str) -> tuple[float, int]:
        chat = Recorder(GOOD)
        seen: list[tuple[float, int]] = []
        complete = chat.complete
        chat.complete = lambda m, **kw: (
            seen.append((kw["temperature"], kw["seed"])) or complete(m, **kw)
        )  # type: ignore[method-assign]
        member = _member("developer-1", chat)
        if act == "propose":
            member.propose(_brief())
        else:
            member.revise(_brief(), None)
        return seen[0]

    (first, seed), (again, again_seed) = sampled("propose"), sampled("revise")
    assert first == 0.0 and again == AGAIN_FLOOR >= 0.7
    assert again_seed != seed
    assert step.RECONVENED_FLOOR == AGAIN_FLOOR
