"""Workspace runner: clone -> branch -> apply a change -> build/test/lint in the sandbox -> gate -> commit.

Git runs here, as the supervisor (trusted: clone, apply, commit), always through
:mod:`fleet.adapters.git_host` (hooks, fsmonitor and repository config off). Everything that
executes the repository's code (compileall, pytest under coverage, ruff) runs through the
injected ``Sandbox`` port, as the ``runner`` role of ``policy.yaml``.

Layout of one workspace (``<root>/ws-<id>/``, made fresh by the host, root-owned)::

    repo/          the clone; owned by the supervisor, so sandboxed code cannot rewrite it; its
                   ``.git`` is mounted read-only in the sandbox
    <step>-<hex>/  one per step that writes reports (JUnit, coverage data, coverage JSON):
                   made by the host right before that step, randomly named and handed to the
                   sandbox user; *outside* the repository, so nothing the repository ships (a
                   ``.fleet -> .git/hooks`` link, say) can redirect a host-side operation, and
                   fresh, so nothing an earlier step wrote (a read-only ``coverage.json``) is
                   read as a later step's report

The host never follows the workspace: every host-side file operation on it goes through
:mod:`fleet.adapters.untrusted_fs` (resolved beneath the workspace, no link followed,
iterative walks); it decides whether a change brings a symlink or a submodule from the modes
git recorded in the index, and commits exactly what it staged before any sandboxed code ran.

What the gate reads cannot come from the change it judges: coverage runs with the fleet's own
configuration (``--rcfile``; the repository's coverage settings are ignored), and the change's
edits to test infrastructure (``fleet.testinfra``: ``conftest.py``, pytest/coverage
configuration, start-up files, plugins the configuration names, markers added to existing
tests) are replaced in the judged tree by the base commit's versions -- the index, and so the
commit, keep them, and the report names them (keeping them needs the PO's approval). The tests
still run in the process that writes the JUnit report and the coverage data: see
``fleet.workspace.junit_problem`` and docs/security.md for what that leaves open.

Interpreter: the target's own environment (:mod:`fleet.adapters.target_env`: its declared
dependencies installed by ``uv`` in a sandbox of their own, cached by a hash of the dependency
files) when the repository declares dependencies, else the fleet's own Python
(``sys.executable`` at its venv's real place, ``fleet_python``; pytest, coverage and ruff are
installed there); the sandbox sees either read-only. ruff is always the fleet's.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from xml.etree.ElementTree import ParseError

from fleet.adapters import git_host
from fleet.adapters.bwrap_sandbox import fleet_python
from fleet.adapters.target_env import TargetEnv, TargetEnvs
from fleet.adapters.untrusted_fs import Tree, rmtree
from fleet.adapters.workspace_fs import (
    default_roots,
    fresh_dir,
    judge_with_base_infra,
    read_report,
    slug,
    tree_bytes,
)
from fleet.config import RigorConfig, load
from fleet.contracts import (
    TEST_PROCESSES,
    Resources,
    RunContext,
    TaskResult,
    TaskSpec,
    WorkspaceReport,
)
from fleet.diffscope import Added, added_lines, diff_coverage, findings_on
from fleet.errors import InvalidInput, WorkspaceUnavailable
from fleet.ports import Sandbox
from fleet.rigor import evaluate
from fleet.testinfra import flagged, infra_notes
from fleet.workspace import (
    WorkspaceOutcome,
    change_problem,
    diff_paths,
    e2e_counts,
    failure_messages,
    junit_problem,
    parse_coverage,
    parse_junit,
    parse_ruff,
)

REPO = "repo"
EXCLUDES = "__pycache__/\n*.pyc\n.pytest_cache/\n.ruff_cache/\n.coverage\n"
DEFAULT_MAX_WORKSPACE_MB = 512


class TestCounts(NamedTuple):
    unit_passed: int
    unit_failed: int
    e2e_passed: int
    e2e_failed: int


def _sets_pythonpath(ws: Path) -> bool:
    """Whether the repository configures pytest's ``pythonpath`` itself (then it is left alone)."""
    for name in ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"):
        if "pythonpath" in (read_report(ws, name, cap=1_000_000) or ""):
            return True
    return False


