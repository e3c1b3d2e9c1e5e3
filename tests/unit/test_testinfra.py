"""Which paths and hunks of a change touch test infrastructure (``fleet.testinfra``)."""

from __future__ import annotations

import ast

import pytest

from fleet.testinfra import (
    flagged,
    hiding_lines,
    infra_changes,
    infra_notes,
    is_test_file,
    neutralise,
    plugins_named,
)

TEST = "import pytest\n\n\ndef test_add():\n    assert 1 + 2 == 3\n"


@pytest.mark.parametrize(
    "path",
    [
        "conftest.py",
        "tests/deep/conftest.py",
        "pytest.ini",
        "tests/pytest.ini",
        ".pytest.ini",
        ".coveragerc",
        "sitecustomize.py",
        "src/usercustomize.py",
        "evil.pth",
    ],
)
def test_files_that_are_infrastructure_by_name_are_judged_with_the_base(path):
    (found,) = infra_changes({path: ("base\n", "candidate\n")})
    assert (found.path, found.judged) == (path, "base\n")
    (added,) = infra_changes({path: (None, "candidate\n")})
    assert added.judged is None  # a file the change adds is absent from the judged tree


@pytest.mark.parametrize(
    ("name", "base", "cand"),
    [
        ("tox.ini", "[tox]\nenvlist = py\n", "[tox]\nenvlist = py\n[pytest]\naddopts = -x\n"),
        (
            "setup.cfg",
            "[metadata]\nname = x\n",
            "[metadata]\nname = x\n[tool:pytest]\naddopts = -q\n",
        ),
        ("setup.cfg", "", "[coverage:report]\nexclude_lines = .*\n"),
        (
            "pyproject.toml",
            "[project]\nname = 'x'\n",
            "[tool.pytest.ini_options]\naddopts = '-q'\n",
        ),
        ("pyproject.toml", "", "tool.coverage.run.omit = ['*']\n"),
        ("pyproject.toml", "", "[tool]\ncoverage = {report = {exclude_lines = ['.*']}}\n"),
        ("sub/pyproject.toml", "", "not [valid toml"),
    ],
)
def test_pytest_and_coverage_sections_of_shared_files_count(name, base, cand):
    (found,) = infra_changes({name: (base, cand)})
    assert found.judged == base and "configuration" in found.why


@pytest.mark.parametrize(
    ("name", "base", "cand"),
    [
        ("tox.ini", "[tox]\nenvlist = py\n", "[tox]\nenvlist = py,py312\n"),
        ("setup.cfg", "[metadata]\nname = x\n", "[metadata]\nname = y\n"),
        (
            "pyproject.toml",
            "[project]\nname = 'x'\n",
            "[project]\nname = 'x'\ndependencies = ['a']\n",
        ),
        ("calc.py", "x = 1\n", "x = 2\n"),
        ("tests/test_calc.py", TEST, TEST + "\n\ndef test_more():\n    assert True\n"),
    ],
)
def test_other_edits_are_not_infrastructure(name, base, cand):
    assert infra_changes({name: (base, cand)}) == []


def test_plugins_named_by_the_base_configuration():
    configs = {
        "pytest.ini": "[pytest]\naddopts = -p helpers -pmore.plug -p no:cacheprovider\n",
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = ["-p", "tomlplug"]\n',
        "conftest.py": 'pytest_plugins = ["fixtures.db", "fixtures.web"]\n',
    }
    names = plugins_named(configs)
    assert names == {"helpers", "more.plug", "tomlplug", "fixtures.db", "fixtures.web"}
    found = infra_changes(
        {"helpers.py": ("a\n", "b\n"), "src/more/plug.py": ("a\n", "b\n"), "other.py": ("a", "b")},
        plugins=names,
    )
    assert [c.path for c in found] == ["helpers.py", "src/more/plug.py"]


