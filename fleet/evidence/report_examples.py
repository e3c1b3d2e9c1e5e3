"""A bug report's own examples as a test, written by code: "`f(x)` returns `a`. I expected `b`".

Users who report a wrong result usually give the call, what it returned and what they expected.
When the report writes them as code spans, the expectation is executable as it stands:
``assert f(x) == b``. This module finds such pairs and writes the test (the suite step runs it on
the base commit and keeps it only if it fails there for the reported reason, like QA's):

- **direct**: a call span followed by "should return", "should be", "to be", "to return" or "=="
  and a literal (``f(x)`` should return ``3``; "I expected `f(x)` to be True");
- **in order**: the call spans the report says *returned* something ("`f(x)` returns `a`", also
  "gives", "gave", "yields", "is") and the literal spans of its "expected" sentences, paired in
  order when there are as many of each (one call and one expected value, or two and two);
- **raising**: a call span followed by "raises", "should raise", "to raise", "must raise" (or
  "throw") and an exception class, bare or as a span (``KeyError: 'y'``): ``with
  pytest.raises(KeyError): f(x)``. "Raises" may be what the code does now (a bug) or what it
  should do (a change): the suite step keeps the test only where it fails on the base;
- **instead of**: what follows it after a call is the expectation ("raises a TypeError instead
  of returning ``(1, 2)``", "returns None instead of raising ValueError", "gives ``2`` instead
  of ``3``");
- **stated** (a change story only, which says what the code is to do): "`f(x, new=1)` returns
  `a`" that no expectation pairs (in a bug report that is the symptom).

An expected value is a literal (``ast.literal_eval``), in order a value the repository's code
builds (``PercentRGB(red='0%', ...)``: a call under the same rules as the example's), or an
exception class, builtin or the repository's. An example
must call the repository's code (a name it defines, imported from the one module defining it at
top level or the located function's, or its top-level package: ``pkg.f(x)``) and may use only
pure builtins, builtin exception classes and the report's own pure helpers
(``report_defs.definitions``, written into the test) around it (``list``, ``range``,
``ValueError``, ...;
no ``open``, ``exec``, no dunders, no frame attributes, nothing a package imports: ``pkg.os``):
the report is untrusted text and the test runs, and may ship, as code. Anything else, or an
ambiguous report, gives no test: QA is asked instead. Pure: ``files`` is path -> text at the base
commit.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from fleet.evidence.report_defs import (
    EXCEPTIONS,
    SAFE_BUILTINS,
    SPAN,
    definitions,
    reflective,
    with_definitions,
)

_BARE = r"(?:True|False|None|-?\d[\d_.]*)"
# "`f(x)` returns `a`", ", and I get `a`", "returns False.": the verb, then the value
_RETURNED = re.compile(
    rf"^\s*,?\s*(?:and\s+)?(?:I\s+)?(?:returns?|returned|gives?|gave|gets?|got|yields?|is|produces?)"
    rf"\s*(?:$|{_BARE}\b)",
    re.I,
)
_SHOULD = re.compile(
    rf"^\s*(?:should\s+(?:return|be|give)|to\s+(?:return|be)|==)\s*(?P<bare>{_BARE})?",
    re.I,
)
# "`f(x)` raises `KeyError: 'y'`", "should raise a ValueError": the verb, then the class
_RAISING = re.compile(
    r"^\s*,?\s*(?:should\s+|must\s+|to\s+|will\s+)?(?:raises?|throws?)\s+(?:an?\s+)?"
    r"(?:(?P<bare>[A-Z]\w*)\b)?",
)
# "... raises a TypeError instead of returning `(1, 2)`", "returns None instead of raising
# ValueError", "gives `a` instead of `b`": what follows "instead of" is the expectation
_INSTEAD = re.compile(
    r"^(?:[^.;!?]|\.\d)*?\binstead\s+of\s+(?:raising\s+(?:an?\s+)?(?P<error>[A-Z]\w*)?"
    r"|(?:(?:returning|giving|being)\s+)?"
    r"(?:(?P<bare>True|False|None|-?\d[\d_]*(?:\.\d+)?)(?!\w|\.\w))?)",
)
_ERROR_SPAN = re.compile(r"^(?P<name>[A-Z]\w*)\s*(?::|$)")
RAISES = "raises "  # an expected value that is an exception: "raises KeyError"
_CLASS = re.compile(r"[A-Z]\w*(?:Error|Exception|Warning)")
_EXPECTED = re.compile(r"\bexpect(?:ed|s)?\b", re.I)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n\s*\n")
PATH = "tests/test_report_example.py"
_BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class _Span:
    text: str
    start: int
    end: int
    kind: str  # "call", "literal" or "other"


def _kind(text: str) -> str:
    try:
        ast.literal_eval(text)
        return "literal"
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return "other"
    return "call" if any(isinstance(n, ast.Call) for n in ast.walk(tree)) else "other"


def _spans(report: str) -> list[_Span]:
    out = []
    for m in SPAN.finditer(report):
        text = (m.group(1) or m.group(2) or "").strip()
        out.append(_Span(text, m.start(), m.end(), _kind(text)))
    return out


def _raised(after: str, nxt: _Span | None) -> str | None:
    """The exception class the text after a call says it raises (or should), if any: a builtin
    one, or a name that reads like one (``IDNAError``: the repository must define it)."""
    m = _RAISING.match(after)
    if m is None:
        return None
    name = m.group("bare")
    if name is None and nxt is not None and not after[m.end() :].strip():
        found = _ERROR_SPAN.match(nxt.text)
        name = found.group("name") if found else None
    return name if name and (name in EXCEPTIONS or _CLASS.fullmatch(name)) else None


def _instead(after: str, nxt: _Span | None) -> str | None:
    """The expectation "instead of ..." gives after a call, if any: a literal, or
    "raises <class>"."""
    m = _INSTEAD.match(after)
    if m is None:
        return None
    if m.group("bare"):
        return m.group("bare")
    rest = after[m.end() :].strip()
    if "raising" in m.group(0):
        error = _raised(f"raises {m.group('error') or ''}", None if rest else nxt)
        return RAISES + error if error else None
    return nxt.text if nxt is not None and nxt.kind == "literal" and not rest else None


def _told(after: str, nxt: _Span | None) -> tuple[bool, str | None]:
    """Whether the text after a call says what the call should do, and what (None: not as a
    value this module can assert): "instead of `b`", "raises X", "should return `b`"."""
    if value := _instead(after, nxt):
        return True, value
    if error := _raised(after, nxt):
        return True, RAISES + error
    if m := _SHOULD.match(after):
        if m.group("bare"):
            return True, m.group("bare")
        literal = nxt is not None and nxt.kind == "literal" and not after[m.end() :].strip()
        return True, nxt.text if literal and nxt is not None else None
    return False, None


def examples(report: str, *, stated: bool = False) -> list[tuple[str, str]]:
    """The report's (call, expected literal) pairs, as written in its code spans (a call said to
    raise: (call, "raises <class>")); [] when the report gives none or the pairing is
    ambiguous. ``stated`` (a change story, which says what the code is to do): also each
    "`f(x)` returns `a`" no expectation pairs, as (f(x), a)."""
    spans = _spans(report)
    direct: list[tuple[str, str]] = []
    said: list[tuple[str, str]] = []  # "`f(x)` returns `a`"
    observed: list[str] = []
    expected: list[_Span] = []

    def around(i: int) -> tuple[str, _Span | None]:  # the text after span i, and the next span
        nxt = spans[i + 1] if i + 1 < len(spans) else None
        return report[spans[i].end : nxt.start if nxt else len(report)], nxt

    for i, s in enumerate(spans):
        after, nxt = around(i)
        told, value = _told(after, nxt) if s.kind == "call" else (False, None)
        if told:
            direct += [(s.text, value)] if value is not None else []
            continue
        if s.kind == "call" and (m := _RETURNED.match(after)):
            value = None
            if nxt is not None and nxt.kind == "literal" and not after[m.end() :].strip():
                said.append((s.text, nxt.text))
                value = _instead(*around(i + 1))  # "returns `a` instead of `b`"
            if value is not None:
                direct.append((s.text, value))
            else:
                observed.append(s.text)
        elif s.kind in ("literal", "call") and _in_expected_sentence(report, s.start):
            expected.append(s)
    used = {c for c, _ in direct}
    observed = [c for c in observed if c not in used]
    found = [*direct, *_paired(observed, expected)]
    if stated:
        used |= {c for c, _ in found}
        found += [(c, v) for c, v in said if c not in used]
    return list(dict.fromkeys(found))


def _paired(observed: list[str], expected: list[_Span]) -> list[tuple[str, str]]:
    """The observed calls and the expected values in order, when there are as many of each: the
    literals, else the literals and the values built by a call (``PercentRGB(red='0%')``) of
    something other than the observed calls' functions (``I expected `f('a-')` to raise``
    names the call, not a value) and than a builtin (``like `str.removesuffix('')` does``)."""
    literals = [s.text for s in expected if s.kind == "literal"]
    if len(literals) != len(observed):
        subjects = {_callee(c) for c in observed}
        literals = [
            s.text
            for s in expected
            if s.kind == "literal"
            or (_callee(s.text) not in subjects and _root(s.text) not in _BUILTIN_NAMES)
        ]
    return list(zip(observed, literals, strict=True)) if len(literals) == len(observed) else []


def _callee(text: str) -> str:
    """The name of the function an expression span calls outermost: ``m.f(x)`` -> ``f``."""
    node = ast.parse(text, mode="eval").body
    func = node.func if isinstance(node, ast.Call) else None
    return (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )


def _root(text: str) -> str:
    """The first name of the callee's dotted path: ``str.removesuffix('')`` -> ``str``."""
    node = ast.parse(text, mode="eval").body
    func = node.func if isinstance(node, ast.Call) else node
    while isinstance(func, ast.Attribute | ast.Call):
        func = func.value if isinstance(func, ast.Attribute) else func.func
    return func.id if isinstance(func, ast.Name) else ""