def src_layout_args(ws: Path) -> list[str]:
    """pytest options for a ``src/`` layout: the workspace's code first on ``sys.path``, not the
    installed copy (unless the repository sets pytest's ``pythonpath`` itself)."""
    with Tree(ws) as tree:
        src = tree.is_dir("src")  # a plain directory, never a link
    if src and not _sets_pythonpath(ws):
        return ["-o", "pythonpath=src"]
    return []


@dataclass(frozen=True, kw_only=True)
class Toolchain:
    """The programs the checks run with: the fleet's interpreter, its ruff and uv (None: next to
    ``python``), and where target environments are kept (``envs_root``; None: the runner's
    root). The council's evidence runner shares the workspace runner's ``envs_root``, so one
    story builds one environment."""

    python: str = field(default_factory=fleet_python)  # a path the sandbox shows
    ruff: str | None = None
    uv: str | None = None
    envs_root: str | Path | None = None


@dataclass(frozen=True, kw_only=True)
class Sources:
    """Which repositories may be cloned, and how large: local paths under ``repo_roots`` (None:
    the configured roots), URLs to private addresses only with ``allow_private_urls``; a clone
    whose tree is over ``max_workspace_mb`` is refused before checkout."""

    repo_roots: Sequence[str | Path] | None = None
    allow_private_urls: bool = False
    max_workspace_mb: int = DEFAULT_MAX_WORKSPACE_MB


@dataclass(frozen=True, kw_only=True)
class Checks:
    """How a change is checked: the rigor profiles (None: rigor.yaml), each sandboxed step's
    time limit, and the sandbox user (when the fleet runs as root; else its own user)."""

    rigor: RigorConfig | None = None
    timeout_s: float = 300.0
    uid: int = 65534