# Not skips of these tests: the skip/xfail lines below are the *inputs* a candidate might add to
# an existing test, which fleet.testinfra must find (the attack of issue 35).
@pytest.mark.parametrize(
    ("added", "hides"),
    [
        ("@pytest.mark.xfail(reason='flaky')", True),
        ("@pytest.mark.skip", True),
        ("@pytest.mark.skipif(True, reason='x')", True),
        ("@pytest.mark.slow", True),  # `-m "not slow"` in the base's addopts deselects it
        ("@unittest.skip('x')", True),
        ("@pytest.mark.parametrize('a', [1, 2])", False),
        ("@pytest.mark.usefixtures('db')", False),
        ("    pytest.skip('later')", True),
        ("    pytest.xfail('later')", True),
        ("    self.skipTest('later')", True),
        ("    raise unittest.SkipTest('x')", True),
        ("pytestmark = pytest.mark.skip", True),
        ("__test__ = False", True),
        ("pytest_plugins = ['forge']", True),
        ("    assert add(1, 2) == 3", False),
    ],
)
def test_lines_that_hide_a_test(added, hides):
    cand = TEST.replace("def test_add", f"{added}\ndef test_add")
    assert bool(hiding_lines(TEST, cand)) is hides


def test_markers_are_taken_out_and_the_rest_of_the_candidate_is_kept():
    # a candidate's added xfail/skip (test data, not a skip of this test) must be removed
    cand = TEST.replace(
        "def test_add():\n", "@pytest.mark.xfail\ndef test_add():\n    pytest.skip('x')\n"
    )
    cand += "\n\ndef test_new():\n    assert 2 * 2 == 4\n"
    kept = neutralise(TEST, cand)
    assert kept is not None
    ast.parse(kept)  # still a module
    assert "xfail" not in kept and "skip" not in kept and "def test_new" in kept
    (found,) = infra_changes({"tests/test_calc.py": (TEST, cand)})
    assert found.judged == kept and "xfail" in found.why


def test_a_marker_over_several_lines_falls_back_to_the_base_file():
    cand = TEST.replace("def test_add", "@pytest.mark.xfail(\n    reason='x',\n)\ndef test_add")
    assert neutralise(TEST, cand) is None
    (found,) = infra_changes({"tests/test_calc.py": (TEST, cand)})
    assert found.judged == TEST


def test_markers_in_a_new_test_file_or_outside_tests_are_not_touched():
    # a skip marker in a file the change creates is the change's own business (test data)
    skipped = TEST.replace("def test_add", "@pytest.mark.skip\ndef test_add")
    assert infra_changes({"tests/test_gpu.py": (None, skipped)}) == []
    assert infra_changes({"calc.py": ("x = 1\n", "pytestmark = 1\n")}) == []


@pytest.mark.parametrize(
    ("path", "test"),
    [
        ("tests/test_a.py", True),
        ("test_a.py", True),
        ("pkg/a_test.py", True),
        ("tests/helpers.py", True),
        ("pkg/a.py", False),
        ("tests/data.json", False),
    ],
)
def test_test_files_by_convention(path, test):
    assert is_test_file(path) is test


def test_the_report_note_names_the_paths_and_reads_back():
    found = infra_changes({"conftest.py": (None, "x = 1\n"), "a, (b).pth": (None, "")})
    notes = infra_notes(found)
    assert flagged(notes) == ("a, (b).pth", "conftest.py")
    assert "PO's approval" in notes[0]
    assert flagged(["build: passed"]) == () and infra_notes([]) == []


@pytest.mark.parametrize(
    ("path", "tool"),
    [
        ("pytest.py", True),
        ("coverage/__main__.py", True),
        ("src/_pytest/terminal.py", True),
        ("compileall.py", True),
        ("pkg/pytest.py", False),  # not on sys.path's first entry: not what `-m pytest` finds
        ("coverage_report.py", False),
        ("coverage", False),  # a data file, not a module
    ],
)
def test_modules_named_like_the_test_tools(path, tool):
    found = infra_changes({path: (None, "print('all passed')\n")})
    assert bool(found) is tool
    assert not found or (found[0].judged is None and "test tool" in found[0].why)
