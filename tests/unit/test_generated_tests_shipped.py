"""The generated tests that ship import the code: the change's tree read in memory, the test
files rewritten in the patch, and the tests as QA wrote them shipped when the import fails."""

from __future__ import annotations

import pytest

from fleet.contracts import Patch
from fleet.evidence.acceptance import executable_tests
from fleet.evidence.imports import UNPLACED, Readable, readable
from fleet.patches.diff import file_diff
from fleet.pipeline.apply import checked_readable
from fleet.pipeline.ports import Checked
from fleet.unified_diff import DiffError, apply

INIT = 'from calc.ops import add\n\n__all__ = ["add"]\n'
OPS = "def add(a, b):\n    return a + b\n"
BASE = {"src/calc/__init__.py": INIT, "src/calc/ops.py": OPS, "pyproject.toml": "[project]\n"}
NEW_OPS = OPS + "\n\ndef divide(a, b):\n    return a / b\n"
NEW_INIT = 'from calc.ops import add, divide\n\n__all__ = ["add", "divide"]\n'
SPEC = "tests/test_t1_acceptance.py"


def _patch(files: dict[str, str | None], base: dict[str, str] = BASE) -> Patch:
    diff = "".join(file_diff(p, base.get(p), t) for p, t in files.items())
    return Patch(base_commit="a" * 40, diff=diff, files=tuple(files), rationale="r")


def _change(test: str | None = None) -> Patch:
    test = test or executable_tests(["divide(6, 3) returns 2.0"]) or ""
    return _patch({"src/calc/ops.py": NEW_OPS, "src/calc/__init__.py": NEW_INIT, SPEC: test})


def test_the_tree_a_diff_makes_is_read_in_memory_edits_new_and_removed_files():
    patch = _patch({"src/calc/ops.py": NEW_OPS, "src/calc/__init__.py": None, "README.md": "hi\n"})
    tree = apply(BASE, patch.diff)
    assert tree == {
        "src/calc/ops.py": NEW_OPS,
        "pyproject.toml": "[project]\n",
        "README.md": "hi\n",
    }


def test_a_hunk_found_lower_down_still_applies_and_one_that_is_nowhere_does_not():
    top = "# header\n" * 5
    moved = {**BASE, "src/calc/ops.py": top + OPS}
    patch = _patch({"src/calc/ops.py": OPS.replace("a + b", "b + a")})  # written on BASE
    assert apply(moved, patch.diff) == {
        **moved,
        "src/calc/ops.py": top + "def add(a, b):\n    return b + a\n",
    }
    with pytest.raises(DiffError):
        apply({**BASE, "src/calc/ops.py": "x = 1\n"}, patch.diff)
    with pytest.raises(DiffError):
        apply({}, patch.diff)  # the file it edits is not there


def test_the_shipped_test_imports_the_package_src_layout_and_nothing_else_changes():
    patch = _change()
    shown = readable(patch, lambda: BASE)
    assert shown.rewritten == (SPEC,) and shown.unchanged == {} and shown.original == patch
    test = apply(BASE, shown.patch.diff)[SPEC]  # type: ignore[index]
    assert "from calc import divide\n" in test and "_find" not in test and "rglob" not in test
    assert shown.patch.files == patch.files
    before, after = apply(BASE, patch.diff), apply(BASE, shown.patch.diff)
    assert before and after and {**before, SPEC: ""} == {**after, SPEC: ""}
    assert shown.facts() == {"imports": [SPEC], "lookup": {}}


def test_a_name_the_change_does_not_place_keeps_the_lookup_and_says_why():
    test = executable_tests(["power(2, 3) returns 8"]) or ""  # the change defines no power
    shown = readable(_change(test), lambda: BASE)
    assert shown.patch == _change(test) and shown.rewritten == ()
    assert shown.unchanged == {SPEC: UNPLACED}


