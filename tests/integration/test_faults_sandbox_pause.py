"""A sandbox that keeps losing its runs pauses the story; once it runs again the story finishes.

The story driver on the real event log (Redis) builds through the real workspace runner and
audited bubblewrap sandbox on the sample repository; a watcher SIGKILLs every test run from
outside (as an OOM killer would) for three attempts in a row, so each attempt is lost twice
and ends in ``SandboxUnavailable``: more outages than the driver's infrastructure retries. The
story must wait (nothing parked, one log line when the outage starts, one when it ends), then
reach DONE with every lost run recorded and no event stored twice. The old driver parked it at
the error gate after two retries.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.redis_events import RedisEventLog
from fleet.adapters.workspace import WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.orchestrator import commands
from fleet.orchestrator import driver as driver_mod
from fleet.orchestrator.driver import StoryDriver
from fleet.orchestrator.sandbox_outage import SandboxOutage
from fleet.orchestrator.services import Execution
from fleet.policy import PolicyEngine
from tests.integration.test_faults_sandbox import CHANGE, SAMPLE, Killer
from tests.unit.test_orchestrator import GOOD, setup

LOST_ATTEMPTS = driver_mod.INFRA_RETRIES + 1  # one more than the old driver survived


class WorkspaceExecutor:
    """The executor port over the real workspace runner: the change built and tested in bwrap."""

    def __init__(self, runner: WorkspaceRunner, repo: str) -> None:
        self.runner, self.repo, self.runs = runner, repo, 0

    def execute(self, story, task, winner, *, attempt):
        self.runs += 1
        ctx = RunContext(story_id=story.id, task_id=task.id, role="developer", phase="build")
        branch = f"fleet/{task.id}-a{attempt}-r{self.runs}"
        out = self.runner.execute(self.repo, CHANGE, branch=branch, level="L1", context=ctx)
        return Execution(report=out.report, data={"status": out.status, "branch": branch})


@pytest.fixture
def sample(tmp_path) -> Path:
    """The sample repository in one commit on ``main``."""
    src = tmp_path / "repo"
    shutil.copytree(SAMPLE, src)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "sample"], check=True)
    return src


def test_a_sandbox_that_keeps_losing_runs_pauses_the_story_until_it_runs_again(
    tmp_path, sample, redis_url, caplog
):
    log = RedisEventLog(redis_url, prefix=f"t{uuid.uuid4().hex[:6]}")
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    root = tmp_path / f"runs-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    executor = WorkspaceExecutor(WorkspaceRunner(sandbox, root=root), str(sample))
    _, clock, lifecycle, services = setup()
    services = dataclasses.replace(services, executor=executor)
    one = GOOD.acceptance_criteria[:1]  # one task: its attempts are the only sandbox runs
    story = GOOD.model_copy(update={"id": f"s-{uuid.uuid4().hex[:6]}", "acceptance_criteria": one})
    commands.create_story(log, story, clock=clock)
    outage = SandboxOutage(backoff_s=(0.2, 0.5), patience_s=300)
    gates = []
    killer = Killer(str(root), "pytest", times=2 * LOST_ATTEMPTS)
    with killer, caplog.at_level(logging.WARNING):
        for _ in range(6):
            driver = StoryDriver(
                story.id, log=log, services=services, lifecycle=lifecycle, clock=clock
            )
            driver.sandbox = outage
            view = driver.run()
            if not view.parked or view.parked.gate == "error":
                break
            gates.append(view.parked.gate)
            commands.approve(
                log, story.id, gate=None, approved=True, note=commands.PoNote(by="po"), clock=clock
            )
    assert killer.kills == 2 * LOST_ATTEMPTS
    assert view.outcome == "done", view.parked
    assert gates == ["scope", "design", "acceptance"]  # the PO's gates, no error park
    events = [e for _, e in log.read(story.id)]
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids))
    lost = [e for e in events if e.type == "sandbox.run" and ":lost" in e.id]
    assert len(lost) == 2 * LOST_ATTEMPTS  # every killed run recorded as lost, none as a result
    assert executor.runs == LOST_ATTEMPTS + 1  # the lost attempts, then the one that ran
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    lines = [
        r.getMessage() for r in caplog.records if r.name == "fleet.orchestrator.sandbox_outage"
    ]
    assert len(lines) == 2 and outage.outages == 1, lines
    assert "sandbox unavailable" in lines[0] and "lost 2 times" in lines[0]
    assert "sandbox is back after" in lines[1]
