"""A sandbox run killed from outside is the infrastructure's failure, not the command's.

Real bubblewrap runs the sample repository's tests through the workspace runner (the gate's
entry point) and through the sandbox supervisor actor; a watcher SIGKILLs the run's bwrap
process from outside, as the OOM killer or an operator would. The run is recorded as lost and
runs again on a fresh sandbox: the gate sees the tests pass, not "1 failed"; a run lost twice is
``SandboxUnavailable`` (an outage for the story driver, which retries the step), never a result.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import EXTERNAL_KILL, BwrapSandbox
from fleet.adapters.redis_events import RedisEventLog
from fleet.adapters.workspace import WorkspaceRunner
from fleet.config import PhaseRules, load
from fleet.contracts import RunContext, TaskSpec
from fleet.errors import SandboxUnavailable
from fleet.policy import PolicyEngine
from tests.fault_tools import sigkill

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_repo"
SLOW_TEST = "import time\n\n\ndef test_slow():\n    time.sleep(1.5)\n"
CHANGE = {"tests/test_slow.py": SLOW_TEST}  # a test run long enough to be killed mid-way


class Killer:
    """SIGKILLs, from outside, every bwrap process whose command line holds all of ``marks``
    (at most ``times`` runs); ``kills`` counts the runs it killed."""

    def __init__(self, *marks: str, times: int) -> None:
        self.marks, self.times, self.kills = marks, times, 0
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _bwraps(self) -> list[int]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [a.decode(errors="replace") for a in argv]
            line = " ".join(words)
            # a mark is a whole argument (`pytest` of `-m pytest`) or part of a path argument
            # (the run's root): pytest's own temp dirs hold "pytest" in every path of the test
            if (
                argv
                and argv[0].endswith(b"bwrap")
                and all(m in words or ("/" in m and m in line) for m in self.marks)
            ):
                found.append(int(proc.name))
        return sorted(found)

    def _watch(self) -> None:
        while not self._stop.is_set() and self.kills < self.times:
            pids = [p for p in self._bwraps() if p not in self._seen]
            if pids:
                time.sleep(0.5)  # the command is running inside, not only bwrap setting up
                for pid in pids:
                    self._seen.add(pid)
                    with contextlib.suppress(ProcessLookupError):
                        sigkill(pid)  # the outer bwrap and its in-namespace fork alike
                self.kills += 1
            time.sleep(0.02)


@pytest.fixture
def repo(tmp_path) -> Path:
    src = tmp_path / "repo"
    shutil.copytree(SAMPLE, src)
    git = ["git", "-C", str(src), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "sample"], check=True)
    return src


@pytest.fixture
def runner(tmp_path, redis_url):
    log = RedisEventLog(redis_url, prefix=f"t{uuid.uuid4().hex[:6]}")
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    root = tmp_path / f"runs-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    return WorkspaceRunner(sandbox, root=root), log, str(root)


def _ctx(story: str) -> RunContext:
    return RunContext(story_id=story, task_id="t-1", role="developer", phase="build")


def test_a_test_run_killed_from_outside_runs_again_and_the_gate_sees_it_pass(runner, repo):
    run, log, root = runner
    with Killer(root, "pytest", times=1) as killer:
        out = run.execute(str(repo), CHANGE, branch="fleet/k", level="L1", context=_ctx("s-k1"))
    assert killer.kills == 1
    assert (out.report.unit_passed, out.report.unit_failed) == (4, 0), out.report.notes
    assert not [f for f in out.gate.failures if "test" in f], out.gate.failures
    runs = [e for _, e in log.read("s-k1") if e.type == "sandbox.run"]
    lost = [e for e in runs if e.id.endswith(":lost0")]
    assert len(lost) == 1 and lost[0].payload.reason == EXTERNAL_KILL, [e.id for e in runs]
    spec_id = lost[0].payload.spec_id
    again = [e for e in runs if e.id == f"s-k1:sandbox.run:{spec_id}"]
    assert [e.payload.status for e in again] == ["passed"]


def test_a_run_lost_twice_is_an_outage_not_a_failing_test(runner, repo):
    run, log, root = runner
    with Killer(root, "pytest", times=2) as killer, pytest.raises(SandboxUnavailable) as err:
        run.execute(str(repo), CHANGE, branch="fleet/k2", level="L1", context=_ctx("s-k2"))
    assert killer.kills == 2
    assert "lost 2 times" in str(err.value) and EXTERNAL_KILL in str(err.value)


def _policy():
    base = load("policy.yaml")
    roles = dict(base.roles)
    roles["tester"] = {"build": PhaseRules(allow=(("sleep",),))}
    return base.model_copy(update={"roles": roles})


def test_the_supervisor_hands_back_the_fresh_runs_result(ray_cluster, redis_url):
    """Through the supervisor actor (what the fleet's callers use): the caller gets the result
    of the run repeated after the outside kill, not the kill."""
    from actors.sandbox import AuditLog, build_supervisor

    prefix = f"t{uuid.uuid4().hex[:6]}"
    handle = build_supervisor(
        f"sandbox-{prefix}", namespace="swe-fleet-test", policy=_policy(),
        audit=AuditLog(redis_url=redis_url, prefix=prefix),
    )  # fmt: skip
    mark = f"0.00{uuid.uuid4().int % 10**9:09d}"  # sleep adds its arguments: a unique title
    spec = TaskSpec(
        id=f"k-{prefix}",
        cmd=("sleep", "2", mark),
        timeout_s=60,
        context=RunContext(story_id="s-sup-k", role="tester", phase="build"),
    )
    try:
        with Killer(mark, times=1) as killer:
            result = ray_cluster.get(handle.run.remote(spec), timeout=120)
        assert killer.kills == 1
        assert result.status == "passed" and result.duration_s >= 2, result.reason
    finally:
        ray_cluster.kill(handle)
