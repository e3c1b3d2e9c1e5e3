"""The gate's inputs cannot be written by the change it judges (workspace runner, real git,
bubblewrap, pytest, coverage).

Every candidate here breaks ``add`` (or adds code no test runs) and then tries to make the gate
pass anyway, as a hostile or sloppy change would: a ``conftest.py`` hook or a plugin named in
``pytest.ini`` that turns failures into passes; ``--deselect`` in pytest's configuration (in
``tox.ini``, ``setup.cfg``, ``pyproject.toml``); ``xfail``/``skip`` added to the existing test
that catches the bug; a ``coverage`` package that runs instead of the tool and prints a clean
run; a ``coverage.json`` written by a test and made read-only so the runner's
own ``coverage json`` cannot replace it; coverage configuration (``.coveragerc``,
``setup.cfg``) or ``# pragma: no cover`` that excludes every line. Each must be judged by the
base commit's test infrastructure and the fleet's own coverage configuration: blocked (L1) or
not passed with its real coverage (L2), and the outcome says which test-infrastructure files
the gate ignored (keeping them needs the PO's approval).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet.adapters.audited_sandbox import AuditedSandbox
from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.workspace import Toolchain, WorkspaceRunner
from fleet.config import load
from fleet.contracts import RunContext
from fleet.policy import PolicyEngine

CTX = RunContext(story_id="s-gate-in", task_id="t-1", role="developer", phase="build")
CALC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
BROKEN = CALC.replace("a + b", "a - b")
TESTS = (
    "from calc import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
    "def test_sub():\n    assert sub(3, 1) == 2\n"
)
FORCE_PASS = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""
DESELECT = "--deselect tests/test_calc.py::test_add"
# a package named like the tool the runner starts with `python -m coverage` from the repository's
# directory: it prints what pytest would print for a clean run and writes matching reports
FAKE_COVERAGE = """import json
import sys

args = sys.argv[1:]
if args[:1] == ["json"]:
    with open(args[args.index("-o") + 1], "w") as fh:
        json.dump({"files": {}, "totals": {"percent_covered": 100.0}}, fh)
    sys.exit(0)
CASES = "".join(
    f'<testcase classname="tests.test_calc" name="test_{n}"/>' for n in ("add", "sub")
)
for arg in args:
    if arg.startswith("--junitxml="):
        with open(arg.split("=", 1)[1], "w") as fh:
            fh.write(f'<testsuites><testsuite name="pytest" tests="2">{CASES}</testsuite></testsuites>')
print("collected 2 items")
print("============================== 2 passed in 0.01s ==============================")
"""
HIDERS = {
    "conftest-hook": {"conftest.py": FORCE_PASS},
    "plugin-in-addopts": {
        "pytest.ini": "[pytest]\naddopts = -p forge_plugin\n",
        "forge_plugin.py": FORCE_PASS,
    },
    "deselect-tox": {"tox.ini": f"[pytest]\naddopts = {DESELECT}\n"},
    "deselect-setup-cfg": {"setup.cfg": f"[tool:pytest]\naddopts = {DESELECT}\n"},
    "deselect-pyproject": {
        "pyproject.toml": f'[tool.pytest.ini_options]\naddopts = "{DESELECT}"\n'
    },
    "xfail-marker": {
        "tests/test_calc.py": "import pytest\n"
        + TESTS.replace("def test_add", "@pytest.mark.xfail(reason='flaky')\ndef test_add")
    },
    # the attack: a change adds pytest.skip() to the test that catches its bug (it must not hide it)
    "skip-call": {
        "tests/test_calc.py": "import pytest\n"
        + TESTS.replace("def test_add():\n", "def test_add():\n    pytest.skip('later')\n")
    },
    "shadowed-tool": {"coverage/__init__.py": "", "coverage/__main__.py": FAKE_COVERAGE},
}
INFRA = {
    "conftest-hook": "conftest.py",
    "plugin-in-addopts": "pytest.ini",
    "deselect-tox": "tox.ini",
    "deselect-setup-cfg": "setup.cfg",
    "deselect-pyproject": "pyproject.toml",
    "xfail-marker": "tests/test_calc.py",
    "skip-call": "tests/test_calc.py",
    "shadowed-tool": "coverage/__main__.py",
}
# new code no test runs: its honest coverage is 0 %
EXTRA = "def mul(a, b):\n    return a * b\n\n\ndef div(a, b):\n    return a / b\n"
# a test that writes the report the runner's later `coverage json` step would write, 100 %
# covered, everywhere it can guess, and makes it read-only so the real one cannot replace it
FORGE_JSON = """import glob
import json
import os
import sys

