"""A candidate that breaks a module the tests import makes pytest report one collection failure
(``?::tests.test_calc``) and run nothing. That entry is about that candidate alone: the others,
whose runs collected the module's tests, still pass the whole suite (fleet/evidence/agreement.py).
Judged on real pytest runs, read by the evidence runner's own junit reader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleet.evidence import agree, evidence_of, outcomes

TESTS = {
    "tests/test_calc.py": "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    "tests/test_more.py": "from pkg.calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
}


def _run(root: Path, code: str) -> tuple:
    for path, text in {"pkg/__init__.py": "", "pkg/calc.py": code, **TESTS}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=r.xml",
         "-o", "junit_family=xunit1", "tests"],
        cwd=root, capture_output=True, timeout=120,
    )  # fmt: skip
    return outcomes((root / "r.xml").read_text())


def test_one_candidates_collection_failure_does_not_fail_the_others(tmp_path):
    runs = {
        "broken": _run(tmp_path / "a", "def add(a, b:\n    return a + b\n"),
        "right": _run(tmp_path / "b", "def add(a, b):\n    return a + b\n"),
        "wrong": _run(tmp_path / "c", "def add(a, b):\n    return a - b\n"),
    }
    assert [t.test_id for t in runs["broken"]][0].startswith("?::tests.test_")  # nothing else ran
    evidence = [evidence_of(pid, tests, digest=pid) for pid, tests in runs.items()]
    found = agree(evidence, trusted=("tests/test_calc.py::", "tests/test_more.py::"))
    assert found.full == {"broken": False, "right": True, "wrong": False}
    assert found.distrusted == ()
    assert found.key("right") > found.key("wrong") > found.key("broken")
