"""A candidate cannot forge its evidence: the council's tests run in the same process as the
candidate's code, so a hostile patch tries to make a failing candidate report passes -- through
pytest's harness (a ``conftest.py`` hook, even in an oddly named directory; ``addopts`` in
``pytest.ini``), or from its own module, rewriting the JUnit report when the process exits.
Each runs for real (git, bubblewrap, pytest) and must not pass; an honest candidate still does.
"""

from __future__ import annotations

import subprocess

import pytest

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.contracts import Patch, Proposal, RunContext
from fleet.evidence import EvidenceSuite
from tests.integration.test_council_evidence import ACCEPT, _git, _repo

WRONG = "def add(a, b):\n    return a - b\n"  # the base's bug, left in place by every forger
FORCE_PASS = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""
# the candidate's own module: once pytest wrote its report, strip every failure from it
REWRITER = """import atexit
import re
import sys


def _forge():
    for arg in sys.argv:
        if arg.startswith("--junitxml="):
            path = arg.split("=", 1)[1]
            with open(path) as fh:
                text = fh.read()
            text = re.sub(r"<failure.*?</failure>", "", text, flags=re.S)
            text = re.sub(r'failures="\\d+"', 'failures="0"', text)
            with open(path, "w") as fh:
                fh.write(text)


atexit.register(_forge)


def add(a, b):
    return a - b
"""
FORGERS = {
    "conftest": {"calc.py": WRONG + "\n", "conftest.py": FORCE_PASS},
    "quoted-dir": {"calc.py": WRONG + "\n", 'tests/we"ird dir/conftest.py': FORCE_PASS},
    "addopts": {
        "calc.py": WRONG + "\n",
        "pytest.ini": "[pytest]\naddopts = --deselect tests/test_acceptance.py::test_add\n",
    },
    "pyproject": {
        "calc.py": WRONG + "\n",
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p conftest_forge"\n',
        "conftest_forge.py": FORCE_PASS,
    },
    "rewrites-report": {"calc.py": REWRITER},
}


def _patch(repo, files: dict[str, str]) -> Patch:
    """A patch that may add files (in directories git quotes in a diff's header)."""
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    _git(repo, "add", "-A")
    diff = _git(repo, "diff", "--cached")
    _git(repo, "reset", "-q", "--hard")
    _git(repo, "clean", "-qfd")
    base = _git(repo, "rev-parse", "HEAD").strip()
    return Patch(base_commit=base, diff=diff, files=tuple(files), rationale="r")


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("forge")
    repo = _repo(tmp)
    bodies = {**FORGERS, "honest": {"calc.py": "def add(a, b):\n    return a + b\n"}}
    props = [
        Proposal(id=name, deliberation_id="d", author=name, role="developer", content=name,
                 patch=_patch(repo, files))
        for name, files in bodies.items()
    ]  # fmt: skip
    suite = EvidenceSuite(
        files={"tests/test_acceptance.py": ACCEPT},
        test_paths=("tests",),
        protected=("tests/test_acceptance.py",),
        trusted=("tests/test_old.py::",),
    )
    runner = SandboxEvidence(BwrapSandbox(), root=tmp / "ws", concurrency=2)
    got = runner.run(props, suite, source=str(repo), base="main", context=RunContext())
    patches = {p.id: p.patch for p in props}
    return {e.proposal_id: e for e in got} | {f"{n}.patch": patches[n] for n in patches}


def test_the_odd_directory_is_quoted_in_the_diff(judged):
    """What a filter on the diff's text would miss: git quotes the path in every header."""
    diff = judged["quoted-dir.patch"].diff
    assert '"b/tests/we\\"ird dir/conftest.py"' in diff, diff[:300]


@pytest.mark.parametrize("name", sorted(FORGERS))
def test_a_forging_candidate_does_not_pass(judged, name):
    ev = judged[name]
    assert not ev.passed, (name, ev)
    assert ev.tests_passed == 0 or any(not t.passed for t in ev.tests), ev


@pytest.mark.parametrize("name", ["conftest", "quoted-dir", "addopts", "pyproject"])
def test_harness_edits_are_ignored_and_said(judged, name):
    ev = judged[name]
    assert "ignored its edits to the test harness" in ev.detail, ev.detail
    failing = [t.test_id for t in ev.tests if not t.passed]
    assert failing == ["tests/test_acceptance.py::test_add"], ev


def test_a_rewritten_report_is_not_believed(judged):
    ev = judged["rewrites-report"]
    assert ev.tests == () and "the report does not match the run" in ev.detail, ev


def test_an_honest_candidate_still_passes(judged):
    ev = judged["honest"]
    assert ev.passed and ev.tests_passed == 2, ev


def test_a_quiet_repository_is_still_judged(tmp_path):
    """The repository's own addopts make pytest quiet and deselect a test: an honest candidate
    still passes, and a rewritten report is still caught (by the bare summary line)."""
    repo = _repo(tmp_path)
    (repo / "pytest.ini").write_text('[pytest]\naddopts = -q -m "not slow"\nmarkers = slow\n')
    (repo / "tests" / "test_slow.py").write_text(
        "import pytest\n\n\n@pytest.mark.slow\ndef test_later():\n    pass\n"
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "quiet")
    props = [
        Proposal(id=name, deliberation_id="d", author=name, role="developer", content=name,
                 patch=_patch(repo, {"calc.py": body}))
        for name, body in (("honest", "def add(a, b):\n    return a + b\n"), ("forger", REWRITER))
    ]  # fmt: skip
    suite = EvidenceSuite(files={"tests/test_acceptance.py": ACCEPT}, test_paths=("tests",))
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=2)
    got = {
        e.proposal_id: e
        for e in runner.run(props, suite, source=str(repo), base="main", context=RunContext())
    }
    assert got["honest"].passed and got["honest"].tests_passed == 2, got["honest"]
    assert not got["forger"].passed and "does not match the run" in got["forger"].detail


def test_a_test_that_exits_127_itself_does_not_fake_a_sandbox_outage(tmp_path):
    """QA's test (model output) that ends its run with os._exit(127) on the base commit, the
    status of an interpreter that did not start: the base's run reads as "no test collected", not
    as SandboxUnavailable (which would end the story as an outage), because the interpreter
    alone starts."""
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("def f():\n    return 1\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "base"], check=True)  # fmt: skip
    test = "import os\n\n\ndef test_exit():\n    os._exit(127)\n"
    suite = EvidenceSuite(files={"tests/test_exit.py": test}, test_paths=("tests/test_exit.py",))
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ev")
    ctx = RunContext(story_id="s-exit", task_id="t1")
    assert runner.baseline(suite, source=str(repo), base="main", context=ctx) == ()
