"""A located function's docstring examples become tests: read from the base's docstrings, run
as the generated module runs them (pytest, in a repository of files), and kept only when the
base passes them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleet.evidence import EvidenceSuite
from fleet.evidence.doc_examples import PATH, Case, cases, module, module_name, passing
from fleet.evidence.suite import with_test_file

PAD = '''from itertools import chain, repeat


def pad(items, n, fill=None):
    """Pad ``items`` to at least ``n`` items.

    >>> pad([1, 2, 3], 5)
    [1, 2, 3, None, None]
    >>> fill = '?'
    >>> pad([1], 3, fill)
    [1, '?', '?']
    >>> pad([1, 2], 4, fill)
    [1, 2, '?', '?', '?']
    """  # the last example is stale: the base gives two '?'

    out = list(items)
    return out + [fill] * max(n - len(out), 0)


class Box:
    def size(self):
        """The size.

        >>> Box().size()
        1
        """
        return 1


def plain(x):
    """No examples here."""
    return x
'''

FILES = {"src/pkg/__init__.py": "", "src/pkg/pad.py": PAD}
LOCATED = [("src/pkg/pad.py", "plain"), ("src/pkg/pad.py", "pad"), ("src/pkg/pad.py", "Box.size")]


def test_the_examples_of_the_located_functions_are_read_in_order_setup_lines_left_out() -> None:
    found = cases(FILES, LOCATED)
    assert [(c.module, c.name, c.index) for c in found] == [
        ("pkg.pad", "pad", 0),
        ("pkg.pad", "pad", 2),  # example 1 (``fill = '?'``) shows nothing: it is set-up
        ("pkg.pad", "pad", 3),
        ("pkg.pad", "Box.size", 0),
    ]
    assert found[0].test == "test_pad_0" and found[-1].test == "test_box_size_0"
    # a call the report (or its test) quotes is what the report disputes: left out
    quoted = "pad([1],3,fill) gives the wrong list"
    assert [c.index for c in cases(FILES, LOCATED, quoted) if c.name == "pad"] == [0, 3]
    assert module_name("pkg/__init__.py") == "pkg" and module_name("src/a/b.py") == "a.b"


def _run(tmp_path: Path, files: dict[str, str], source: str) -> str:
    for path, text in {**files, PATH: source}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", PATH],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout


def test_the_generated_module_passes_on_the_documented_code_and_names_what_a_change_broke(
    tmp_path: Path,
) -> None:
    found = cases(FILES, LOCATED)
    out = _run(tmp_path / "base", FILES, module(found))
    assert out.count("PASSED") == 3 and "1 failed" in out  # the stale example fails on the base
    assert "pad([1, 2], 4, fill) gave [1, 2, '?', '?'] (documented: [1, 2, '?', '?', '?'])" in out
    broken = {**FILES, "src/pkg/pad.py": PAD.replace("max(n - len(out), 0)", "3")}
    out = _run(tmp_path / "changed", broken, module(found))
    assert "FAILED tests/test_fleet_doc_examples.py::test_pad_0" in out
    assert "pad([1, 2, 3], 5) gave [1, 2, 3, None, None, None]" in out
    assert "documented: [1, 2, 3, None, None]" in out
    raising = {**FILES, "src/pkg/pad.py": PAD.replace("max(n - len(out), 0)", "missing")}
    out = _run(tmp_path / "raising", raising, module(found))
    assert "pad([1, 2, 3], 5) raised NameError(\"name 'missing' is not defined\")" in out


def test_only_the_cases_the_base_passed_are_kept_as_a_trusted_test_file() -> None:
    found = [Case("m", "f", 0, "f(1)"), Case("m", "f", 1, "f(2)")]
    kept = passing(found, [f"{PATH}::test_f_1"])
    assert kept == [found[1]]
    suite = with_test_file(EvidenceSuite(test_paths=("tests",)), PATH, module(kept), trusted=True)
    assert suite.test_paths == ("tests",) and suite.trusted == (f"{PATH}::",)
    assert suite.is_protected(PATH) and "def test_f_1():" in suite.files[PATH]
    assert "def test_f_0" not in suite.files[PATH]


def test_the_generated_module_is_clean_under_ruffs_default_and_the_gates_security_rules(
    tmp_path: Path,
) -> None:
    """The module ships with the winner, and the gate counts lint findings on added lines."""
    (tmp_path / "test_fleet_doc_examples.py").write_text(module(cases(FILES, LOCATED)))
    ruff = Path(sys.executable).parent / "ruff"
    for rules in ([], ["--select", "S,B,E501,N", "--per-file-ignores", "test_*.py:S101"]):
        done = subprocess.run(
            [str(ruff), "check", "--isolated", "--no-cache", *rules, "."],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout
