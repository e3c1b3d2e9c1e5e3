"""Evidence runs: each candidate patch on its own clean copy, the evidence suite in the sandbox.

For every proposal: clone the task's source at its base into a fresh directory (the workspace
runner's ``prepare``), apply the patch without its edits to the suite's files, write the suite's
files over it, and run pytest (junit report) through the ``Sandbox`` port (the supervisor actor
on the story path, whose concurrency bounds how many run at once). Results are cached by patch
hash and suite digest: a patch proposed again (or by two members) runs once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from xml.etree.ElementTree import ParseError

from fleet.adapters.workspace import REPO, Checks, Toolchain, WorkspaceRunner, src_layout_args
from fleet.adapters.workspace_fs import fresh_dir, judge_with_base_infra
from fleet.contracts import (
    TEST_PROCESSES,
    Evidence,
    Proposal,
    Resources,
    RunContext,
    TaskSpec,
    TestOutcome,
)
from fleet.errors import SandboxUnavailable, WorkspaceUnavailable
from fleet.evidence.suite import (
    EvidenceSuite,
    evidence_of,
    outcomes,
    patch_hash,
    strip_paths,
)
from fleet.ports import Sandbox
from fleet.workspace import junit_problem

REPORT = "evidence.xml"
# the shell's "command not found" / "not executable": the interpreter did not start in the
# sandbox (pytest's own exit statuses are 0-5), so no test ran, on any code
NOT_STARTED = (126, 127)
# run when a suite's run ends so: the interpreter alone, no test of the suite (a test could
# os._exit(127) itself; this does not run one)
STARTS = ("-m", "coverage", "--version")


class _Candidate(NamedTuple):
    """The patch being measured: its proposal, its diff (the suite's files stripped) and digest
    (the base itself: empty diff and digest)."""

    pid: str
    diff: str
    digest: str
    # a run that could not start raises SandboxUnavailable (the base's run: nothing to read as
    # failed); a candidate's run reads as failed instead (its own files could fake the status)
    strict: bool = False


class SandboxEvidence:
    """``Evidencer`` over the workspace runner's git side and a ``Sandbox``."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        root: str | Path,
        tools: Toolchain | None = None,
        concurrency: int = 2,
        uid: int = 65534,
        keep: bool = False,
    ) -> None:
        """``tools``: the interpreter and the target environments' directory (share the
        workspace runner's ``envs_root``: one story builds one environment)."""
        tools = tools or Toolchain()
        self.sandbox = sandbox
        self.workspaces = WorkspaceRunner(sandbox, root=root, tools=tools, checks=Checks(uid=uid))
        self.python = tools.python
        self.concurrency = max(1, concurrency)
        self.uid = uid
        self.keep = keep  # keep the copies (debugging); by default each is removed after its run
        self._cache: dict[str, Future[Evidence]] = {}
        self._lock = threading.Lock()

    def run(
        self,
        proposals: Sequence[Proposal],
        suite: EvidenceSuite,
        *,
        source: str,
        base: str | None,
        context: RunContext,
    ) -> list[Evidence]:
        """Evidence for each proposal, in order (parallel up to ``concurrency``)."""
        if not proposals:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(proposals))) as pool:
            return list(
                pool.map(
                    lambda p: self.one(p, suite, source=source, base=base, ctx=context), proposals
                )
            )

    def baseline(
        self, suite: EvidenceSuite, *, source: str, base: str | None, context: RunContext
    ) -> tuple[TestOutcome, ...]:
        """The suite's per-test results on the base commit itself (no patch).

        Raises:
            SandboxUnavailable: the test run's interpreter did not start in the sandbox (read as
                "no test collected", every first test would be asked for again in vain).
        """
        base_run = _Candidate("baseline", "", "", strict=True)
        return self._measure(base_run, suite, source, base, context, "").tests

    def one(
        self,
        proposal: Proposal,
        suite: EvidenceSuite,
        *,
        source: str,
        base: str | None,
        ctx: RunContext,
    ) -> Evidence:
        if proposal.patch is None:
            return evidence_of(proposal.id, (), digest=None, detail="no patch: nothing to test")
        diff, dropped = strip_paths(proposal.patch.diff, suite)
        digest = patch_hash(diff)
        key = f"{digest}:{suite.digest()}"
        with self._lock:  # one run per (patch, suite), even when two members propose it at once
            pending = self._cache.get(key)
            owner = pending is None
            if owner:
                pending = self._cache[key] = Future()
        assert pending is not None
        if owner:
            note = (
                f"ignored its edits to the evidence tests: {', '.join(dropped)}. "
                if dropped
                else ""
            )
            try:
                candidate = _Candidate(proposal.id, diff, digest)
                pending.set_result(self._measure(candidate, suite, source, base, ctx, note))
            except BaseException as exc:
                with self._lock:
                    self._cache.pop(key, None)  # a sandbox that could not run is not cached
                pending.set_exception(exc)
        return pending.result().model_copy(update={"proposal_id": proposal.id})

    def _measure(
        self,
        candidate: _Candidate,
        suite: EvidenceSuite,
        source: str,
        base: str | None,
        ctx: RunContext,
        note: str,
    ) -> Evidence:
        pid, diff, digest, strict = candidate
        try:
            ws = self.workspaces.prepare(
                source, branch=f"evidence-{uuid.uuid4().hex[:8]}", base=base
            )
        except WorkspaceUnavailable as exc:
            return evidence_of(pid, (), digest=digest, detail=f"{note}no clean copy: {exc}")
        try:
            problem = self.workspaces.apply(ws, diff) if diff.strip() else None
            if problem:
                return evidence_of(
                    pid, (), digest=digest, detail=f"{note}does not apply: {problem}"[:600]
                )
            # judged by the repository's own test harness: the candidate's edits there could
            # make its run report passes (they still ship: the gate and the PO see them)
            # (fleet.testinfra: conftest.py, pytest/coverage configuration, start-up files,
            # plugins the base's configuration loads, markers added to existing tests)
            if harness := [c.path for c in judge_with_base_infra(ws)]:
                note += (
                    "ignored its edits to the test harness (test infrastructure, judged with "
                    f"the base's versions): {', '.join(harness)}. "
                )
            if suite.files or suite.probes:
                self.workspaces.apply(ws, {**suite.files, **suite.probes})
            found, started = self._pytest(pid, ws, digest, suite, ctx, note)
            if strict and not started:
                why = f"the evidence run could not start: {found.detail}"[:600]
                raise SandboxUnavailable(backend=getattr(self.sandbox, "name", "?"), reason=why)
            return found
        finally:
            if not self.keep:
                self.workspaces.remove(ws)

    def _pytest(
        self, pid: str, ws: Path, digest: str, suite: EvidenceSuite, ctx: RunContext, note: str
    ) -> tuple[Evidence, bool]:
        """The suite's run on ``ws``, and False when its interpreter did not start in the sandbox
        (exit 126/127 and no report, and the interpreter alone does not start either)."""
        # the target's own environment (its dependencies), as the workspace runner's checks use
        env = self.workspaces.environment(ws, ctx)
        if env.problem:
            return evidence_of(pid, (), digest=digest, detail=f"{note}{env.problem}"[:600]), True
        # the report's directory: beside the clone (nothing the repository ships can be a link
        # there), made fresh and randomly named by the host now (nothing can be planted in it)
        out = fresh_dir(ws.parent, "evidence", uid=self.workspaces.uid)
        artifact = f"{out.name}/{REPORT}"
        spec = TaskSpec(
            id=f"{pid}:evidence:{uuid.uuid4().hex[:8]}",
            cmd=(
                env.python,
                "-m",
                "pytest",  # not -q: junit_problem reads the "collected N items" line
                "-p",
                "no:cacheprovider",
                f"--junitxml={out}/{REPORT}",
                "-o",
                "junit_family=xunit1",
                # a failed assert's values in full, not pytest's "[1, 2, 3, ...]": a developer
                # debugging or revising reads what its code returned (``EXCERPT`` still clips)
                "-o",
                "verbosity_assertions=2",
                *src_layout_args(ws),
                *(suite.test_paths or (".",)),
            ),  # fmt: skip
            workspace=str(ws.parent),
            cwd=REPO,
            expose=env.expose,
            timeout_s=suite.timeout_s,
            env={
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPYCACHEPREFIX": "/tmp/pycache",
                **dict(env.env),
            },
            resources=Resources(
                cpu_seconds=int(suite.timeout_s), memory_mb=1024, processes=TEST_PROCESSES
            ),
            artifacts=(artifact,),
            context=ctx.model_copy(update={"role": "qa", "phase": "test"}),
        )
        result = self.sandbox.run(spec)
        tests: tuple[TestOutcome, ...] = ()
        report = result.artifacts.get(artifact, "")
        # the tests run in the process that writes the report: it is believed only when pytest's
        # own output and exit status tell the same story (fleet.workspace.junit_problem)
        try:
            tests = outcomes(report) if report else ()
        except ParseError:
            tests = ()
        forged = junit_problem(report, result.stdout, result.exit_code) if tests else None
        if forged:
            tests = ()
        detail = ""
        if forged:
            detail = f"{note}the report does not match the run: {forged}"
        elif not tests:
            tail = (result.stdout[-300:] + " " + result.stderr[-200:]).strip()
            detail = (
                f"{note}pytest {result.status} (exit {result.exit_code}): {result.reason} {tail}"
            )
        elif note:
            detail = note + "; ".join(f"{t.test_id}: {t.excerpt}" for t in tests if not t.passed)
        found = evidence_of(pid, tests, digest=digest, detail=detail[:600], runs=(spec.id,))
        if tests or report or result.exit_code not in NOT_STARTED:
            return found, True
        alone = spec.model_copy(update={"id": f"{spec.id}:starts", "cmd": (env.python, *STARTS),
                                        "artifacts": ()})  # fmt: skip
        return found, self.sandbox.run(alone).exit_code not in NOT_STARTED