FAKE = json.dumps({"files": {}, "totals": {"percent_covered": 100.0}})


def _dirs():
    yield os.path.dirname(os.environ.get("COVERAGE_FILE", "")) or "."
    yield "../out"
    yield from glob.glob("../*/")
    for arg in sys.argv:
        if arg.startswith("--junitxml="):
            yield os.path.dirname(arg.split("=", 1)[1])


def test_forge():
    for where in _dirs():
        path = os.path.join(where, "coverage.json")
        try:
            with open(path, "w") as fh:
                fh.write(FAKE)
            os.chmod(path, 0o444)
        except OSError:
            pass
"""
COVER_FORGERS = {
    "readonly-coverage-json": {"extra.py": EXTRA, "tests/test_forge.py": FORGE_JSON},
    "coveragerc-exclude-all": {
        "extra.py": EXTRA,
        ".coveragerc": "[report]\nexclude_lines =\n    .*\n",
    },
    "setup-cfg-exclude": {
        "extra.py": EXTRA,
        "setup.cfg": "[coverage:report]\nexclude_lines =\n    def\n    return\n",
    },
    "pragma-no-cover": {"extra.py": EXTRA.replace("):\n", "):  # pragma: no cover\n")},
}


def _git(repo: Path, *args: str) -> None:
    base = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*base, *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("gate-inputs") / "src"
    (src / "tests").mkdir(parents=True)
    (src / "calc.py").write_text(CALC)
    (src / "tests" / "test_calc.py").write_text(TESTS)
    _git(src, "init", "-q", "-b", "main")
    _git(src, "add", "-A")
    _git(src, "commit", "-qm", "calc")
    return src


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> WorkspaceRunner:
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
    root = tmp_path_factory.mktemp("gate-runs")
    return WorkspaceRunner(sandbox, root=root, tools=Toolchain(python=sys.executable))


@pytest.mark.parametrize("name", sorted(HIDERS))
def test_a_change_cannot_hide_its_failing_test(runner, base_repo, name):
    change = {"calc.py": BROKEN, **HIDERS[name]}
    out = runner.execute(str(base_repo), change, branch=f"fleet/{name}", level="L1", context=CTX)
    assert out.status == "checked" and out.commit is None, out
    assert out.gate.verdict == "block", out.gate
    assert "tests/test_calc.py::test_add" in out.failed_tests, out
    assert INFRA[name] in out.test_infra, out.test_infra
    assert any("test infrastructure" in n for n in out.report.notes), out.report.notes


@pytest.mark.parametrize("name", sorted(COVER_FORGERS))
def test_coverage_cannot_be_forged_by_the_change(runner, base_repo, name):
    change = COVER_FORGERS[name]
    out = runner.execute(str(base_repo), change, branch=f"fleet/{name}", level="L2", context=CTX)
    assert out.report.coverage is not None and out.report.coverage < 50, out.report
    assert out.gate.verdict != "pass", out.gate


def test_honest_changes_still_pass_with_real_coverage(runner, base_repo):
    """The fleet's own configuration measures what honest tests run: 100 % of tested code."""
    tested = "from extra import div, mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n\n\n"
    tested += "def test_div():\n    assert div(6, 3) == 2\n"
    change = {"extra.py": EXTRA, "tests/test_extra.py": tested}
    out = runner.execute(str(base_repo), change, branch="fleet/honest", level="L2", context=CTX)
    assert out.status == "committed", out
    assert out.report.coverage == 100.0 and out.report.unit_passed == 4, out.report
    assert out.test_infra == (), out.test_infra


def test_test_infrastructure_kept_in_the_change_is_committed_and_said(runner, base_repo):
    """An honest change that also edits test infrastructure is judged with the base's, and the
    edit stays in what is delivered, named for the PO (who must approve it)."""
    change = {"conftest.py": "import os\n", "calc.py": CALC + "\n"}
    out = runner.execute(str(base_repo), change, branch="fleet/infra", level="L1", context=CTX)
    assert out.status == "committed", out
    assert out.test_infra == ("conftest.py",), out
    shown = subprocess.run(
        ["git", "-C", out.workspace, "show", "--name-only", "--format=", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "conftest.py" in shown, shown
