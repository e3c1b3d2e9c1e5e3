"""Where a report's fault is: the repository's functions ranked by the evidence that points at them.

A bug report rarely names the file ("``cut_suffix('')`` returns ``'a'``"), and a small model
shown the whole repository answers it with prose or an echo. Localisation (Agentless-style,
no model call) ranks candidate functions from three kinds of evidence, strongest first:

1. **the traceback** of the reproduction test on the base commit: its frames inside the
   repository's source (test files are the symptom, not the place), the innermost first;
2. **the identifiers** the report and the reproduction test use: a function *called* there
   (``cut_suffix('')``, ``mi.take(-3, ...)``) weighs more than one merely mentioned;
   a function they point at passes part of its weight to the functions it calls (the fault may
   be one call down);
3. **words** the report shares with a function (its name, doc line and body) and with its file
   (:func:`fleet.context.repomap.rank`), a tie-breaker.

Pure: ``files`` is path -> text of the repository at the base commit.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fleet import pysource
from fleet.context import repomap

TRACE_WEIGHT = 8.0  # the innermost repository frame; each frame further out counts 0.6 as much
CALLED_WEIGHT = 4.0  # a function the report (or the reproduction test) calls
NAMED_WEIGHT = 2.0  # a function the report names without calling it
CALLEE_SHARE = 0.25  # of a pointed-at function's weight, given to each function it calls
WORDS_WEIGHT = 1.0  # the most a function's shared words add (the tie-breaker)
EVIDENCE = 0.5  # of frame/identifier weight: less, and the ranking rests on words (``confident``)

# "File "/x/pkg/mod.py", line 12, in func" (Python) and "pkg/mod.py:12: in func" /
# "pkg/mod.py:12: ValueError" (pytest); the path may be absolute or relative.
_PY_FRAME = re.compile(r'File "([^"\n]+\.py)", line (\d+)(?:, in (\w+))?')
_PYTEST_FRAME = re.compile(r"(?<![\w/.-])([\w./\\-]+\.py):(\d+):")
_CALL = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*)([A-Za-z_]\w*)\s*\(")
_NAME = re.compile(r"`([A-Za-z_][\w.]*)(?:\(\))?`|(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_BUILTINS = frozenset(dir(builtins))
# a plain word that can only be code: snake_case or camelCase ("cut_suffix", "parseColor")
_CODE_WORD = re.compile(r"(?<![\w.])([a-z]\w*_\w+|[a-z]+[A-Z]\w*)(?![\w(])")


@dataclass(frozen=True)
class Located:
    """A candidate place to edit: a function or method, its lines, its score and why."""

    path: str
    name: str  # "func" or "Class.method"
    start: int  # 1-based, decorators included
    end: int
    score: float
    why: tuple[str, ...] = ()
    evidence: float = 0.0  # the part of ``score`` from frames and identifiers (not words)

    @property
    def ref(self) -> str:
        return f"{self.path}::{self.name}"

    def as_dict(self) -> dict[str, object]:
        """The event/report form."""
        return {"path": self.path, "function": self.name, "lines": [self.start, self.end],
                "score": round(self.score, 2), "why": list(self.why)}  # fmt: skip


@dataclass
class _Func:
    path: str
    name: str
    short: str  # the bare name: what a call spells
    start: int
    end: int
    words: set[str]
    calls: set[str] = field(default_factory=set)
    score: float = 0.0  # frames, identifiers and callers: the evidence (words are added last)
    why: list[str] = field(default_factory=list)


def is_source(path: str) -> bool:
    """A Python module of the code itself, not a test, example or build script."""
    parts = path.split("/")
    name = parts[-1]
    if not name.endswith(".py") or name in ("setup.py", "conftest.py", "noxfile.py"):
        return False
    if name.startswith("test") or name.endswith("_test.py"):
        return False
    return not any(p in ("tests", "test", "testing", "docs", "examples", "benchmarks")
                   for p in parts[:-1])  # fmt: skip


def _functions(path: str, text: str) -> list[_Func]:
    try:
        tree = pysource.parse(text)
    except SyntaxError:
        return []
    lines = text.split("\n")
    out: list[_Func] = []

    def add(node: ast.FunctionDef | ast.AsyncFunctionDef, owner: str) -> None:
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or start
        body = "\n".join(lines[start - 1 : end])
        calls = {
            c.func.id if isinstance(c.func, ast.Name) else c.func.attr
            for c in ast.walk(node)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Name | ast.Attribute)
        }
        name = f"{owner}.{node.name}" if owner else node.name
        out.append(_Func(path, name, node.name, start, end, set(repomap.words(body)), calls))

    for node in tree.body:
        if isinstance(node, _DEFS):
            add(node, "")
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, _DEFS):
                    add(sub, node.name)
    return out


def frames(trace: str, paths: Collection[str]) -> list[tuple[str, int]]:
    """(repository path, line) of ``trace``'s frames that are in ``paths``, innermost first
    (tracebacks list the outermost first), each once. A frame's path may be absolute or
    relative to another directory: it is matched to the repository path it ends with."""
    found: list[tuple[int, str, int]] = []
    for rx in (_PY_FRAME, _PYTEST_FRAME):
        found += [(m.start(), m.group(1), int(m.group(2))) for m in rx.finditer(trace)]
    out: list[tuple[str, int]] = []
    for _, raw, line in sorted(found, reverse=True):
        path = _in_repo(raw.replace("\\", "/"), paths)
        if path is not None and (path, line) not in out:
            out.append((path, line))
    return out


def _in_repo(raw: str, paths: Collection[str]) -> str | None:
    if raw in paths:
        return raw
    ends = [p for p in paths if raw.endswith("/" + p)]
    return max(ends, key=len) if ends else None


def called(text: str) -> tuple[set[str], set[str]]:
    """(names called in ``text``, names mentioned as code: `name`, a dotted ``mod.name``, a
    snake_case or camelCase word), bare
    names (the last part of a dotted one), Python's built-ins left out."""
    calls = {m.group(2) for m in _CALL.finditer(text)}
    named = {m.group(1) for m in _CODE_WORD.finditer(text)}
    for m in _NAME.finditer(text):
        named.add((m.group(1) or m.group(2)).rsplit(".", 1)[-1])
    return calls - _BUILTINS, named - _BUILTINS - calls


