"""QA writes the acceptance tests first: the task's part of the evidence suite.

Executable criteria ("f(args) returns v", "f(args) raises E", :mod:`fleet.criteria`)
become tests deterministically; prose criteria go to the QA agent(s), whose test files arrive as
new files of a patch. Neither knows where a candidate will put the function, so the generated
tests find it by name in the repository (``_find``) instead of importing a guessed module. That
lookup is for judging candidates only: the tests that ship import the function as a person would
(:mod:`fleet.evidence.imports`, applied to the winner's change by :mod:`fleet.pipeline.apply`).

A generated test is kept only if its module is valid Python and the test **fails on the base
commit** (one that already passes proves nothing): :func:`build_suite` runs the draft suite on the
base through the injected ``baseline`` and prunes the tests that passed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from fleet import pysource
from fleet import unified_diff as unified
from fleet.contracts import TestOutcome
from fleet.criteria import Example, examples
from fleet.evidence.probes import MAX_PROBES, probe_calls, probe_module, signature_calls
from fleet.evidence.suite import EvidenceSuite

TESTS_DIR = "tests"  # where the suite's generated files go in the candidate's tree
FINDER = '''import importlib
import pathlib
import sys

import pytest


def _find(name):
    """The function ``name`` wherever the change defined it (a top-level name of a module)."""
    root = pathlib.Path(__file__).resolve().parents[{depth}]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        top, hidden = rel.parts[0], any(d.startswith(".") for d in rel.parts[:-1])
        if top in ("tests", "test") or rel.name.startswith("test_") or hidden:
            continue
        if f"def {{name}}(" not in path.read_text(errors="replace"):
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        found = getattr(importlib.import_module(module), name, None)
        if callable(found):
            return found
    pytest.fail(f"no function named {{name}} in the repository")
'''


EXAMPLE_SECONDS = 5
"""How long one generated example may run: a call that never returns (QA's ``change_base(10, 1)``
loops forever in every correct candidate) fails its own test instead of the whole run (the
suite's ``timeout_s`` killed it, and no candidate had any evidence: HumanEval/44 was blocked)."""

LIMIT = f'''

@pytest.fixture(autouse=True)
def _time_limit():
    """Each example may run {EXAMPLE_SECONDS} s: a call that never returns fails its own test."""
    import signal

    def _slow(*_):
        pytest.fail("the call did not return within {EXAMPLE_SECONDS} s")

    before = signal.signal(signal.SIGALRM, _slow)
    signal.setitimer(signal.ITIMER_REAL, {EXAMPLE_SECONDS})
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
'''

LAZY = '''

def _as(expected, value):
    """A lazy function's values (an iterator) as the list or tuple the example writes: one more
    than it has at most (an endless iterator is a wrong value, not a run killed for memory)."""
    if isinstance(expected, (list, tuple)) and hasattr(value, "__next__"):
        from itertools import islice

        return type(expected)(islice(value, len(expected) + 1))
    return value
'''


def _case(e: Example, n: int) -> list[str]:
    call = f"_find({e.func!r})({e.args})"
    head = ["", "", f"def test_{e.func}_{n}():", f"    # acceptance: {e.render()}"]
    if e.error:
        match = f", match=re.escape({e.message!r})" if e.message else ""
        return [*head, f"    with pytest.raises({e.error}{match}):", f"        {call}"]
    expected = e.value or "None"
    value = ast.literal_eval(expected)
    if isinstance(value, float):
        expected = f"pytest.approx({expected})"
    if isinstance(value, list | tuple):  # an iterator's values compare as the example writes them
        return [*head, f"    assert _as({expected}, {call}) == {expected}"]
    return [*head, f"    assert {call} == {expected}"]


def executable_tests(criteria: Sequence[str], *, depth: int = 1) -> str | None:
    """A test module for the executable criteria (None when there are none).

    ``depth``: directories between the repository root and the test file (``tests/x.py``: 1)."""
    cases = examples(criteria)
    if not cases:
        return None
    body: list[str] = []
    counts: dict[str, int] = {}
    for e in cases:
        counts[e.func] = counts.get(e.func, 0) + 1
        body += _case(e, counts[e.func])
    head = (
        '"""Acceptance tests from the story\'s executable criteria (the fleet\'s QA step)."""\n\n'
    )
    lazy = LAZY if any("_as(" in line for line in body) else ""
    finder = FINDER.format(depth=depth)
    return head + "import re\n" + finder + LIMIT + lazy + "\n".join(body) + "\n"


def prose(criteria: Sequence[str]) -> list[str]:
    """The criteria that are not executable (QA's model writes their tests)."""
    return [c for c in criteria if c.strip() and not examples([c])]


def new_files(diff: str) -> dict[str, str]:
    """Contents of the files a git diff creates (from /dev/null); other sections are ignored,
    and a text that is not a diff creates none."""
    try:
        files = unified.parse(diff)
    except unified.DiffError:
        return {}
    return {
        f.target: "\n".join(text for _, text in f.added) + "\n"
        for f in files
        if f.source is None and f.target is not None and f.added
    }


def names_of_tests(source: str) -> list[str] | None:
    """Names of the module's top-level test functions; None when it is not valid Python."""
    try:
        tree = pysource.parse(source)
    except SyntaxError:
        return None
    return [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
    ]


def prune(source: str, drop: set[str]) -> str:
    """``source`` without the top-level test functions named in ``drop`` (decorators included)."""
    tree = pysource.parse(source)
    lines = source.splitlines(keepends=True)
    cut: list[tuple[int, int]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in drop:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            cut.append((first - 1, node.end_lineno or node.lineno))
    for a, b in reversed(cut):
        del lines[a:b]
    return "".join(lines)


_NODE = re.compile(r"^(?P<path>[^:]+)::(?P<name>[^\[]+)")


def _qa_files(given: Mapping[str, str], taken: Sequence[str], notes: list[str]) -> dict[str, str]:
    """QA's files that are valid Python with tests and replace no existing file."""
    out: dict[str, str] = {}
    for path, source in given.items():
        names = names_of_tests(source)
        if names is None:
            notes.append(f"dropped {path}: not valid Python")
        elif not names:
            notes.append(f"dropped {path}: no test functions")
        elif path in taken:
            notes.append(f"dropped {path}: would replace an existing test file")
        else:
            out[path] = source
    return out


def _failing_on_base(
    files: dict[str, str], outcomes: Sequence[TestOutcome], notes: list[str]
) -> dict[str, str]:
    """``files`` without the tests that passed on the base (and without modules left empty)."""
    passing: dict[str, set[str]] = {}
    for t in outcomes:
        m = _NODE.match(t.test_id)
        if t.passed and m and m["path"] in files:
            passing.setdefault(m["path"], set()).add(m["name"])
    out = dict(files)
    for path, names in passing.items():
        notes.append(f"dropped from {path} (already pass on the base): {', '.join(sorted(names))}")
        out[path] = prune(out[path], names)
    return {p: src for p, src in out.items() if names_of_tests(src)}


def _passing_on_base(source: str, path: str, outcomes: Sequence[TestOutcome]) -> str | None:
    """``source`` (the module at ``path``) with only its tests that passed on the base; None
    when none did."""
    names = names_of_tests(source) or []
    passed = set()
    for t in outcomes:
        m = _NODE.match(t.test_id)
        if t.passed and m and m["path"] == path:
            passed.add(m["name"])
    if not passed & set(names):
        return None
    return prune(source, {n for n in names if n not in passed})


_ACCEPTANCE = re.compile(
    r"^def (test_\w+)\(\):\n    # acceptance: (\w+\(.*\)) (?:returns|raises) ", re.M
)


def example_calls(source: str) -> dict[str, str]:
    """test name -> the call it checks, in a module of :func:`executable_tests` (its comments)."""
    return {m[1]: m[2] for m in _ACCEPTANCE.finditer(source)}


def drop_tests(suite: EvidenceSuite, test_ids: Sequence[str]) -> EvidenceSuite:
    """``suite`` without the generated tests named in ``test_ids`` (pytest node ids; modules left
    without tests are dropped). The protected paths stay: a proposal still cannot change them."""
    drop: dict[str, set[str]] = {}
    for test_id in test_ids:
        m = _NODE.match(test_id)
        if m and m["path"] in suite.files:
            drop.setdefault(m["path"], set()).add(m["name"])
    if not drop:
        return suite
    files = {p: prune(src, drop[p]) if p in drop else src for p, src in suite.files.items()}
    return suite.model_copy(update={"files": {p: s for p, s in files.items() if names_of_tests(s)}})


def _cases(
    qa_examples: Callable[[Sequence[str]], Sequence[str]] | None,
    criteria: Sequence[str],
    notes: list[str],
) -> list[str]:
    """QA's own examples (none when there is no QA or its model failed: they are optional)."""
    if qa_examples is None:
        return []
    try:
        return list(qa_examples(criteria))
    except Exception as exc:  # noqa: BLE001 - optional evidence; the suite stands without it
        notes.append(f"QA wrote no examples: {type(exc).__name__}")
        return []


@dataclass(frozen=True, kw_only=True)
class Qa:
    """QA's writers. ``tests(prose_criteria)`` returns generated test files (path -> source);
    ``examples(criteria)`` returns QA's own "f(args) returns value" cases
    (``fleet/council/examples.py``), whose tests are advisory (they rank, never fail, a candidate).
    """

    tests: Callable[[Sequence[str]], Mapping[str, str]] | None = None
    examples: Callable[[Sequence[str]], Sequence[str]] | None = None
    keep: bool = False
    """A bug or change story: QA's examples that already pass on the base are not dropped but
    become *keep* tests (advisory, ``EvidenceSuite.keep``): what the code does today, which the
    change should leave alone unless the story asks otherwise."""


@dataclass(frozen=True, kw_only=True)
class Probes:
    """Probe inputs (observed, not tests): off when not ``enabled``; ``signatures``: heads of the
    functions the task names, whose inputs are probed besides the criteria's."""

    enabled: bool = True
    signatures: Sequence[str] = ()


def _probe_files(
    criteria: Sequence[str],
    probing: Probes,
    repo_tests: Sequence[str],
    notes: list[str],
    *,
    name: str,
) -> dict[str, str]:
    """The probe module of the task (none when it is off, has no inputs, or the repository
    has a file of that name)."""
    if not probing.enabled:
        return {}
    calls = probe_calls(criteria)
    given = {e.func for e in examples(criteria)}
    for head in probing.signatures:
        more = [c for c in signature_calls(head) if c.split("(", 1)[0] not in given]
        calls += more[: max(0, MAX_PROBES - len(calls))]
    module = probe_module(calls, FINDER.format(depth=TESTS_DIR.count("/") + 1))
    where = f"{TESTS_DIR}/test_{name}_probes.py"
    if not module or where in repo_tests:
        return {}
    notes.append(f"probes {where}: {len(calls)} inputs (observed, not tests)")
    return {where: module}


def build_suite(
    criteria: Sequence[str],
    *,
    name: str,
    repo_tests: Sequence[str],
    baseline: Callable[[EvidenceSuite], Sequence[TestOutcome]],
    qa: Qa | None = None,
    probes: Probes | None = None,
) -> tuple[EvidenceSuite, list[str]]:
    """The evidence suite of one task, and notes on what was kept or dropped and why.

    ``repo_tests``: the repository's own test files (trusted). ``baseline(suite)`` runs a suite
    on the base commit. ``qa``: QA's writers (None: none); ``probes``: None is the default probes.
    """
    qa, probes = qa or Qa(), probes or Probes()
    notes: list[str] = []
    files: dict[str, str] = {}
    depth = TESTS_DIR.count("/") + 1
    generated = executable_tests(criteria, depth=depth)
    spec = f"{TESTS_DIR}/test_{name}_acceptance.py"
    if generated:
        files[spec] = generated
    if qa.tests is not None and (wanted := prose(criteria)):
        files.update(_qa_files(qa.tests(wanted), [*repo_tests, *files], notes))
    advisory = f"{TESTS_DIR}/test_{name}_qa_examples.py"
    own = executable_tests(_cases(qa.examples, criteria, notes), depth=depth)
    if own and advisory not in repo_tests:
        files[advisory] = own.replace("story's executable criteria", "QA's own examples", 1)
    keeping = f"{TESTS_DIR}/test_{name}_keep.py"
    kept: str | None = None
    if files:
        draft = EvidenceSuite(files=files, test_paths=(TESTS_DIR,), protected=tuple(files))
        ran = baseline(draft)
        if qa.keep and advisory in files and keeping not in repo_tests:
            kept = _passing_on_base(files[advisory], advisory, ran)
        files = _failing_on_base(files, ran, notes)
    if kept is not None:
        files[keeping] = kept.replace(
            "QA's own examples", "QA's examples the base already passes", 1
        )
    for path, src in files.items():
        notes.append(f"kept {path}: {', '.join(names_of_tests(src) or [])}")
    probe_files = _probe_files(criteria, probes, repo_tests, notes, name=name)
    roots = {TESTS_DIR} if files or probe_files else set()
    roots |= {p.split("/", 1)[0] if "/" in p else p for p in repo_tests}
    suite = EvidenceSuite(
        files=files,
        test_paths=tuple(sorted(roots)) or (".",),
        # the repository's own tests too: a candidate's edits to them (weakening one, or breaking
        # it with a test of its own) are ignored when it is judged and left out when it ships
        protected=tuple(dict.fromkeys([*files, *repo_tests])),
        trusted=tuple(f"{p}::" for p in repo_tests),
        advisory=tuple(f"{p}::" for p in (advisory, keeping) if p in files),
        keep=(f"{keeping}::",) if keeping in files else (),
        probes=probe_files,
        spec=(f"{spec}::",) if spec in files else (),
    )
    return suite, notes