def _in_expected_sentence(report: str, at: int) -> bool:
    """Whether position ``at`` follows an "expected" in the same sentence."""
    start = max((m.end() for m in _SENTENCE_END.finditer(report, 0, at)), default=0)
    return bool(_EXPECTED.search(report, start, at))


def _module(path: str) -> str:
    return path.removeprefix("src/").removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _defined(files: Mapping[str, str]) -> tuple[dict[str, list[str]], set[str], set[str]]:
    """Top-level function/class names -> the modules defining them; the top-level packages; every
    module's dotted path and its packages' (``pkg.sub.mod``, ``pkg.sub``, ``pkg``)."""
    defs: dict[str, list[str]] = {}
    packages: set[str] = set()
    modules: set[str] = set()
    for path, text in files.items():
        name = path.rsplit("/", 1)[-1]
        if not path.endswith(".py") or name.startswith("test") or name.endswith("_test.py"):
            continue
        parts = path.removeprefix("src/").split("/")
        if parts[0] not in ("tests", "test", "docs", "setup.py", "conftest.py", "noxfile.py") and (
            len(parts) == 1 or parts[-1] == "__init__.py"
        ):
            packages.add(parts[0].removesuffix(".py"))
        dotted = _module(path).split(".")
        modules.update(".".join(dotted[: n + 1]) for n in range(len(dotted)))
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defs.setdefault(node.name, []).append(_module(path))
    return defs, packages, modules