def locate(
    files: Mapping[str, str], report: str, *, trace: str = "", test: str = "", top: int = 5
) -> list[Located]:
    """The ``top`` functions of ``files``' source most likely to hold what ``report`` describes,
    best first. ``trace``: the reproduction test's failure output on the base commit; ``test``:
    its source (what it calls is evidence too). Only source modules are candidates; a
    repository with none gives []."""
    funcs = [f for p, t in sorted(files.items()) if is_source(p) for f in _functions(p, t)]
    if not funcs:
        return []
    _from_trace(funcs, frames(trace, list(files)))
    _from_names(funcs, report, test)
    _spread(funcs)
    evidence = {id(f): f.score for f in funcs}
    _from_words(funcs, files, report)
    funcs.sort(key=lambda f: (-f.score, f.path, f.start))
    return [Located(f.path, f.name, f.start, f.end, f.score, tuple(f.why), evidence[id(f)])
            for f in funcs[:top]]  # fmt: skip


def confident(ranked: Sequence[Located]) -> bool:
    """Whether the best candidate rests on more than shared words (a frame or an identifier)."""
    return bool(ranked) and ranked[0].evidence >= EVIDENCE


def _from_trace(funcs: Sequence[_Func], where: Sequence[tuple[str, int]]) -> None:
    weight, seen = TRACE_WEIGHT, set()
    for path, line in where:
        inside = [f for f in funcs if f.path == path and f.start <= line <= f.end]
        if not inside:
            continue
        f = min(inside, key=lambda f: f.end - f.start)  # a method, not its class
        if id(f) in seen:
            continue
        seen.add(id(f))
        f.score += weight
        f.why.append(f"traceback frame {path}:{line}")
        weight *= 0.6


def _from_names(funcs: Sequence[_Func], report: str, test: str) -> None:
    """Weight for the functions ``report`` or the reproduction ``test`` call or name (a name
    both use counts once: the test repeats the report's example)."""
    calls, named = called(report)
    in_report = calls | named
    test_calls, test_named = called(test)
    calls, named = calls | test_calls, (named | test_named) - calls - test_calls
    for weight, names, verb in ((CALLED_WEIGHT, calls, "called"), (NAMED_WEIGHT, named, "named")):
        for name in names:
            hits = [f for f in funcs if f.short == name]
            where = "the report" if name in in_report else "the reproduction test"
            for f in hits:  # a name defined in several places shares its weight
                f.score += weight / len(hits)
                f.why.append(f"{verb} in {where}")


def _spread(funcs: Sequence[_Func]) -> None:
    """A pointed-at function lends part of its weight to the functions it calls."""
    by_name: dict[str, list[_Func]] = {}
    for f in funcs:
        by_name.setdefault(f.short, []).append(f)
    lent: dict[int, float] = {}
    for f in funcs:
        if f.score <= 0:
            continue
        for name in f.calls - {f.short}:
            for g in by_name.get(name, ()):
                lent[id(g)] = lent.get(id(g), 0.0) + CALLEE_SHARE * f.score / len(by_name[name])
    for g in funcs:
        if lent.get(id(g)):
            g.score += lent[id(g)]
            g.why.append("called by a function the evidence points at")


def _from_words(funcs: Sequence[_Func], files: Mapping[str, str], report: str) -> None:
    wanted = set(repomap.words(report))
    if not wanted:
        return
    ranked = repomap.rank(repomap.index({p: files[p] for p in {f.path for f in funcs}}), report)
    best = max((s for _, s in ranked), default=0.0) or 1.0
    file_score = {p: s / best for p, s in ranked}
    for f in funcs:
        share = len(wanted & f.words) / len(wanted)
        add = WORDS_WEIGHT * (0.7 * share + 0.3 * file_score.get(f.path, 0.0))
        f.score += add
        if share:
            f.why.append(f"shares {len(wanted & f.words)} words with the report")


def names(ranked: Iterable[Located]) -> list[str]:
    """``path::function`` of each candidate, best first (for events and reports)."""
    return [r.ref for r in ranked]
