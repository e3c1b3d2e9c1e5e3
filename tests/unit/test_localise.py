"""Localisation (fleet/context/localise.py) on small real repositories written to disk: the
traceback comes from a real pytest run of a reproduction test, innermost repository frame first;
identifiers the report calls; a report that names no file; and the developer's code section
(fleet/context/located.py) showing the located function first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleet.context import StoryDigest
from fleet.context.localise import called, confident, frames, is_source, locate
from fleet.contracts import Story, Task
from fleet.events import Envelope, make_event
from fleet.testing.fakes import FakeClock

SHAPES = '''"""Shapes."""


def area(w, h):
    return w * h


def perimeter(w, h):
    return 2 * (w + h)
'''
TEXT = '''"""Text helpers."""


def _last(s):
    return s[-1]


def first_char(s):
    """The first character of s ("" for "")."""
    return _last(s[::-1])


def cut_suffix(s, suffix):
    """s without suffix at its end."""
    return s[: -len(suffix)] if s.endswith(suffix) else s


class Padder:
    def pad(self, s, width):
        return s.ljust(width - 1)
'''
HELPERS = 300  # helpers in pkg/text.py: too many for the module to be shown whole
OLD_TEST = "from pkg.text import cut_suffix\n\n\ndef test_cut():\n    assert cut_suffix('ab', 'b') == 'a'\n"


def _repo(root: Path) -> dict[str, str]:
    files = {
        "pkg/__init__.py": "from pkg.text import cut_suffix, first_char\n",
        "pkg/shapes.py": SHAPES,
        "pkg/text.py": TEXT,
        "tests/test_text.py": OLD_TEST,
        "README.md": "A small package of text and shape helpers.\n",
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return files


def _pytest(root: Path, test: str) -> str:
    """A real pytest run of ``test`` in ``root``: its output (the tracebacks)."""
    (root / "tests" / "test_repro.py").write_text(test)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_repro.py"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout  # the reproduction test fails on this code
    return run.stdout


def test_the_innermost_repository_frame_of_a_real_traceback_ranks_first(tmp_path):
    files = _repo(tmp_path)
    out = _pytest(tmp_path, "from pkg import first_char\n\n\ndef test_empty():\n"
                            "    assert first_char('') == ''\n")  # fmt: skip
    # the frames inside the repository, innermost first: _last, then first_char, then the test
    where = frames(out, list(files))
    assert [p for p, _ in where[:2]] == ["pkg/text.py", "pkg/text.py"]
    assert where[0][1] == 5 and where[1][1] == 10
    ranked = locate(files, "first_char of an empty string crashes", trace=out)
    # the report names first_char, but the traceback says the fault is one frame further in
    assert [r.name for r in ranked[:2]] == ["_last", "first_char"]
    assert ranked[0].path == "pkg/text.py" and (ranked[0].start, ranked[0].end) == (4, 5)
    assert any("traceback frame pkg/text.py:5" in w for w in ranked[0].why)
    assert confident(ranked)


def test_absolute_frame_paths_are_matched_to_repository_paths_and_tests_are_no_candidates(
    tmp_path,
):
    files = _repo(tmp_path)
    trace = (
        f'  File "{tmp_path}/tests/test_text.py", line 5, in test_cut\n'
        f'  File "{tmp_path}/pkg/shapes.py", line 9, in perimeter\n'
    )
    assert frames(trace, list(files)) == [("pkg/shapes.py", 9), ("tests/test_text.py", 5)]
    ranked = locate(files, "the numbers are off", trace=trace)
    assert ranked[0].name == "perimeter"
    assert all(is_source(r.path) for r in ranked)  # the test module is the symptom


def test_a_function_the_report_calls_ranks_first_though_the_report_names_no_file(tmp_path):
    files = _repo(tmp_path)
    report = (
        "Removing an empty suffix wipes the string\n"
        "I called cut_suffix('name.py', '') and got '' back; I expected 'name.py'."
    )
    ranked = locate(files, report)
    assert ranked[0].ref == "pkg/text.py::cut_suffix"
    assert "called in the report" in ranked[0].why
    assert confident(ranked)


def test_a_method_named_in_the_report_is_found_by_its_bare_name():
    calls, named = called("`Padder.pad` pads one short; e.g. p.pad('a', 3) gives 'a '. len(x)")
    assert "pad" in calls and "len" not in calls  # built-ins are nobody's fault here
    ranked = locate({"pkg/text.py": TEXT}, "p.pad('a', 3) gives 'a ' instead of 'a  '")
    assert ranked[0].name == "Padder.pad"


def test_a_report_without_identifiers_is_ranked_by_words_and_is_not_confident(tmp_path):
    files = _repo(tmp_path)
    ranked = locate(files, "The perimeter of a rectangle looks wrong to me")
    assert ranked[0].name == "perimeter"  # the words still order them
    assert not confident(ranked)  # but nothing points at it: the pack stays as it was


def test_a_repository_without_source_gives_nothing():
    assert locate({"tests/test_x.py": OLD_TEST, "README.md": "hello"}, "cut_suffix('a', '')") == []


def _digest(files: dict[str, str], report: str, repro: dict[str, object] | None) -> StoryDigest:
    clock = FakeClock()
    story = Story(id="s1", title="Empty suffix wipes the string", description=report)
    digest = StoryDigest("s1")
    digest.apply("1-0", make_event("s1", "story.created", clock=clock, payload=story))
    task = Task(id="T1", story_id="s1", role="developer", description=story.title)
    digest.apply("2-0", make_event("s1", "task.planned", clock=clock, payload=task))
    if repro is not None:
        data = {"deliberation_id": "d1", "repro": repro, "located": []}
        digest.apply(
            "3-0",
            make_event("s1", "council.suite", clock=clock, data=data, envelope=Envelope(key="d1")),
        )
    return digest


@pytest.mark.parametrize("with_trace", [False, True])
def test_the_developers_code_section_shows_the_located_function_first(
    tmp_path, builder, with_trace
):
    files = _repo(tmp_path)
    # a module too big to be shown whole: the section shows its most relevant functions
    files["pkg/text.py"] += "\n\n" + "\n\n".join(
        f"def helper_{i}(x):\n    return x + {i}\n" for i in range(HELPERS)
    )
    (tmp_path / "pkg" / "text.py").write_text(files["pkg/text.py"])
    report = "first_char('') crashes; I expected ''."
    repro = None
    if with_trace:
        out = _pytest(tmp_path, "from pkg import first_char\n\n\ndef test_empty():\n"
                                "    assert first_char('') == ''\n")  # fmt: skip
        repro = {"reproduced": True, "source": "from pkg import first_char\n", "excerpt": out}
    pack = builder.build(_digest(files, report, repro), "developer", "build", task_id="T1",
                         repo=files)  # fmt: skip
    code = next(s for s in pack.sections if s.name == "code").content
    head = code.split("\n", 1)[0]
    want = "_last" if with_trace else "first_char"
    assert f"`{want}`, where the report points" in head, code[:300]
    assert "pkg/text.py (lines" in head
    # the section is the located code alone: the rest is left to the repository map
    assert "def cut_suffix" not in code and code.count(f"def {want}(") == 1
    assert "def helper_1(" not in code
    # nor listed in the repository map after its code (a small model edits the map's entry)
    listed = next(s for s in pack.sections if s.name == "repo_map").content
    assert f"def {want}(" not in listed and "def helper_1(x)" in listed, listed[:300]
    # QA's scope is not located_only: the located code first, then the other relevant code
    qa = builder.build(_digest(files, report, repro), "qa", "build", task_id="T1", repo=files)
    code = next(s for s in qa.sections if s.name == "code").content
    assert f"`{want}`, where the report points" in code.split("\n", 1)[0]
    heads = [ln for ln in code.split("\n") if ln.startswith("### ")]
    assert any(not h.endswith("where the report points)") for h in heads), heads


def test_a_pack_whose_first_file_already_holds_the_located_function_is_unchanged(builder):
    files = {"solution.py": 'def twice(x):\n    """Return x doubled."""\n'}
    digest = _digest(files, "Implement twice: twice(3) returns 6", None)
    pack = builder.build(digest, "developer", "build", task_id="T1", repo=files)
    code = next(s for s in pack.sections if s.name == "code").content
    assert "where the report points" not in code and code.startswith("### solution.py\n")


DECORATORS = '''"""Decorator machinery."""


def decorator(deco):
    def make(*dargs, **dkw):
        def wrap(func):
            def inner(*args, **kwargs):
                return deco(lambda: func(*args, **kwargs), *dargs, **dkw)

            return inner

        return wrap

    return make
'''
FLOW = '''"""Control flow."""

from pkg.decorators import decorator


@decorator
def retry(call, tries, errors=Exception):
    for attempt in range(tries):
        try:
            return call()
        except errors:
            if attempt + 1 == tries:
                raise
'''
FIRST = """from pkg.flow import retry


