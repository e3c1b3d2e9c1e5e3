"""Workspace runner: clone -> branch -> apply a change -> build/test/lint in the sandbox -> gate -> commit.

Git runs here, as the supervisor (trusted: clone, apply, commit). Everything that
executes the repository's code (compileall, pytest under coverage, ruff) runs
through the injected ``Sandbox`` port, as the ``runner`` role of ``policy.yaml``.

Interpreter: the fleet's own Python (``sys.executable``; pytest, coverage and ruff
are installed there) runs the target repository's tests. The sandbox sees the
host root read-only, so that venv is visible inside; nothing is installed into it.
The source tree stays owned by the supervisor, so sandboxed tests cannot rewrite
it; they write scratch files to ``/tmp`` (private tmpfs) and reports to ``.fleet/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from xml.etree.ElementTree import ParseError

from fleet.config import RigorConfig, load
from fleet.contracts import Resources, RunContext, TaskResult, TaskSpec, WorkspaceReport
from fleet.errors import WorkspaceUnavailable
from fleet.ports import Sandbox
from fleet.rigor import evaluate
from fleet.workspace import (
    WorkspaceOutcome,
    change_problem,
    diff_paths,
    parse_coverage,
    parse_junit,
    parse_ruff,
)

OUT = ".fleet"  # reports written by sandboxed steps; excluded from commits
EXCLUDES = f"{OUT}/\n__pycache__/\n*.pyc\n.pytest_cache/\n.ruff_cache/\n.coverage\n"
GIT_ID = [
    "-c",
    "user.name=SWE AI Fleet",
    "-c",
    "user.email=fleet@localhost",
    "-c",
    "commit.gpgsign=false",
]


def _git(
    ws: Path | None, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    cmd = ["git", *GIT_ID, *args] if ws is None else ["git", "-C", str(ws), *GIT_ID, *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise WorkspaceUnavailable(
            source=str(ws or args[-2]), reason=f"git {args[0]}: {proc.stderr.strip()[:500]}"
        )
    return proc


class WorkspaceRunner:
    """Executes one change in a fresh workspace and judges it with a rigor profile."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        root: str | Path,
        python: str = sys.executable,
        ruff: str | None = None,
        uid: int = 65534,
        rigor: RigorConfig | None = None,
        timeout_s: float = 300.0,
    ) -> None:
        self.sandbox = sandbox
        self.root = Path(root)
        self.python = python
        self.ruff = ruff or str(Path(python).parent / "ruff")
        self.uid = uid
        self.rigor = rigor or load("rigor.yaml")
        self.timeout_s = timeout_s

    # ------------------------------------------------------------------ git
    def prepare(self, source: str, *, branch: str, base: str | None = None) -> Path:
        """Clone ``source`` (path or URL) into a fresh directory on new branch ``branch``.

        Raises:
            WorkspaceUnavailable: the source is not a git repository or the clone failed.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        ws = self.root / f"ws-{uuid.uuid4().hex[:10]}"
        args = [
            "clone",
            "--quiet",
            "--no-hardlinks",
            *(["--branch", base] if base else []),
            source,
            str(ws),
        ]
        _git(None, *args)
        _git(ws, "checkout", "--quiet", "-b", branch)
        (ws / ".git" / "info").mkdir(exist_ok=True)
        with open(ws / ".git" / "info" / "exclude", "a") as fh:
            fh.write(EXCLUDES)
        return ws

    def commit(self, ws: Path, message: str) -> str:
        """Commit everything on the workspace branch; return the commit id."""
        _git(ws, "add", "--all")
        _git(ws, "commit", "--quiet", "--allow-empty", "-m", message)
        return _git(ws, "rev-parse", "HEAD").stdout.strip()

    # ------------------------------------------------------------------ apply
    def _escapes(self, ws: Path, rel: str) -> str | None:
        real_root = os.path.realpath(ws)
        target = ws / rel
        if target.is_symlink():
            return f"{rel!r} is a symlink in the repository; changes may not write through links"
        real = os.path.realpath(target)
        if not real.startswith(real_root + os.sep):
            return f"{rel!r} resolves to {real}, outside the repository (a symlinked directory)"
        return None

    def apply(self, ws: Path, change: str | Mapping[str, str]) -> str | None:
        """Apply a unified diff or whole-file contents; return why it was rejected, or None."""
        problem = change_problem(change)
        if problem:
            return problem
        if isinstance(change, str):
            for rel in diff_paths(change)[0]:
                if why := self._escapes(ws, rel):
                    return why
            flags = ["--recount", "--whitespace=nowarn"]
            check = _git(ws, "apply", "--check", *flags, "-", stdin=change, check=False)
            if check.returncode != 0:
                return f"the diff does not apply: {check.stderr.strip()[:800]}"
            _git(ws, "apply", *flags, "-", stdin=change)
            return None
        for rel in change:
            if why := self._escapes(ws, rel):
                return why
        for rel, content in change.items():
            path = ws / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return None

    # ------------------------------------------------------------------ check
    def _run(
        self, ws: Path, step: str, cmd: list[str], ctx: RunContext, phase: str, **kw: object
    ) -> TaskResult:
        spec = TaskSpec(
            id=f"{ctx.task_id or 'ws'}:{step}:{uuid.uuid4().hex[:8]}",
            cmd=tuple(cmd),
            workspace=str(ws),
            timeout_s=self.timeout_s,
            env={
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPYCACHEPREFIX": "/tmp/pycache",  # the source tree is read-only to the run
                "COVERAGE_FILE": f"{ws}/{OUT}/coverage",
            },
            resources=Resources(
                cpu_seconds=int(self.timeout_s), memory_mb=1024, output_bytes=4_000_000
            ),
            context=ctx.model_copy(update={"role": "runner", "phase": phase}),
            **kw,  # type: ignore[arg-type]
        )
        return self.sandbox.run(spec)

    def check(self, ws: Path, ctx: RunContext) -> tuple[WorkspaceReport, list[str]]:
        """Build, test (junit + coverage) and lint ``ws`` in the sandbox; the report and failing tests."""
        out = ws / OUT
        out.mkdir(exist_ok=True)
        os.chown(out, self.uid, self.uid)
        targets = sorted(p.name for p in ws.iterdir() if not p.name.startswith(".")) or ["."]
        build = self._run(
            ws, "build", [self.python, "-m", "compileall", "-q", *targets], ctx, "build"
        )
        notes = [
            f"build: {build.status}"
            + (f" ({build.stdout.strip()[-300:]})" if build.status != "passed" else "")
        ]
        test = self._run(
            ws,
            "test",
            [
                self.python,
                "-m",
                "coverage",
                "run",
                "--source=.",
                "--omit=tests/*,*/tests/*",
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={OUT}/junit.xml",
            ],
            ctx,
            "test",
            artifacts=(f"{OUT}/junit.xml",),
        )
        passed, failed, failing = 0, 0, []
        junit = test.artifacts.get(f"{OUT}/junit.xml")
        try:
            if junit:
                passed, failed, failing = parse_junit(junit)
        except ParseError:
            notes.append("tests: junit report unreadable")
        if not junit or (test.status != "passed" and failed == 0):
            failed = max(failed, 1)  # a run that died (timeout, collection error) is not a pass
            notes.append(f"tests: {test.status} {test.reason} {test.stdout[-300:]}".strip())
        cov = self._run(
            ws,
            "coverage",
            [self.python, "-m", "coverage", "json", "-q", "-o", f"{OUT}/coverage.json"],
            ctx,
            "test",
            artifacts=(f"{OUT}/coverage.json",),
        )
        lint = self._run(
            ws,
            "lint",
            [self.ruff, "check", "--no-cache", "--exit-zero", "--output-format", "json", "."],
            ctx,
            "test",
        )
        notes += [f"failed: {name}" for name in failing]
        report = WorkspaceReport(
            build_ok=build.status == "passed",
            unit_passed=passed,
            unit_failed=failed,
            coverage=parse_coverage(cov.artifacts.get(f"{OUT}/coverage.json", "")),
            lint_findings=parse_ruff(lint.stdout) if lint.status == "passed" else 0,
            notes=tuple(notes),
        )
        return report, failing

    # ------------------------------------------------------------------ all of it
    def execute(
        self,
        source: str,
        change: str | Mapping[str, str],
        *,
        branch: str,
        level: str = "L1",
        context: RunContext | None = None,
        base: str | None = None,
        message: str | None = None,
    ) -> WorkspaceOutcome:
        """Fresh workspace, apply, check, gate; commit on ``branch`` when the gate passes.

        Raises:
            WorkspaceUnavailable: the source could not be cloned.
            SandboxUnavailable: the sandbox could not run the checks.
        """
        ctx = context or RunContext()
        ws = self.prepare(source, branch=branch, base=base)
        rejected = self.apply(ws, change)
        if rejected:
            return WorkspaceOutcome(
                status="rejected", branch=branch, workspace=str(ws), reason=rejected
            )
        report, failing = self.check(ws, ctx)
        gate = evaluate(report, level, self.rigor)
        reason = "; ".join([*gate.failures, *(f"failing test {t}" for t in failing)])
        if gate.verdict != "pass":
            return WorkspaceOutcome(
                status="checked",
                branch=branch,
                workspace=str(ws),
                reason=reason,
                report=report,
                gate=gate,
                failed_tests=tuple(failing),
            )
        sha = self.commit(
            ws, message or f"fleet: {ctx.task_id or branch} (gate {gate.verdict} {gate.score:.0f})"
        )
        return WorkspaceOutcome(
            status="committed",
            branch=branch,
            workspace=str(ws),
            reason=reason,
            report=report,
            gate=gate,
            commit=sha,
            failed_tests=tuple(failing),
        )

    def remove(self, ws: str | Path) -> None:
        """Delete a workspace directory (only ones under this runner's root)."""
        path = Path(ws).resolve()
        if self.root.resolve() in path.parents:
            shutil.rmtree(path, ignore_errors=True)
