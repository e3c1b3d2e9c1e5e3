"""Evidence the candidate cannot write (the council's evidence runner: real git, bubblewrap,
pytest).

A candidate that fixes ``add`` (so it passes the acceptance test) but breaks ``sub`` tries to
hide the repository's test of ``sub``: an ``xfail`` marker or a ``pytest.skip`` added to the
existing test, a ``pytestmark`` line, or an edit to the plugin module the base's ``pytest.ini``
loads (a file whose name says nothing about pytest), or a ``pytest.py`` that runs instead of
pytest and prints a clean run. Its evidence must show ``test_sub``
failing, judged with the base's versions, and say what was ignored; an honest candidate that
also adds a skipped test of its own is not punished for it.
"""

from __future__ import annotations

import pytest

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.contracts import Patch, Proposal, RunContext
from fleet.evidence import EvidenceSuite
from tests.integration.test_council_evidence import ACCEPT, _git

BASE = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
HALF = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n"  # sub broken
RIGHT = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
OLD = "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"
PLUGIN = "def pytest_report_header(config):\n    return 'helpers loaded'\n"
FORCE_PASS = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""
# a module named like the tool the evidence runner starts with `python -m pytest` from the
# repository's directory: it prints a clean run and writes the matching report
FAKE_PYTEST = """import sys

CASES = "".join(
    f'<testcase classname="tests.{m}" name="{n}"/>'
    for m, n in (("test_acceptance", "test_add"), ("test_old", "test_sub"))
)
for arg in sys.argv[1:]:
    if arg.startswith("--junitxml="):
        with open(arg.split("=", 1)[1], "w") as fh:
            fh.write(f'<testsuites><testsuite name="pytest" tests="2">{CASES}</testsuite></testsuites>')
print("collected 2 items")
print("============================== 2 passed in 0.01s ==============================")
"""
HIDERS = {
    "xfail": {
        "tests/test_old.py": "import pytest\n" + OLD.replace("def", "@pytest.mark.xfail\ndef")
    },
    "skip-call": {
        "tests/test_old.py": "import pytest\n"
        + OLD.replace("def test_sub():\n", "def test_sub():\n    pytest.skip('slow')\n")
    },
    "pytestmark": {
        "tests/test_old.py": "import pytest\n\npytestmark = pytest.mark.skip('later')\n" + OLD
    },
    "named-plugin": {"helpers.py": FORCE_PASS},
    "shadowed-pytest": {"pytest.py": FAKE_PYTEST},
}


def _repo(tmp):
    repo = tmp / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(BASE)
    (repo / "tests" / "test_old.py").write_text(OLD)
    (repo / "helpers.py").write_text(PLUGIN)
    (repo / "pytest.ini").write_text("[pytest]\naddopts = -p helpers\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def _patch(repo, files: dict[str, str]) -> Patch:
    for path, text in files.items():
        (repo / path).write_text(text)
    _git(repo, "add", "-A")
    diff = _git(repo, "diff", "--cached")
    _git(repo, "reset", "-q", "--hard")
    base = _git(repo, "rev-parse", "HEAD").strip()
    return Patch(base_commit=base, diff=diff, files=tuple(files), rationale="r")


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ev-inputs")
    repo = _repo(tmp)
    own_skip = "import pytest\n\n\n@pytest.mark.skip('needs a GPU')\ndef test_gpu():\n    pass\n"
    bodies = {
        **{name: {"calc.py": HALF, **files} for name, files in HIDERS.items()},
        "honest": {"calc.py": RIGHT, "tests/test_gpu.py": own_skip},
    }
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
    return {e.proposal_id: e for e in got}


@pytest.mark.parametrize("name", sorted(HIDERS))
def test_a_candidate_cannot_hide_the_test_it_breaks(judged, name):
    ev = judged[name]
    assert not ev.passed, (name, ev)
    failing = [t.test_id for t in ev.tests if not t.passed]
    assert failing == ["tests/test_old.py::test_sub"], ev
    assert "test infrastructure" in ev.detail, ev.detail


def test_an_honest_candidate_with_its_own_skipped_test_passes(judged):
    ev = judged["honest"]
    assert ev.passed and ev.tests_passed == 2, ev