def test_filter_errors():
    @retry(2, OSError, filter_errors=lambda e: "busy" in str(e))
    def read():
        raise OSError("permission denied")

    read()
"""


def test_a_first_test_that_did_not_reproduce_does_not_steer_localisation(tmp_path):
    # a change story's first test fails inside the decorator machinery (the new keyword is not
    # accepted yet), and the suite step did not take it as reproducing the story: its frames
    # would send the developers to decorators.py, where nothing is to change
    from fleet.context.located import located

    files = {"pkg/__init__.py": "", "pkg/decorators.py": DECORATORS, "pkg/flow.py": FLOW}
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "tests").mkdir()
    out = _pytest(tmp_path, FIRST)
    assert "pkg/decorators.py" in out and "unexpected keyword argument 'filter_errors'" in out
    report = "Please add a keyword argument `filter_errors` to `retry`: `retry(2, OSError, filter_errors=f)`."
    misled = locate(files, report, trace=out)
    assert misled[0].path == "pkg/decorators.py"  # the hazard
    repro = {"reproduced": False, "source": FIRST, "excerpt": out}
    ranked = located(files, report, repro)
    assert ranked and (ranked[0].path, ranked[0].name) == ("pkg/flow.py", "retry")


def test_the_developers_cut_section_leaves_the_map_as_it_is_beside_the_whole_section(
    tmp_path, builder, tok
):
    # the pack is fitted with the whole code section, then the section is cut to the located
    # function: the budget the rest took is not given to the map (the form bench_pack measured)
    from fleet.context import ContextBuilder

    files = _repo(tmp_path)
    files["pkg/text.py"] += "\n\n" + "\n\n".join(
        f"def helper_{i}(x):\n    return x + {i}\n" for i in range(HELPERS)
    )
    for i in range(200):  # more of the map than the budget left beside the whole section holds
        files[f"pkg/mod_{i}.py"] = (
            f'def tool_{i}(a, b):\n    """Tool number {i}."""\n    return a\n'
        )
    digest = _digest(files, "first_char('') crashes; I expected ''.", None)
    cut = builder.build(digest, "developer", "build", task_id="T1", repo=files)
    scopes = builder.scopes.model_copy(deep=True)
    dev = scopes.scopes["developer"]
    dev["build"] = dev["build"].model_copy(update={"located_only": False})
    whole = ContextBuilder(scopes, tok).build(
        digest, "developer", "build", task_id="T1", repo=files
    )

    def section(pack, name):
        return next(s.content for s in pack.sections if s.name == name)

    assert section(whole, "code").startswith(section(cut, "code") + "\n")
    assert "\n### pkg/mod_" in section(whole, "code") and "### pkg/mod_" not in section(cut, "code")
    assert "repo_map (shortened" in " ".join(whole.dropped)  # the budget beside the whole section
    assert section(cut, "repo_map") == section(whole, "repo_map")
    assert cut.token_count < whole.token_count <= whole.budget == cut.budget
