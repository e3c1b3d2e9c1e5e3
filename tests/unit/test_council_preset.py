"""The council the benchmark measures is the one the story path runs: one source of truth,
``config/fleet.yaml``'s ``council:`` block.

The story path's request is built by the pipeline's council step (``fleet/pipeline/council.py``)
with the options ``fleet up`` gives it (members, rounds, settle_on_pass, qa_examples,
debug_rounds, distinguish and resample_failing, all from the block); the benchmark's by
``benchmarks/council_arms.py``. If either drifts -- another composition, rounds or strategy --
these tests fail.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fleet.config import CouncilSpec, load
from fleet.contracts import Deliberation, Story, Task
from fleet.council.team import members_for, proposers, temperature_of
from fleet.evidence.suite import EvidenceSuite
from fleet.orchestrator.view import fold
from fleet.pipeline import council as step
from fleet.pipeline.ports import Checkout
from fleet.testing.fakes import FakeClock, InMemoryEventLog

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_agents  # noqa: E402
import council_arms  # noqa: E402

SUITE = EvidenceSuite(test_paths=("tests",))
STORY = Story(id="s1", title="Add", description="add(a, b) returns the sum", repo="/repo",
              acceptance_criteria=("add(2, 3) returns 5",))  # fmt: skip
TASK = Task(id="T1", story_id="s1", role="developer", description="add(a, b) returns the sum")
FIELDS = ("members", "proposers", "rounds", "settle_on_pass", "debug_rounds", "distinguish",
          "resample_failing", "critique", "rule", "phase", "seed")  # fmt: skip


class Repo:
    path = "/repo"

    def commit(self, ref: str = "HEAD") -> str:
        return "abc"

    def files(self, ref: str) -> dict[str, str]:
        return {"calc.py": "def add(a, b):\n    pass\n"}


class Sources:
    def checkout(self, story_id: str, source: str, base: str | None) -> Checkout:
        return Checkout(repo=Repo(), branch="main", commit="abc")


class Asked(Exception):
    """The council was asked: the request is all these tests need."""


class Runner:
    """The council runner: keeps the request it is given."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def run(self, request: Any) -> Deliberation:
        self.asked.append(request)
        raise Asked


def fleet_up_settings(spec: CouncilSpec) -> Any:
    """The orchestrator settings ``fleet up`` builds from the block (cluster/fleet_apps.py)."""
    from actors.settings import OrchestratorSettings

    return OrchestratorSettings(
        redis_url="redis://x", members=spec.members, rounds=spec.rounds,
        settle_on_pass=spec.settle_on_pass, qa_examples=spec.qa_examples,
        debug_rounds=spec.debug_rounds, distinguish=spec.distinguish,
        resample_failing=spec.resample_failing, critique=spec.critique,
    )  # fmt: skip


def story_request(spec: CouncilSpec) -> Any:
    """The request the story path's council step makes, with the options ``fleet up`` passes
    (``cluster/fleet_apps.py`` -> ``OrchestratorSettings`` -> ``actors/story_council.py``)."""
    log, runner = InMemoryEventLog(), Runner()
    log.checkpoint_put("suite:d1", {"suite": SUITE.model_dump(mode="json")}, expected_version=0)
    settings = fleet_up_settings(spec)
    options = step.CouncilOptions(rounds=settings.rounds, settle_on_pass=settings.settle_on_pass,
                                  qa_examples=settings.qa_examples,
                                  debug_rounds=settings.debug_rounds,
                                  distinguish=settings.distinguish,
                                  resample_failing=settings.resample_failing,
                                  critique=settings.critique)  # fmt: skip

    def members(story: Story, task: Task) -> tuple[tuple[str, ...], dict[str, str]]:
        chosen = members_for(spec.members, f"{story.title}\n{story.description}")
        return chosen, {m: m.rsplit("-", 1)[0] for m in chosen}

    ports = step.CouncilPorts(
        log=log, sources=Sources(), members=members, qa=lambda ids: [], baseline=None,
        council=runner, clock=FakeClock(), options=options,
    )  # fmt: skip
    with pytest.raises(Asked):
        step.deliberate(ports, STORY, TASK, fold([]), deliberation_id="d1", findings=())
    return runner.asked[0]


