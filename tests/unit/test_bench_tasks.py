"""The benchmark's bug and change tasks: the pure parts (no network, no model, no sandbox).

The task table is checked as data (seeding applies exactly once, stories name no file, no
reserved package, enough tasks and packages); the builders on a small synthetic package; the
localisation score on synthetic diffs; the RESULT lines on synthetic arm results.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import dev_tasks  # noqa: E402
from dev_tasks import (  # noqa: E402
    DevTask,
    changed_ranges,
    function_span,
    localised,
    seed,
    trees,
)
from harness import RESERVED  # noqa: E402
from repo_tasks import KINDS, TASKS, parse_kinds  # noqa: E402

TABLE = dev_tasks.load()

# ----------------------------------------------------------------------------- the table


def test_the_set_has_enough_tasks_kinds_and_packages():
    packages = {t.package for t in TABLE} | {row[0] for row in TASKS}
    assert len(TABLE) + len(TASKS) >= 30
    assert len(packages) >= 6
    assert {t.kind for t in TABLE} == {"bug", "change"}
    assert len({t.id for t in TABLE}) == len(TABLE), "task ids must be unique"


def test_no_reserved_package_is_used():
    used = {t.package for t in TABLE} | {row[0] for row in TASKS}
    assert not used & RESERVED


def test_versions_are_pinned_exactly():
    for t in TABLE:
        assert re.fullmatch(r"\d+(\.\d+)+", t.version), t.id


@pytest.mark.parametrize("task", TABLE, ids=lambda t: t.id)
def test_a_story_names_no_file(task: DevTask):
    text = f"{task.title}\n{task.story}"
    assert not re.search(r"\w/[\w/]*\.py\b", text), "a user's report names no path"
    module = task.module.removeprefix("src/").removesuffix(".py")
    for name in (module, module.replace("/", "."), task.module.rsplit("/", 1)[-1]):
        assert name not in text, f"the story names the module the fault is in: {name}"
    assert task.tests.rsplit("/", 1)[-1].removesuffix(".py") not in text
    flat = " ".join(text.split())
    assert " ".join(task.example["expr"].split()) in flat, "the story shows the example checked"


@pytest.mark.parametrize("task", TABLE, ids=lambda t: t.id)
def test_the_judging_module_is_kept_out_of_the_fleets_view(task: DevTask):
    files = {
        task.module: "def f():\n    pass\n" + "".join(f"{a}\n" for a, _ in task.edits),
        task.tests: "def test_f():\n    pass\n",
        **{h: "" for h in task.hide},
    }
    base, original = trees(task, files)
    hidden = {dev_tasks.relocate(p) for p in (task.tests, *task.hide)}
    assert not hidden & set(base)
    assert dev_tasks.relocate(task.module) in base and "README.md" in base
    assert base[dev_tasks.relocate(task.module)] != original[dev_tasks.relocate(task.module)]


def test_every_kind_is_known():
    assert parse_kinds("bug, change") == ["bug", "change"]
    assert tuple(parse_kinds(",".join(KINDS))) == KINDS
    with pytest.raises(ValueError, match="kinds must be among"):
        parse_kinds("stub,feature")
    with pytest.raises(ValueError, match="kinds must be among"):
        parse_kinds("")


# ----------------------------------------------------------------------------- seeding

SOURCE = '''"""A module."""


def clip(value, low=0, high=255):
    """Clip value into [low, high]."""
    return low if value < low else high if value > high else value


class Box:
    @property
    def size(self):
        return 3

    def area(self, n):
        if n > 1:
            return n * n
        return 0
'''


def test_seeding_applies_each_edit_exactly_once():
    out = seed(SOURCE, (("value > high", "value >= high"), ("n * n", "n + n")))
    assert out.count("value >= high") == 1 and "n + n" in out
    assert out.replace("value >= high", "value > high").replace("n + n", "n * n") == SOURCE


def test_an_edit_found_twice_or_never_is_an_error():
    with pytest.raises(ValueError, match="4 times"):
        seed(SOURCE, (("return", "yield"),))  # "return" occurs more than once
    with pytest.raises(ValueError, match="0 times"):
        seed(SOURCE, (("value >>> high", "x"),))
    with pytest.raises(ValueError, match="0 times"):  # the second edit sees the first's result
        seed(SOURCE, (("n * n", "n + n"), ("n * n", "n - n")))


def test_every_task_edit_is_an_exact_replacement_that_changes_something():
    for t in TABLE:
        assert t.edits, t.id
        for find, replace in t.edits:
            assert find and find != replace, t.id


# ----------------------------------------------------------------------------- localisation


def test_function_span_covers_decorators_and_methods():
    lines = SOURCE.split("\n")
    lo, hi = function_span(SOURCE, "clip")
    assert lines[lo - 1].startswith("def clip") and "return low" in lines[hi - 1]
    lo, hi = function_span(SOURCE, "Box.size")
    assert lines[lo - 1].strip() == "@property" and lines[hi - 1].strip() == "return 3"
    lo, hi = function_span(SOURCE, "Box.area")
    assert lines[lo - 1].strip().startswith("def area") and lines[hi - 1].strip() == "return 0"
    with pytest.raises(LookupError):
        function_span(SOURCE, "Box.volume")


def test_an_edit_inside_the_target_is_localised():
    final = SOURCE.replace("value > high", "value >= high")
    assert localised(SOURCE, final, function_span(SOURCE, "clip"))
    assert not localised(SOURCE, final, function_span(SOURCE, "Box.area"))


def test_an_edit_elsewhere_in_the_file_is_not():
    final = SOURCE.replace('"""A module."""', '"""A module, edited."""')
    assert not localised(SOURCE, final, function_span(SOURCE, "clip"))
    assert not localised(SOURCE, None, function_span(SOURCE, "clip"))  # file deleted
    assert not localised(SOURCE, SOURCE, function_span(SOURCE, "clip"))  # nothing changed


def test_inserted_lines_count_inside_the_body_not_as_a_new_function_after_it():
    span = function_span(SOURCE, "Box.area")
    inside = SOURCE.replace(
        "        if n > 1:\n",
        "        if n < 0:\n            raise ValueError\n        if n > 1:\n",
    )
    assert localised(SOURCE, inside, span)
    appended_body = SOURCE.replace(
        "        return 0\n", "        return 0\n        # unreachable\n"
    )
    assert localised(SOURCE, appended_body, span)
    new_function = SOURCE + "\n\ndef other():\n    return 1\n"
    assert not localised(SOURCE, new_function, span)
    before = SOURCE.replace("class Box:\n", "LIMIT = 3\n\n\nclass Box:\n")
    assert not localised(SOURCE, before, function_span(SOURCE, "Box.size"))


def test_changed_ranges_are_in_base_lines():
    base = "a\nb\nc\nd\n"
    assert changed_ranges(base, "a\nB\nc\nd\n") == [(2, 2, False)]
    assert changed_ranges(base, "a\nc\nd\n") == [(2, 2, False)]  # b deleted
    assert changed_ranges(base, "a\nb\n  x\nc\nd\n") == [(3, 2, True)]  # inserted after b


# ----------------------------------------------------------------------------- RESULT lines


def test_report_prints_every_kind_the_repo_total_and_localisation():
    from bench_agents import ArmResult, report

    single = ArmResult(
        passed={"humaneval": 3, "stub": 1, "bug": 1, "change": 0},
        total={"humaneval": 4, "stub": 2, "bug": 2, "change": 2},
        tokens=100,
        located={"b1": True, "b2": False, "c1": True, "c2": True},
    )
    council = ArmResult(
        passed={"bug": 2}, total={"bug": 2}, located={"b1": True, "b2": False},
        repo_minutes=[3.0, 9.0, 5.0],
    )  # fmt: skip
    lines = report({"single": single, "council": council})
    assert "RESULT single_pass_humaneval 0.750" in lines
    assert "RESULT single_pass_stub 0.500" in lines
    assert "RESULT single_pass_bug 0.500" in lines
    assert "RESULT single_pass_change 0.000" in lines
    assert "RESULT single_pass_repo 0.333" in lines  # 2 of 6: stub, bug and change together
    assert "RESULT single_localisation_accuracy 0.750" in lines
    assert "RESULT council_pass_bug 1.000" in lines and "RESULT council_pass_repo 1.000" in lines
    assert "RESULT localisation_accuracy 0.500" in lines  # the council's when it ran
    assert "RESULT council_minutes_per_repo_task 5.00" in lines
    assert not any(ln.startswith("RESULT council_pass_stub") for ln in lines)


def test_localisation_is_recorded_from_the_judged_tree(tmp_path: Path):
    from bench_agents import BenchTask, with_localisation

    from fleet.contracts import Story

    base = SOURCE.replace("value > high", "value >= high")
    task = BenchTask(
        id="t", kind="bug", files={"pkg/m.py": base}, story=Story(id="t", title="t"),
        judge=lambda tree: (True, ""),
        extra={"module": "pkg/m.py", "span": function_span(base, "clip")},
    )  # fmt: skip
    seen: dict[str, bool] = {}
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(SOURCE)  # the fix, inside clip
    assert with_localisation(task, seen).judge(tmp_path) == (True, "")
    assert seen == {"t": True}
    (tmp_path / "pkg" / "m.py").write_text(base + "\n\ndef clip2(v):\n    return v\n")
    with_localisation(task, seen).judge(tmp_path)
    assert seen == {"t": False}


def test_a_data_file_that_is_not_utf8_keeps_its_bytes(tmp_path: Path):
    from harness import git_repo

    gbk = "select '你好';\n".encode("gbk")
    text = gbk.decode("utf-8", "surrogateescape")  # as dev_tasks.sdist_files reads it
    repo = git_repo({"tests/files/gbk.sql": text, "m.py": "x = 1\n"}, tmp_path / "r")
    assert (repo / "tests/files/gbk.sql").read_bytes() == gbk
    assert dev_tasks._tree_files(repo)["tests/files/gbk.sql"] == text


def test_an_arm_run_records_localisation_only_for_tasks_it_finished(monkeypatch, tmp_path: Path):
    import argparse
    import types

    import bench_agents
    from bench_agents import _run
    from harness import ArmResult, BenchTask, count

    from fleet.contracts import Story

    base = SOURCE.replace("value > high", "value >= high")
    task = BenchTask(
        id="t", kind="bug", files={"pkg/m.py": base}, story=Story(id="t", title="t"),
        judge=lambda tree: (True, ""),
        extra={"module": "pkg/m.py", "span": function_span(base, "clip")},
    )  # fmt: skip
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(SOURCE)

    def fixes(tasks: list[BenchTask], chat: object, args: object) -> ArmResult:
        res = ArmResult()
        count(res, tasks[0], tasks[0].judge(tmp_path)[0])
        return res

    def cut_short(tasks: list[BenchTask], chat: object, args: object) -> ArmResult:
        raise KeyboardInterrupt

    monkeypatch.setitem(bench_agents.ARMS, "fixes", fixes)
    monkeypatch.setitem(bench_agents.ARMS, "cut", cut_short)
    chat, args = types.SimpleNamespace(label=""), argparse.Namespace()
    r = _run("fixes", task, chat, args)  # type: ignore[arg-type]
    assert r.located == {"t": True} and r.passed == {"bug": 1} and len(r.repo_minutes) == 1
    with pytest.raises(KeyboardInterrupt):  # nothing returned, so nothing counted
        _run("cut", task, chat, args)  # type: ignore[arg-type]