class WorkspaceRunner:
    """Executes one change in a fresh workspace and judges it with a rigor profile."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        root: str | Path,
        keep: bool = False,
        tools: Toolchain | None = None,
        sources: Sources | None = None,
        checks: Checks | None = None,
    ) -> None:
        tools, sources, checks = tools or Toolchain(), sources or Sources(), checks or Checks()
        self.sandbox = sandbox
        self.root = Path(os.path.realpath(root))
        self.python = tools.python
        self.ruff = tools.ruff or str(Path(tools.python).parent / "ruff")
        self.uid = checks.uid if os.geteuid() == 0 else os.geteuid()
        self.rigor = checks.rigor or load("rigor.yaml")
        self.timeout_s = checks.timeout_s
        self.repo_roots = (
            tuple(sources.repo_roots)
            if sources.repo_roots is not None
            else default_roots(self.root)
        )
        self.allow_private_urls = sources.allow_private_urls
        self.max_workspace_bytes = sources.max_workspace_mb * 1024 * 1024
        self.keep = keep  # keep a workspace whose change was not committed (debugging)
        self.envs = TargetEnvs(
            sandbox,
            root=Path(os.path.realpath(tools.envs_root)) if tools.envs_root else self.root,
            python=tools.python,
            uv=tools.uv or str(Path(tools.python).parent / "uv"),
            uid=self.uid,
        )

    # ------------------------------------------------------------------ git
    def prepare(
        self, source: str, *, branch: str, base: str | None = None, story: str | None = None
    ) -> Path:
        """Clone ``source`` (path or URL) into a fresh workspace on new branch ``branch``.

        Returns the repository directory (``<root>/ws-<id>/repo``).

        Raises:
            InvalidInput: ``source`` or a branch name is refused (option-like, scheme, root).
            WorkspaceUnavailable: the source is not a git repository, the clone failed, or the
                repository is larger than the workspace limit.
        """
        git_host.check_branch(branch)
        roots = (*self.repo_roots, str(self.root))
        clean = git_host.check_source(
            source, local_roots=roots, allow_private=self.allow_private_urls
        )
        self.root.mkdir(parents=True, exist_ok=True)  # the fleet's own directory
        box = self.root / f"ws-{slug(story)}{uuid.uuid4().hex[:10]}"
        with Tree(self.root) as root:
            root.mkdir(box.name, mode=0o755)  # fresh: fails if anything already sits there
        ws = box / REPO
        try:
            git_host.clone(clean, ws, base=base, max_bytes=self.max_workspace_bytes)
            size = tree_bytes(ws, stop_at=self.max_workspace_bytes)
            if size > self.max_workspace_bytes:
                raise WorkspaceUnavailable(
                    source=source,
                    reason=f"the repository is larger than the workspace limit "
                    f"({self.max_workspace_bytes // 2**20} MB)",
                )
            git_host.checkout_new(ws, branch)
            git_host.write_exclude(ws, EXCLUDES)
        except (WorkspaceUnavailable, InvalidInput, OSError):
            with contextlib.suppress(OSError):
                rmtree(box)
            raise
        return ws

    def commit(self, ws: Path, message: str) -> str:
        """Commit what :meth:`apply` staged (hooks off); return the commit id."""
        return git_host.commit_staged(ws, message)

    # ------------------------------------------------------------------ apply
    def _escapes(self, ws: Path, rel: str) -> str | None:
        """Why writing ``rel`` would leave the repository or pass through a link (lstat only)."""
        parts = Path(rel).parts
        with Tree(ws) as tree:
            for i in range(1, len(parts) + 1):
                st = tree.lstat("/".join(parts[:i]))  # its parents were checked one step earlier
                if st is None:
                    return None  # the rest will be created as plain directories and files
                if stat.S_ISLNK(st.st_mode):
                    if i == len(parts):
                        return f"{rel!r} is a symlink in the repository; changes may not write through links"
                    return f"{rel!r} passes through a link: outside the repository (a symlinked directory)"
        return None

    def apply(self, ws: Path, change: str | Mapping[str, str]) -> str | None:
        """Apply a unified diff or whole-file contents and stage it; why it was rejected, or None.

        Whatever the diff text says, the verdict on symlinks and submodules comes from the
        modes git recorded for the staged change.
        """
        problem = change_problem(change)
        if problem:
            return problem
        paths = diff_paths(change)[0] if isinstance(change, str) else list(change)
        for rel in paths:
            if why := self._escapes(ws, rel):
                return why
        if isinstance(change, str):
            flags = ["--recount", "--whitespace=nowarn"]
            check = git_host.git(ws, "apply", "--check", *flags, "-", stdin=change, check=False)
            if check.returncode != 0:
                return f"the diff does not apply: {check.stderr.strip()[:800]}"
            git_host.git(ws, "apply", *flags, "-", stdin=change)
        else:
            with Tree(ws) as tree:
                for rel, content in change.items():
                    try:
                        tree.write_text(rel, content, parents=True)
                    except OSError as exc:
                        return f"{rel!r} cannot be written: {exc.strerror or exc}"
        git_host.stage_all(ws)
        special = git_host.special_entries(ws)
        if special:
            return f"{special[0]}; symlinks and submodules are not accepted in a change"
        return None

    # ------------------------------------------------------------------ check
    def _run(
        self,
        ws: Path,
        step: str,
        cmd: list[str],
        ctx: RunContext,
        env: TargetEnv | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> TaskResult:
        # policy.yaml's phases: compiling is the build, every other step reads the code as a test
        phase = "build" if step == "build" else "test"
        spec = TaskSpec(
            id=f"{ctx.task_id or 'ws'}:{step}:{uuid.uuid4().hex[:8]}",
            cmd=tuple(cmd),
            workspace=str(ws.parent),
            cwd=REPO,
            timeout_s=self.timeout_s,
            env={
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPYCACHEPREFIX": "/tmp/pycache",  # the source tree is read-only to the run
                **dict(env.env if env else ()),
                **dict(extra_env or {}),
            },
            resources=Resources(
                cpu_seconds=int(self.timeout_s),
                memory_mb=1024,
                output_bytes=4_000_000,
                processes=TEST_PROCESSES,
            ),
            context=ctx.model_copy(update={"role": "runner", "phase": phase}),
            expose=env.expose if env else (),
        )
        return self.sandbox.run(spec)

    def _test(
        self, ws: Path, ctx: RunContext, out: Path, env: TargetEnv
    ) -> tuple[TestCounts, list[str], list[str]]:
        cmd = [env.python, "-m", "coverage", "run", f"--rcfile={out}/coveragerc"]
        cmd += ["--source=.", "--omit=tests/*,*/tests/*"]
        cmd += ["-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={out}/junit.xml"]
        cmd += src_layout_args(ws)
        data = {"COVERAGE_FILE": f"{out}/coverage"}
        test = self._run(ws, "test", cmd, ctx, env, data)
        notes: list[str] = []
        passed, failed, failing = 0, 0, []
        e2e = (0, 0)
        junit = read_report(out, "junit.xml")
        why: dict[str, str] = {}
        try:
            if junit:
                passed, failed, failing = parse_junit(junit)
                e2e = e2e_counts(junit)
                why = failure_messages(junit)
        except ParseError:
            notes.append("tests: junit report unreadable")
        forged = junit_problem(junit or "", test.stdout, test.exit_code) if junit else None
        if forged:
            failed = max(failed, 1)
            notes.append(f"tests: report does not match the run: {forged}")
        if not junit or (test.status != "passed" and failed == 0):
            failed = max(failed, 1)  # a run that died (timeout, collection error) is not a pass
            notes.append(f"tests: {test.status} {test.reason} {test.stdout[-300:]}".strip())
        # what failed and why (junit's first failure line): what a retry must fix
        notes += [f"failed: {n}" + (f": {why[n]}" if why.get(n) else "") for n in failing]
        # e2e tests (tests/e2e/ by convention) are reported apart from the unit tests
        return TestCounts(max(passed - e2e[0], 0), max(failed - e2e[1], 0), *e2e), failing, notes

    def _static(self, ws: Path, ctx: RunContext) -> str:
        """Findings of a security/bug analysis (ruff's bandit and bugbear rules), run in the
        sandbox with the repository's own ruff configuration ignored (it cannot switch them off);
        ruff's JSON findings."""
        cmd = [self.ruff, "check", "--isolated", "--no-cache", "--select", "S,B"]
        for tests in ("**/tests/**", "**/test_*.py", "**/*_test.py", "**/conftest.py"):
            cmd += ["--per-file-ignores", f"{tests}:S101"]  # assert is how pytest tests speak
        cmd += ["--exit-zero", "--output-format", "json", "."]
        found = self._run(ws, "static", cmd, ctx)
        return found.stdout if found.status == "passed" else ""

    def environment(self, ws: Path, ctx: RunContext) -> TargetEnv:
        """The target's own environment for ``ws`` (cached; ``problem`` if it cannot install)."""
        return self.envs.ensure(
            ws, ctx, python_version=f"{os.path.realpath(self.python)} {sys.version}"
        )

    def check(
        self, ws: Path, ctx: RunContext, added: Added | None = None
    ) -> tuple[WorkspaceReport, list[str]]:
        """Build, test (junit + coverage) and lint ``ws`` in the sandbox; the report and failing
        tests. With ``added`` (the lines the change adds), lint and static findings count on
        those lines only and coverage is the change's (``fleet.diffscope``): the gate judges the
        change, not the repository's older debt."""
        infra = infra_notes(judge_with_base_infra(ws))  # before anything of the change runs
        env = self.environment(ws, ctx)
        if env.problem:  # a clear finding, not a mysterious test failure
            return WorkspaceReport(build_ok=False, notes=(env.problem, *infra)), []
        # "./" first: a file named like an option (-x.py) stays a file name.
        with Tree(ws) as tree:
            targets = [f"./{name}" for name in tree.listdir() if not name.startswith(".")]
        cmd = [env.python, "-m", "compileall", "-q", *(targets or ["."])]
        build = self._run(ws, "build", cmd, ctx, env)
        notes = [
            env.note,
            *infra,
            f"build: {build.status}"
            + (f" ({build.stdout.strip()[-300:]})" if build.status != "passed" else ""),
        ]
        out = fresh_dir(ws.parent, "test", uid=self.uid, rcfile=True)
        counts, failing, test_notes = self._test(ws, ctx, out, env)
        notes += test_notes
        # a directory of its own, made now: whatever the tests left in theirs is not read
        cov = fresh_dir(ws.parent, "coverage", uid=self.uid, rcfile=True)
        cov_cmd = [env.python, "-m", "coverage", "json", f"--rcfile={cov}/coveragerc"]
        cov_cmd += ["-q", "-o", f"{cov}/coverage.json"]
        self._run(ws, "coverage", cov_cmd, ctx, env, {"COVERAGE_FILE": f"{out}/coverage"})
        lint = self._run(
            ws,
            "lint",
            [self.ruff, "check", "--no-cache", "--exit-zero", "--output-format", "json", "."],
            ctx,
        )
        static = self._static(ws, ctx)
        cov_json = read_report(cov, "coverage.json") or ""
        lint_json = lint.stdout if lint.status == "passed" else ""
        coverage, lints, statics = (
            parse_coverage(cov_json),
            parse_ruff(lint_json),
            parse_ruff(static),
        )
        if added is not None:
            notes.append(
                f"scope: the change's lines ({sum(map(len, added.values()))} added); the whole "
                f"repository has {lints} lint and {statics} static findings, coverage {coverage}%"
            )
            coverage = diff_coverage(cov_json, added) if cov_json else None
            lints, statics = findings_on(lint_json, added), findings_on(static, added)
        report = WorkspaceReport(
            build_ok=build.status == "passed",
            unit_passed=counts.unit_passed,
            unit_failed=counts.unit_failed,
            e2e_passed=counts.e2e_passed,
            e2e_failed=counts.e2e_failed,
            static_findings=statics,
            coverage=coverage,
            lint_findings=lints,
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
    ) -> WorkspaceOutcome:
        """Fresh workspace, apply, check, gate; commit on ``branch`` unless the gate blocks.

        Raises:
            WorkspaceUnavailable: the source could not be cloned.
            SandboxUnavailable: the sandbox could not run the checks.
        """
        ctx = context or RunContext()
        ws = self.prepare(source, branch=branch, base=base, story=ctx.story_id)
        base_commit = git_host.head(ws)

        def outcome(status: str, **facts: object) -> WorkspaceOutcome:
            if status != "committed" and not self.keep:
                self.remove(ws)
            return WorkspaceOutcome(
                status=status, branch=branch, workspace=str(ws), base_commit=base_commit, **facts
            )  # type: ignore[arg-type]

        rejected = self.apply(ws, change)
        if rejected:
            return outcome("rejected", reason=rejected)
        report, failing = self.check(ws, ctx, added_lines(git_host.staged_diff(ws)))
        gate = evaluate(report, level, self.rigor)
        checked = {
            "reason": "; ".join([*gate.failures, *(f"failing test {t}" for t in failing)]),
            "report": report,
            "gate": gate,
            "failed_tests": tuple(failing),
            "test_infra": flagged(report.notes),
        }
        # Whatever lets the story go on (pass and warn alike) is committed: a story never reaches
        # DONE on a change that exists only in a discarded workspace.
        if gate.verdict == "block":
            return outcome("checked", **checked)
        sha = self.commit(
            ws, f"fleet: {ctx.task_id or branch} (gate {gate.verdict} {gate.score:.0f})"
        )
        return outcome("committed", commit=sha, **checked)

    def remove_story(self, story_id: str) -> int:
        """Delete every workspace of ``story_id`` (call when the story ends); how many."""
        prefix = f"ws-{slug(story_id)}"
        boxes = [p for p in self.root.glob(f"{prefix}*") if p.name[len(prefix) :].isalnum()]
        for box in boxes:
            self.remove(box)
        return len(boxes)

    def remove(self, ws: str | Path) -> None:
        """Delete a workspace (its repository and reports; only ones under this runner's root)."""
        path = Path(os.path.abspath(ws))
        box = path.parent if path.name == REPO else path
        root = Path(os.path.realpath(self.root))
        if box.parent == root and box.name.startswith("ws-"):
            with contextlib.suppress(OSError):  # best effort, as the story goes on either way
                rmtree(box)  # never follows a link, iterative: any depth