def bench_request(args: argparse.Namespace, convened: int = 0) -> Any:
    """The request the benchmark's council arm makes on the same task."""
    task = SimpleNamespace(id="T1", story=STORY)
    spec = council_arms.council_spec(args)
    return council_arms.council_request(
        task, spec, council_arms.Where(Path("/repo"), "abc", SUITE), 0, (), convened
    )


def test_the_schema_defaults_are_the_configured_council():
    # a fleet.yaml without a council block gets the shipped council
    assert CouncilSpec() == load("fleet.yaml").council


def test_a_council_block_that_differs_from_the_defaults_reaches_the_story_path():
    changed = load("fleet.yaml").council.model_copy(
        update={"debug_rounds": 2, "distinguish": False, "resample_failing": False,
                "critique": not CouncilSpec().critique}
    )  # fmt: skip
    request = story_request(changed)
    assert request.debug_rounds == 2 and request.distinguish is False
    assert request.resample_failing is False
    assert request.critique is not CouncilSpec().critique


def test_the_benchmark_council_is_the_story_council():
    configured = load("fleet.yaml").council
    plain, _ = bench_agents._parse([])  # the command line's defaults: the config's
    ours, theirs = story_request(configured), bench_request(plain)
    assert {f: getattr(ours, f) for f in FIELDS} == {f: getattr(theirs, f) for f in FIELDS}
    assert theirs.members == configured.members and len(proposers(theirs.members)) == 3
    # the same members with the same temperatures
    arm = {**council_arms.DEVELOPERS, **council_arms.OTHERS}
    assert tuple(arm) == configured.members
    assert arm == {m: temperature_of(m) for m in configured.members}


def test_a_value_given_on_the_command_line_overrides_the_config_and_shows_as_a_difference():
    configured = load("fleet.yaml").council
    other = argparse.Namespace(
        rounds=configured.rounds + 1, debug_rounds=configured.debug_rounds + 1
    )
    assert bench_request(other).rounds == configured.rounds + 1
    assert bench_request(other).debug_rounds == configured.debug_rounds + 1
    assert story_request(configured).rounds != bench_request(other).rounds


def test_a_bug_report_reads_to_the_benchmark_as_the_story_path_plans_it():
    # a story without criteria: the story path plans one task "title: report"; the benchmark's
    # single developer and its council read that same text (not the title alone)
    from harness import task_text

    from fleet.orchestrator.planning import plan_from_criteria

    report = Story(id="b1", title="cut_suffix wipes the string",
                   description="`cut_suffix('a.py', '')` returns `''`. I expected `'a.py'`.")  # fmt: skip
    planned = plan_from_criteria(report)[0].description
    assert task_text(report) == planned and "I expected" in planned
    assert council_arms._story_text(SimpleNamespace(story=report), ()) == planned
    assert task_text(STORY) == STORY.title  # a story with criteria: as measured so far


class Engine:
    """A chat model nobody calls: these tests read how members are built, not what they say."""

    def for_role(self, role: str) -> Engine:
        return self


def test_the_story_paths_agents_sample_as_the_benchmarks_members():
    # each configured member on the story path (the options RayCouncil spawns its agent with, the
    # Member the agent builds for a story) and in the benchmark's council: same temperature, own
    # seed and token limit -- QA ran 0.7 on the story path and 0.2 in the benchmark before
    from actors.agent import RoleAgent
    from actors.story_council import agent_options

    configured = load("fleet.yaml").council
    settings = fleet_up_settings(configured)
    bench = council_arms._team(Engine(), {})
    assert tuple(bench) == configured.members
    for m in configured.members:
        options = agent_options(settings, m, "scripted")
        story = RoleAgent(m, m.rsplit("-", 1)[0], **options).member("s1")
        ours, theirs = (story.temperature, story.seed, story.max_tokens), bench[m]
        assert ours == (theirs.temperature, theirs.seed, theirs.max_tokens), m
    seeds = {bench[m].seed for m in configured.members}
    assert len(seeds) == len(configured.members)  # each member samples on its own
