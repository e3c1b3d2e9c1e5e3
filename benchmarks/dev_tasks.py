"""Bug and change tasks on real registry packages (for bench_agents.py; data in dev_tasks.yaml).

A task takes one function of a pinned package's source distribution and alters it by precise
textual edits of the original module (each must match exactly once):

- ``bug``: the edits seed a fault (SWE-smith style: an operator flipped, a boundary moved, a case
  dropped, a default changed); the story is a user's bug report with one failing example.
- ``change``: the edits take out a parameter or behaviour the package really has; the story asks
  for it as a new feature.

The fleet gets the package's source and its test modules *except* the one that judges the task
(and any in ``hide``): a real report comes without the test that catches it. The judge runs that
original module (``-k select``) over the fleet's final tree in bubblewrap. ``check`` verifies each
task: the judge passes on the original code and fails on the altered one, and the visible tests
pass on the altered one (the fault slipped through the tests the fleet can see).

Localisation: ``target`` names the function (``name`` or ``Class.method``) the fault or feature
is in; :func:`localised` says whether a final tree's change touches its line span in the base.
"""

from __future__ import annotations

import ast
import difflib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from harness import CACHE, BenchTask, git_repo, sandbox_python, sdist

DATA = Path(__file__).with_name("dev_tasks.yaml")
KINDS = ("bug", "change")


@dataclass(frozen=True)
class DevTask:
    """One bug or change task, as dev_tasks.yaml writes it."""

    id: str
    kind: str
    package: str
    version: str
    root: str  # the package's directory in the sdist ("toolz", "src/webcolors")
    module: str  # the altered module, a path in the sdist
    target: str  # the function the fault or feature is in: "name" or "Class.method"
    tests: str  # the judging test module, a path in the sdist
    select: str  # pytest -k expression picking the tests of that function
    edits: tuple[tuple[str, str], ...]  # (original text, altered text), each exactly once
    title: str
    story: str
    example: dict[str, str]  # the story's failing example: {"setup": imports, "expr": call}
    hide: tuple[str, ...] = ()  # more test modules kept out of the fleet's view


def load(path: Path = DATA) -> list[DevTask]:
    """The task table (id order as written)."""
    rows = yaml.safe_load(path.read_text())["tasks"]
    out = []
    for row in rows:
        edits = tuple((e["find"], e["replace"]) for e in row.pop("edits"))
        hide = tuple(row.pop("hide", ()))
        out.append(DevTask(**row, edits=edits, hide=hide))
    return out


def seed(source: str, edits: tuple[tuple[str, str], ...], *, where: str = "") -> str:
    """``source`` with each edit applied; an edit whose text is not there exactly once is an
    error (a task silently built on a changed upstream would judge nothing)."""
    for find, replace in edits:
        count = source.count(find)
        if count != 1:
            raise ValueError(f"{where}: edit text found {count} times, not once: {find[:60]!r}")
        source = source.replace(find, replace)
    return source


def sdist_files(name: str, version: str) -> dict[str, str]:
    """Path -> text of every file of the package's sdist (tests' data files too). A file that is
    not UTF-8 (a test's GBK-encoded sample) keeps its bytes as surrogate escapes, which
    ``harness.git_repo`` and ``sandbox_python`` write back unchanged."""
    sdist(name, version)  # fetches and caches it (and refuses a reserved package)
    out: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO((CACHE / f"{name}-{version}.tar.gz").read_bytes())) as t:
        for member in t.getmembers():
            if not member.isfile() or "/" not in member.name:
                continue
            data = t.extractfile(member).read()  # type: ignore[union-attr]
            out[member.name.split("/", 1)[1]] = data.decode("utf-8", "surrogateescape")
    return out


def relocate(path: str) -> str:
    """A path in the fleet's tree: a ``src/`` layout flattened (the tests import the package
    from the working directory, as a flat checkout does)."""
    return path.removeprefix("src/")