def test_a_change_without_generated_tests_is_left_alone_and_the_tree_not_read():
    patch = _patch({"src/calc/ops.py": NEW_OPS})

    def unread() -> dict[str, str]:
        raise AssertionError("the base tree was read for nothing")

    assert readable(patch, unread) == Readable(patch)


class _Workspace:
    keep = False

    def __init__(self, failing: dict[str, tuple[str, ...]]) -> None:
        self.failing, self.runs, self.removed = failing, [], []

    def run(self, diff: str) -> Checked:
        self.runs.append(diff)
        failing = self.failing["import" if "from calc import" in diff else "lookup"]
        return Checked(workspace=f"ws{len(self.runs)}", base_commit="b", failing=failing)

    def remove(self, ws: str) -> None:
        self.removed.append(ws)


def test_the_gate_runs_the_tests_as_they_ship():
    ws = _Workspace({"import": (), "lookup": ()})
    shown = readable(_change(), lambda: BASE)
    checked, patch, facts = checked_readable(ws, ws.run, shown)  # type: ignore[arg-type]
    assert ws.runs == [shown.patch.diff] and patch == shown.patch and checked.workspace == "ws1"
    assert facts == {"imports": [SPEC], "lookup": {}}


def test_a_rewritten_test_that_fails_ships_as_qa_wrote_it_and_the_facts_say_why():
    ws = _Workspace({"import": ("?::tests.test_t1_acceptance",), "lookup": ()})
    shown = readable(_change(), lambda: BASE)
    checked, patch, facts = checked_readable(ws, ws.run, shown)  # type: ignore[arg-type]
    assert ws.runs == [shown.patch.diff, _change().diff] and patch == _change()
    assert ws.removed == ["ws1"] and checked.workspace == "ws2"
    assert facts["imports"] == []
    assert facts["lookup"][SPEC].startswith("failed with the import: ?::tests.test_t1_acceptance")


def test_a_failing_test_elsewhere_is_the_change_s_own_failure_not_the_import_s():
    ws = _Workspace({"import": ("tests/test_old.py::test_add",), "lookup": ()})
    shown = readable(_change(), lambda: BASE)
    _, patch, facts = checked_readable(ws, ws.run, shown)  # type: ignore[arg-type]
    assert patch == shown.patch and len(ws.runs) == 1 and facts["imports"] == [SPEC]


def test_qa_s_own_examples_ship_in_the_task_s_one_file_and_it_passes(tmp_path):
    import subprocess
    import sys

    spec = executable_tests(["divide(6, 3) returns 2.0", "divide(1, 0) raises ZeroDivisionError"])
    more = executable_tests(["divide(9, 3) returns 3.0", "divide(8, 2) returns 4"]) or ""
    qa = "tests/test_t1_qa_examples.py"
    patch = _patch(
        {"src/calc/ops.py": NEW_OPS, "src/calc/__init__.py": NEW_INIT, SPEC: spec, qa: more}
    )
    shown = readable(patch, lambda: BASE)
    assert shown.rewritten == (SPEC,) and shown.merged == {qa: SPEC}
    assert shown.facts()["merged"] == {qa: SPEC} and qa not in shown.patch.files
    tree = apply(BASE, shown.patch.diff) or {}
    assert qa not in tree and "_find" not in tree[SPEC]
    assert tree[SPEC].count("from calc import divide") == 1
    for path, text in tree.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "pythonpath=src"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "4 passed" in done.stdout, done.stdout + done.stderr


def test_modules_that_would_clash_stay_two_files():
    text = executable_tests(["divide(6, 3) returns 2.0"]) or ""
    clash = text.replace("def test_divide_1", "def test_qa_divide_1")
    qa = "tests/test_t1_qa_examples.py"
    shown = readable(_patch({"src/calc/ops.py": NEW_OPS, SPEC: clash, qa: text}), lambda: BASE)
    assert shown.merged == {} and set(shown.rewritten) == {SPEC, qa}