def repository_names(files: Mapping[str, str]) -> frozenset[str]:
    """Every top-level function and class name of ``files``' non-test modules (not their
    packages: an attribute of a package may be anything it imports, ``pkg.os``)."""
    return frozenset(_defined(files)[0])


def import_table(files: Mapping[str, str]) -> dict[str, str]:
    """Name -> its import line, for the names of ``files`` that can only mean one thing: a
    top-level function or class one non-test module defines, a top-level package."""
    defs, packages, _ = _defined(files)
    table = {name: f"import {name}" for name in packages}
    table.update(
        {n: f"from {where[0]} import {n}" for n, where in defs.items() if len(set(where)) == 1}
    )
    return table


def _past_the_code(tree: ast.AST, defs: Mapping[str, list[str]], modules: set[str]) -> bool:
    """Whether an attribute chain on one of the repository's packages reaches past its code: each
    step must be one of its modules until a function or class it defines (``pkg.text.cut``,
    ``pkg.cut``, ``pkg.Cart.total``), never another name the module holds (``pkg.text.os``)."""
    for node in ast.walk(tree):
        chain: list[str] = []
        root = node
        while isinstance(root, ast.Attribute):
            chain.insert(0, root.attr)
            root = root.value
        if not chain or not isinstance(root, ast.Name) or root.id not in modules:
            continue
        path = root.id
        for step in chain:
            if step in defs:
                break
            path = f"{path}.{step}"
            if path not in modules:
                return True
    return False