def trees(task: DevTask, files: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the fleet's base tree, the same tree with the original module): the package's source,
    its visible tests (every test file but the judging one and ``hide``), a README."""
    hidden = {task.tests, *task.hide}
    top = task.root.rsplit("/", 1)[0] + "/" if "/" in task.root else ""
    base: dict[str, str] = {}
    for path, text in files.items():
        in_package = path.startswith(f"{task.root}/")
        # test modules live in the package (toolz/tests) or beside it (tests/)
        in_tests = path.startswith(f"{top}tests/") or path.startswith("tests/")
        if (in_package or in_tests) and path not in hidden:
            base[relocate(path)] = text
    module = relocate(task.module)
    original = base[module]
    base[module] = seed(original, task.edits, where=task.id)
    base["README.md"] = f"# {task.package} {task.version}\n"
    return base, {**base, module: original}


def visible_tests(tree: dict[str, str]) -> list[str]:
    """The test modules pytest collects in the fleet's tree."""
    return sorted(p for p in tree if p.endswith(".py") and p.rsplit("/", 1)[-1].startswith("test_"))


# ----------------------------------------------------------------------------- localisation


def function_span(source: str, qualname: str) -> tuple[int, int]:
    """First and last line (1-based, decorators included) of ``qualname`` in ``source``."""
    nodes: list[Any] = ast.parse(source).body
    node: Any = None
    for part in qualname.split("."):
        defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        node = next((n for n in nodes if isinstance(n, defs) and n.name == part), None)
        if node is None:
            raise LookupError(f"{qualname} is not defined at the top of the module")
        nodes = node.body
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, node.end_lineno


def changed_ranges(base: str, final: str) -> list[tuple[int, int, bool]]:
    """Where ``final`` differs from ``base``, in base lines: (first, last, indented) per hunk,
    1-based inclusive. A pure insertion after base line p is (p + 1, p), its ``indented`` telling
    whether the inserted code starts indented (a body line, not a new top-level definition)."""
    a, b = base.splitlines(), final.splitlines()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        code = [ln for ln in b[j1:j2] if ln.strip()]
        out.append((i1 + 1, i2, bool(code) and code[0][:1] in " \t"))
    return out


def localised(base: str, final: str | None, span: tuple[int, int]) -> bool:
    """Whether the change from ``base`` to ``final`` edits lines of the function at ``span``
    (None: the file is gone, which edits nothing in it)."""
    if final is None:
        return False
    first, last = span
    for lo, hi, indented in changed_ranges(base, final):
        if lo <= hi and lo <= last and hi >= first:
            return True  # replaced or deleted lines inside the span
        # inserted after base line hi: inside the body, or indented code right after its end
        if lo > hi and (first <= hi < last or (hi == last and indented)):
            return True
    return False


# ----------------------------------------------------------------------------- bench plumbing


def _tree_files(tree: Path) -> dict[str, str]:
    """Every file of a final tree (the tests' data files too, bytes kept as in
    :func:`sdist_files`), git's and the fleet's own directories left out."""
    return {
        str(p.relative_to(tree)): p.read_bytes().decode("utf-8", "surrogateescape")
        for p in tree.rglob("*")
        if p.is_file() and ".git" not in p.parts and ".fleet" not in p.parts
    }


def judge_of(task: DevTask, original_test: str) -> Any:
    """Final tree -> (the package's own tests of the function pass, detail)."""
    where = relocate(task.tests)

    def judge(tree: Path) -> tuple[bool, str]:
        files = {**_tree_files(tree), where: original_test}  # never the fleet's version
        argv = ["-m", "pytest", "-q", "-p", "no:cacheprovider", where, "-k", task.select]
        result = sandbox_python(files, argv, timeout_s=120)
        ok = result.status == "passed" and result.exit_code == 0
        return ok, "" if ok else result.stdout[-300:]

    return judge


def bench_task(task: DevTask) -> Any:
    """The ``BenchTask`` of ``task``: the base tree, the story (no criteria: a report names
    none), the judge; ``extra`` keeps what localisation and the sanity check need."""
    from fleet.contracts import Story

    files = sdist_files(task.package, task.version)
    base, original = trees(task, files)
    module = relocate(task.module)
    story = Story(id=task.id, title=task.title, description=task.story.strip())
    extra = {
        "module": module,
        "original": original[module],
        "target": task.target,
        "span": function_span(base[module], task.target),
        "visible": visible_tests(base),
        "example": task.example,
    }
    return BenchTask(id=task.id, kind=task.kind, files=base, story=story,
                     judge=judge_of(task, files[task.tests]), extra=extra)  # fmt: skip


def check(bench: Any, root: Path) -> list[str]:
    """What is wrong with one task (empty: nothing): the judge must pass on the original and
    fail on the base, and the visible tests must pass on the base."""
    fixed = git_repo(fixed_files(bench), root / "o")
    problems = []
    shown = {name: _example(files, bench.extra["example"]) for name, files in
             (("original", fixed_files(bench)), ("base", bench.files))}  # fmt: skip
    if shown["original"] == shown["base"]:
        problems.append(f"the story's example shows no difference: {shown['base']}")
    ok, why = bench.judge(fixed)
    if not ok:
        problems.append(f"judge fails on the original: {why[-200:]}")
    if bench.judge(git_repo(bench.files, root / "b"))[0]:
        problems.append("judge passes on the altered code (it judges nothing)")
    argv = ["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *bench.extra["visible"]]
    seen = sandbox_python(bench.files, argv, timeout_s=300)
    if seen.exit_code != 0:
        problems.append(f"visible tests fail on the base: {seen.stdout[-300:]}")
    return problems


def fixed_files(bench: Any) -> dict[str, str]:
    """The base tree with the original module back."""
    return {**bench.files, bench.extra["module"]: bench.extra["original"]}


_EXAMPLE = """
{setup}
try:
    shown = repr({expr})
except Exception as exc:  # the report's "what happened" may be an error
    shown = type(exc).__name__
print("SHOWN " + shown)
"""


def _example(files: dict[str, str], example: dict[str, str]) -> str:
    """What the story's example evaluates to on ``files`` (its repr, or the error's name)."""
    result = sandbox_python(files, ["-c", _EXAMPLE.format(**example)], timeout_s=60)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("SHOWN ")]
    return lines[-1][6:] if lines else f"no result: {result.stderr[-200:]}"
