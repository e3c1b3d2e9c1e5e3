"""Shipped acceptance tests import the code the way the repository's own tests do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleet.evidence.acceptance import executable_tests
from fleet.evidence.imports import import_of, reviewable

CRITERIA = ["divide(6, 3) returns 2.0", "divide(1, 0) raises ZeroDivisionError"]
OPS = "def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    return a / b\n"


def _run(tree: dict[str, str], where: Path) -> subprocess.CompletedProcess[str]:
    for path, text in tree.items():
        (where / path).parent.mkdir(parents=True, exist_ok=True)
        (where / path).write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_exported_function_is_imported_from_its_package_and_the_tests_pass(tmp_path):
    tree = {"calc/__init__.py": "from calc.ops import add, divide\n", "calc/ops.py": OPS}
    shipped = reviewable(executable_tests(CRITERIA) or "", tree)
    assert "from calc import divide\n" in shipped
    assert "_find" not in shipped and "importlib" not in shipped and "rglob" not in shipped
    assert "_time_limit" in (executable_tests(CRITERIA) or "")  # the evidence run's, not shipped
    assert "_time_limit" not in shipped and "signal" not in shipped
    assert "import re\n" not in shipped  # no message to match: nothing uses it
    done = _run({**tree, "tests/test_acceptance.py": shipped}, tmp_path)
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout + done.stderr


def test_a_function_the_package_does_not_export_is_imported_from_its_module_src_layout(tmp_path):
    tree = {"src/calc/__init__.py": '"""calc"""\n', "src/calc/ops.py": OPS}
    assert import_of("divide", tree) == "from calc.ops import divide"
    shipped = reviewable(executable_tests(CRITERIA) or "", tree)
    assert "from calc.ops import divide\n" in shipped
    done = _run(
        {**tree, "tests/test_acceptance.py": shipped, "conftest.py": ""},
        tmp_path,
    )
    # a src layout is importable once src/ is on the path (the fleet's runner puts it there)
    assert "ModuleNotFoundError" in done.stdout or done.returncode == 0
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    done = _run({}, tmp_path)
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout + done.stderr


def test_messages_keep_re_and_a_top_level_module_is_imported_by_name():
    source = (
        executable_tests(['parse_int("x") raises ValueError with message "invalid literal"']) or ""
    )
    shipped = reviewable(source, {"solution.py": "def parse_int(s):\n    return int(s)\n"})
    assert "from solution import parse_int\n" in shipped and "import re\n" in shipped
    assert "parse_int('x')" in shipped or 'parse_int("x")' in shipped


def test_an_ambiguous_or_missing_function_leaves_the_lookup_in_place():
    source = executable_tests(CRITERIA) or ""
    twice = {"a.py": OPS, "b.py": OPS}
    assert import_of("divide", twice) is None and reviewable(source, twice) == source
    assert reviewable(source, {"calc/ops.py": "def add(a, b):\n    return a + b\n"}) == source
    # a test file or a hidden directory defining it does not count
    hidden = {".venv/x.py": OPS, "tests/test_y.py": OPS, "calc/ops.py": OPS}
    assert import_of("divide", hidden) == "from calc.ops import divide"