def _imports(
    call: str,
    defined: tuple[dict[str, list[str]], set[str], set[str]],
    located: Sequence[tuple[str, str]],
    given: Collection[str] = (),
) -> list[str] | None:
    """The import lines ``call`` needs, or None when one of its names cannot be resolved, it
    names nothing of the repository, or it reaches for the interpreter's insides
    (``__import__('os')``, a generator's ``gi_frame``: ``report_defs.reflective``) or for what a
    package imports (``pkg.os.system``); the report is untrusted text, and only the repository's
    code is what an example may call. ``given``: names the test defines itself (the report's pure
    definitions, ``report_defs.definitions``)."""
    defs, packages, modules = defined
    preferred = {name.split(".", 1)[0]: _module(path) for path, name in located}
    lines: list[str] = []
    tree = ast.parse(call, mode="eval")
    if reflective(tree) or _past_the_code(tree, defs, modules):
        return None
    names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    bound = {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in _args(n.args)}
    bound |= set(given)
    bound |= {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    if names - bound - set(defs) - packages - SAFE_BUILTINS - EXCEPTIONS:
        return None  # open(), exec(), a name nobody defines: not an example of this code
    for name in sorted(names - bound - SAFE_BUILTINS - EXCEPTIONS):
        where = defs.get(name, [])
        if name in preferred and preferred[name] in where:
            lines.append(f"from {preferred[name]} import {name}")
        elif len(set(where)) == 1:
            lines.append(f"from {where[0]} import {name}")
        elif name in packages:
            lines.append(f"import {name}")
        else:
            return None
    return lines or None  # builtins alone are not the repository's code


def _args(a: ast.arguments) -> list[ast.arg]:
    return [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]


def report_test(
    files: Mapping[str, str],
    report: str,
    located: Sequence[tuple[str, str]] = (),
    *,
    kind: str = "bug",
) -> tuple[str, str] | None:
    """(path, source) of a pytest module asserting each of the report's examples, one test each;
    None when the report has none this module can write. ``located``: (path, function) pairs,
    best first, that decide between modules defining the same name; ``kind``: the story's (a
    change story's "`f(x)` returns `a`" is what it asks for: :func:`examples`' ``stated``)."""
    tests: list[str] = []
    imports: list[str] = []
    defined = _defined(files)
    # "define `def always_fails(): raise ValueError('down')`": the report's pure helpers
    helpers = definitions(report, frozenset(defined[0]))
    for call, value in examples(report, stated=kind == "change"):
        needed = _imports(call, defined, located, helpers)
        raises = value.startswith(RAISES)
        error = value.removeprefix(RAISES)
        built = not raises and _kind(value) != "literal"  # ``PercentRGB(red='0%', ...)``
        if needed is not None and (built or (raises and error not in EXCEPTIONS)):
            more = _imports(error, defined, located)  # the repository's class: ``IDNAError``
            needed = None if more is None else [*needed, *more]
        if needed is None:
            continue
        imports += [i for i in needed if i not in imports]
        op = "is" if value in ("True", "False", "None") else "=="
        body = (
            f"    with pytest.raises({error}):\n        {call}\n"
            if raises
            else f"    assert {call} {op} {value}\n"
        )
        if raises and "import pytest" not in imports:
            imports.append("import pytest")
        tests.append(f"def test_report_example_{len(tests) + 1}():\n{body}")
    if not tests:
        return None
    path = PATH
    n = 1
    while path in files:
        n += 1
        path = PATH.replace(".py", f"_{n}.py")
    head = "\n".join(sorted(imports, key=lambda i: (i != "import pytest", i)))
    return path, with_definitions(f"{head}\n\n\n" + "\n\n".join(tests), helpers)[0]
