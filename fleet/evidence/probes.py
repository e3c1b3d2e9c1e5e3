"""Probes: inputs near the criteria's examples, run on every candidate to see where they differ.

A docstring with one example or none lets wrong candidates pass the evidence suite. Two candidates
that both pass it but return different values for the same input cannot both be right, so the
council is not settled by that pass (differential testing; MBR-exec / AlphaCode's clustering
choose among candidates by their behaviour the same way).

Probes are not tests: they assert nothing. Each records what the function did on one input
(``returns <repr>``, ``raises <Type>`` or ``timeout``) as a junit property, so the sandboxed
pytest run that produces a candidate's evidence also produces its behaviour
(``Evidence.observed``). The inputs are made by code (no model, deterministic): each argument of
each example varied a little at a time, and for a function the task names that has no example,
ordinary values of its annotated parameters' types.

Pure: no git, no sandbox.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator, Mapping, Sequence

from fleet import pysource
from fleet.contracts import Evidence
from fleet.criteria import examples

MAX_PROBES = 10
PROBE_SECONDS = 1.0  # per input: a candidate that loops forever on one input still gets measured
_MAX_CALL = 200  # characters of one probe call (larger inputs are left out)
_PREFIX = "returns "

_RUNNER = '''

class _Slow(Exception):
    pass


def _alarm(*_):
    raise _Slow()


def _canon(value, depth=0):
    """A repr that is the same in every process (sets sorted, no addresses, floats rounded)."""
    if depth > 20:
        return "..."
    if isinstance(value, bool) or value is None or isinstance(value, (int, str, bytes)):
        return repr(value)
    if isinstance(value, float):
        return repr(round(value, 9))
    if isinstance(value, (set, frozenset)):
        return "{{" + ", ".join(sorted(_canon(v, depth + 1) for v in value)) + "}}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_canon(v, depth + 1) for v in value)
        return f"[{{inner}}]" if isinstance(value, list) else f"({{inner}})"
    if isinstance(value, dict):
        items = (f"{{_canon(k, depth + 1)}}: {{_canon(v, depth + 1)}}" for k, v in value.items())
        return "{{" + ", ".join(items) + "}}"
    if hasattr(value, "__next__"):
        import itertools

        return "iter" + _canon(list(itertools.islice(value, 50)), depth + 1)
    import re

    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _observe(record_property, call, thunk):
    import signal

    record_property("probe", call)
    before = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, {seconds})
    try:
        out = "returns " + _canon(thunk())[:300]
    except _Slow:
        out = "timeout"
    except BaseException as exc:  # noqa: BLE001 - a probe observes, it never fails
        out = "raises " + type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
    record_property("observed", out)
'''


def _variants(value: object) -> list[object]:
    """A few values near ``value`` of the same type (no mutation of ``value`` itself)."""
    out: list[object] = []
    if isinstance(value, bool):
        out = [not value]
    elif isinstance(value, int):
        near = [value + 1, value * 2 + 1, value - 1] if value > 0 else [value + 1, value + 3]
        out = [v for v in near if abs(v) < 10**12]
    elif isinstance(value, float):
        out = [value + 0.5, value * 2, -value if value else 1.5]
    elif isinstance(value, str):
        out = [value[::-1], value[1:], value + value[:1], value.swapcase()]
    elif isinstance(value, list | tuple):
        kind = type(value)
        items = list(value)
        out = [kind(items[::-1]), kind(items[1:]), kind(items + items[:1])]
        with contextlib.suppress(TypeError):
            out.append(kind(sorted(value)))
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            out.append(kind(v + 1 for v in value))
    elif isinstance(value, dict) and value:
        out = [dict(list(value.items())[1:])]
    return [v for v in out if v != value]


def _sized(value: object) -> bool:
    return isinstance(value, str | list | tuple)


def _calls_of(func: str, args: tuple[object, ...]) -> Iterator[str]:
    """Each argument varied in turn. When a call takes several strings or sequences, their
    lengths are kept (``xor('010', '110')``: arguments that go in pairs of equal length are
    common, and candidates that all honour the task differ on inputs that break it)."""
    paired = sum(_sized(a) for a in args) > 1
    for i, arg in enumerate(args):
        for v in _variants(arg):
            if paired and _sized(arg) and len(v) != len(arg):  # type: ignore[arg-type]
                continue
            call = f"{func}({', '.join(repr(a) for a in (*args[:i], v, *args[i + 1 :]))})"
            if len(call) <= _MAX_CALL:
                yield call


def probe_calls(criteria: Sequence[str], *, limit: int = MAX_PROBES) -> list[str]:
    """Calls near the criteria's examples (``f(1, [2])``), at most ``limit``, in a fixed order:
    one variant of each example in turn, so every example contributes."""
    given = {e.call.replace(" ", "") for e in examples(criteria)}
    streams = []
    for e in examples(criteria):
        args = e.values
        if args is not None:
            streams.append(_calls_of(e.func, args))
    out: list[str] = []
    while streams and len(out) < limit:
        for stream in list(streams):
            call = next(stream, None)
            if call is None:
                streams.remove(stream)
            elif call.replace(" ", "") not in given and call not in out and len(out) < limit:
                out.append(call)
    return out


_TYPED: dict[str, list[object]] = {
    "int": [0, 1, 2, 3, 7, 10],
    "float": [0.0, 1.5, -2.0, 3.25, 10.0, 0.5],
    "str": ["", "a", "abc", "Hello World", "aab", "xyz"],
    "bool": [True, False, True, False, True, False],
    "list[int]": [[], [1], [3, 1, 2], [1, 2, 2, 5], [-1, 0, 4], [5, 3, 8, 1, 9]],
    "list[str]": [[], ["a"], ["abc", "de"], ["x", "yy", "x"], ["Hi", "hi"], ["b", "a", "c"]],
    "list[float]": [[], [1.0], [1.5, -2.0, 3.0], [0.5, 0.5], [2.0, 1.0, 4.0], [10.0, -1.0]],
}


def _kind(annotation: ast.expr | None) -> str | None:
    if annotation is None:
        return None
    text = (
        pysource.unparse(annotation).replace("typing.", "").replace("List", "list").replace(" ", "")
    )
    text = "list[int]" if text == "list" else text
    return text if text in _TYPED else None


def signature_calls(head: str, *, limit: int = 6) -> list[str]:
    """Calls of a function that has no example, from its annotated parameters (``def f(n: int,
    xs: List[str])``): a few ordinary values of each type. None when a parameter has no
    annotation of a plain type (nothing is guessed)."""
    try:
        tree = pysource.parse(head)
    except SyntaxError:
        return []
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    if fn is None or fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs or fn.args.posonlyargs:
        return []
    params = [a for a in fn.args.args if a.arg != "self"]
    kinds = [_kind(a.annotation) for a in params]
    if not params or None in kinds:
        return []
    out: list[str] = []
    for i in range(limit):
        args = ", ".join(repr(_TYPED[k][(i + j) % 6]) for j, k in enumerate(kinds) if k)
        call = f"{fn.name}({args})"
        if call not in out:
            out.append(call)
    return out


def probe_module(calls: Sequence[str], finder: str) -> str | None:
    """A pytest module observing each call (None without calls). ``finder``: the ``_find``
    helper of the acceptance tests (the function is looked up by name, wherever it was put)."""
    if not calls:
        return None
    body = [
        '"""Probes (not tests): what the function returns on inputs near the examples."""\n',
        finder,
        _RUNNER.format(seconds=PROBE_SECONDS),
    ]
    for n, call in enumerate(calls, 1):
        name, _, rest = call.partition("(")
        body += [
            "",
            f"def test_probe_{n}(record_property):",
            f"    _observe(record_property, {call!r}, lambda: _find({name!r})({rest})",
        ]
    source = "\n".join(body) + "\n"
    ast.parse(source)  # every call is built from literals' reprs: always valid Python
    return source


# ----------------------------------------------------------------------------- behaviour


def returned(evidence: Evidence | None) -> dict[str, str]:
    """The probes on which the candidate returned a value (exceptions and timeouts left out:
    an input the function rejects may lie outside what the task asks for)."""
    if evidence is None:
        return {}
    return {k: v for k, v in evidence.observed.items() if v.startswith(_PREFIX)}


def conflicts(a: Evidence | None, b: Evidence | None) -> list[str]:
    """The probes on which both returned a value, and different values."""
    ra, rb = returned(a), returned(b)
    return [k for k in ra if k in rb and ra[k] != rb[k]]


def _outcomes(evidence: Evidence | None) -> dict[str, str]:
    """The probes on which the candidate returned a value or raised (timeouts left out)."""
    if evidence is None:
        return {}
    return {k: v for k, v in evidence.observed.items() if v != "timeout"}


def same_behaviour(a: Evidence | None, b: Evidence | None) -> bool:
    """Both returned values on some common probe and never did different things: raising where
    the other returns a value is a difference (were a raise no evidence, a candidate that
    crashed on a probe, ``NameError`` included, would agree with every other and win the
    behaviour tier). A timeout says nothing either way."""
    ra, rb = returned(a), returned(b)
    if not any(k in rb for k in ra):
        return False
    oa, ob = _outcomes(a), _outcomes(b)
    return all(oa[k] == ob[k] for k in oa if k in ob)


def witnessed(
    evidence: Mapping[str, Evidence], among: Sequence[str], before: Mapping[str, str]
) -> set[str]:
    """The candidates of ``among`` that did what the base commit did (``before``: input -> what
    the unchanged code did) on every input where the candidates do not all do the same and the
    base returned a value. The base is a witness there, never on the reported call: every
    candidate passes the reproduction test, so they all agree on it. A fix should change the
    behaviour reported, not the behaviour beside it (the base's author stands behind that)."""
    seen = {c: _outcomes(evidence.get(c)) for c in among}
    split = [
        k
        for k, v in before.items()
        if v.startswith(_PREFIX) and len({s[k] for s in seen.values() if k in s}) > 1
    ]
    return {c for c in among if split and all(seen[c].get(k) == before[k] for k in split)}


def support(
    evidence: Mapping[str, Evidence],
    among: Sequence[str],
    authors: Mapping[str, str],
    before: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """For each candidate in ``among``: how many distinct authors have a candidate in ``among``
    that behaves the same on the probes (itself included), one more when it did what the base
    commit did where the candidates differ (:func:`witnessed`). No probes: 0 for everyone."""
    if not any(returned(evidence.get(c)) for c in among):
        return dict.fromkeys(among, 0)
    kept = witnessed(evidence, among, before or {})
    out = {}
    for c in among:
        same = {
            authors.get(o, o) for o in among if same_behaviour(evidence.get(c), evidence.get(o))
        }
        out[c] = len(same | {authors.get(c, c)}) + (c in kept)
    return out


def contested(
    evidence: Mapping[str, Evidence],
    passing: Sequence[str],
    authors: Mapping[str, str],
    before: Mapping[str, str] | None = None,
) -> bool:
    """Candidates that pass the suite disagree on a probe, and no behaviour is shared by more
    than half of their authors (the base commit one more voter where it witnesses): the pass
    does not settle the question."""
    clash = any(
        conflicts(evidence.get(a), evidence.get(b)) for i, a in enumerate(passing)
        for b in passing[i + 1 :]
    )  # fmt: skip
    if not clash:
        return False
    voters = {authors.get(c, c) for c in passing}
    voters |= {"the base commit"} if witnessed(evidence, passing, before or {}) else set()
    best = max(support(evidence, passing, authors, before).values(), default=0)
    return best * 2 <= len(voters)


def differences(
    own: Evidence | None, others: Mapping[str, Evidence | None], *, limit: int = 4
) -> list[str]:
    """Lines for a prompt: where ``own`` returns something else than each other candidate."""
    out = []
    mine = returned(own)
    for who, ev in others.items():
        theirs = returned(ev)
        for k in conflicts(own, ev)[:2]:
            out.append(
                f"on {k}: {mine[k][len(_PREFIX) :]} here, {who}'s {theirs[k][len(_PREFIX) :]}"
            )
            if len(out) >= limit:
                return out
    return out
