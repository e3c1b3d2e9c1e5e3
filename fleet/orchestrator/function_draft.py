"""The developer's model writes one function as two grammar-bounded fields.

``{"returns": "<expression>", "raise_if": ["<condition>", ...]}``: one condition per
"raises" criterion, both restricted by a ``pattern`` that llama.cpp compiles into its
grammar (one line, Python expression characters only). Few-shot turns show the format.
The answer is then checked with :mod:`ast` (it must parse and use only the parameters
and a few safe builtins) and assembled into a function by code.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from fleet.contracts import ChatMessage
from fleet.errors import InvalidModelOutput
from fleet.orchestrator.acceptance import Example, parse
from fleet.orchestrator.pysource import param_names
from fleet.ports import ChatModel
from fleet.structured import structured

# One line of Python expression characters; no '"' or '\\' (they would need JSON escapes).
EXPR = r"^[A-Za-z0-9_(\[\-'][A-Za-z0-9_ .,+\-*/%()<>=!'\[\]:]{0,79}$"
SAFE = frozenset(
    {
        "abs",
        "all",
        "any",
        "bool",
        "dict",
        "divmod",
        "enumerate",
        "float",
        "int",
        "len",
        "list",
        "map",
        "max",
        "min",
        "pow",
        "range",
        "reversed",
        "round",
        "set",
        "sorted",
        "str",
        "sum",
        "tuple",
        "zip",
        "True",
        "False",
        "None",
    }
)
SOURCE_CHARS = 1_500
TRIES = 4


@dataclass(frozen=True)
class Spec:
    """What to write: ``def func(params)returns`` in ``module`` satisfying ``examples``."""

    func: str
    params: str
    returns: str
    examples: tuple[Example, ...]
    module: str
    source: str

    @property
    def raising(self) -> list[Example]:
        """The distinct "raises" examples, each needing its own condition."""
        seen: dict[tuple[str | None, str | None], Example] = {}
        for e in self.examples:
            if e.error:
                seen.setdefault((e.error, e.message), e)
        return list(seen.values())


def _terms(params: Sequence[str]) -> tuple[str, str]:
    """(any term, a term on a parameter) as regexes."""
    p = "(" + "|".join(params) + ")"
    on_param = (
        rf"-?({p}|(len|abs|int|float|str|sum|min|max|sorted)\({p}\)|{p}\[-?[0-9]\]|{p}\.[a-z]+\(\))"
    )
    literal = r"-?([0-9]+(\.[0-9]+)?|'[a-z ]{0,20}')"
    if not params:
        return literal, literal
    return rf"({on_param}|{literal})", on_param


def patterns(params: Sequence[str]) -> tuple[str, str]:
    """Regexes for the returned expression and a raise condition over ``params``: a few
    terms (parameter, number, short string, len/abs/int/float/str of a parameter, an index,
    a no-argument method) joined by arithmetic, optionally compared. Both start with a
    parameter: a constant is never what a function with examples returns."""
    term, first = _terms(params)
    op = r" (\+|-|\*|/|//|%|\*\*) "
    cmp = r" (==|!=|<|>|<=|>=) "
    returns = rf"^{first}({op}{term}){{0,3}}({cmp}{term}({op}{term}){{0,2}})?$"
    condition = rf"^{first}({op}{term}){{0,2}}{cmp}{term}$"
    return returns, condition


def _args(example: Example) -> tuple[object, ...]:
    value = ast.literal_eval(f"({example.args},)") if example.args.strip() else ()
    return value if isinstance(value, tuple) else ()


def _special(name: str, value: object) -> str | None:
    """The guard a boundary value suggests: zero, negative, empty, None."""
    if value is None:
        return f"{name} is None"
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return f"{name} == 0" if value == 0 else f"{name} < 0" if value < 0 else None
    if isinstance(value, str | list | tuple | dict) and not value:
        return f"len({name}) == 0"
    return None


def _holds(guard: str, value: object) -> bool:
    # Evaluated by code on the PO's literal values only (never on model text).
    try:
        if guard.endswith(" is None"):
            return value is None
        if guard.startswith("len("):
            return len(value) == 0  # type: ignore[arg-type]
        if guard.endswith(" == 0"):
            return value == 0
        return bool(value < 0)  # type: ignore[operator]
    except TypeError:
        return False


def guards(spec: Spec, names: Sequence[str]) -> tuple[str, ...]:
    """Boundary guards consistent with the examples: true for a raising call's argument,
    false for that argument in every returning call. Offered to the model as an ``enum``."""
    calls = [(e, _args(e)) for e in spec.examples]
    returning = [a for e, a in calls if not e.error]
    found: list[str] = []
    for example, args in calls:
        if not example.error:
            continue
        for name, value in zip(names, args, strict=False):
            guard = _special(name, value)
            i = list(names).index(name)
            if guard and all(len(a) > i and not _holds(guard, a[i]) for a in returning):
                found.append(guard)
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=64)
def draft_schema(
    params: tuple[str, ...], conditions: int, choices: tuple[str, ...] = ()
) -> type[BaseModel]:
    """``returns`` plus exactly ``conditions`` ``raise_if`` entries, grammar-bounded over
    ``params``; a condition is one of ``choices`` when there are any."""
    returns, condition = patterns(params)
    fields: dict[str, Any] = {
        "returns": (
            str,
            Field(
                pattern=returns, max_length=80, description="the expression the function returns"
            ),
        ),
    }
    if conditions:
        cond: Any = (
            Literal[choices] if choices else Annotated[str, Field(pattern=condition, max_length=80)]
        )
        fields["raise_if"] = (
            list[cond],
            Field(
                min_length=conditions,
                max_length=conditions,
                description="per raises line, the condition that raises",
            ),
        )
    return create_model(
        f"FunctionDraft{conditions}", __config__=ConfigDict(extra="forbid"), **fields
    )


def request(spec: Spec) -> str:
    """The user turn for ``spec`` (few-shot turns use the same layout)."""
    lines = [
        f"Module {spec.module}:",
        spec.source.strip()[:SOURCE_CHARS],
        "",
        f"Write: def {spec.func}({spec.params}){spec.returns}",
        "Examples:",
        *(e.render() for e in spec.examples),
    ]
    return "\n".join(lines)


def _shot(
    module: str, source: str, header: str, criteria: Sequence[str], answer: str
) -> list[ChatMessage]:
    name, rest = header.split("(", 1)
    params, _, returns = rest.rpartition(")")
    cases = tuple(e for e in (parse(c) for c in criteria) if e)
    spec = Spec(
        func=name, params=params, returns=returns, examples=cases, module=module, source=source
    )
    return [
        ChatMessage(role="user", content=request(spec)),
        ChatMessage(role="assistant", content=answer),
    ]


SHAPES = '''def area(w: float, h: float) -> float:
    """Return w * h."""
    return w * h
'''
LISTS = '''def last(items: list) -> object:
    """Return the last item."""
    return items[-1]
'''
SHOTS: tuple[ChatMessage, ...] = (
    *_shot(
        "shapes.py",
        SHAPES,
        "square(x: float) -> float",
        ["square(3) returns 9", "square(-2) returns 4"],
        '{"returns": "x * x"}',
    ),
    *_shot(
        "lists.py",
        LISTS,
        "first(items: list) -> object",
        ["first([4, 5]) returns 4", "first([]) raises IndexError with message 'empty'"],
        '{"returns": "items[0]", "raise_if": ["len(items) == 0"]}',
    ),
    *_shot(
        "shapes.py",
        SHAPES,
        "root(x: float) -> float",
        ["root(9) returns 3.0", "root(-1) raises ValueError with message 'negative'"],
        '{"returns": "x ** 0.5", "raise_if": ["x < 0"]}',
    ),
)
SYSTEM = (
    'You write Python expressions for a function\'s body. Answer in JSON: "returns" is the '
    'expression it returns; "raise_if" lists, for each raises example, the condition on the '
    "parameters that raises."
)


def messages(spec: Spec, findings: Sequence[str] = ()) -> list[ChatMessage]:
    """System, few-shot turns, then the request (with the last failure, if any)."""
    text = request(spec)
    if findings:
        text += "\nThe previous answer failed: " + " ".join(findings[0].split())[:160]
    return [
        ChatMessage(role="system", content=SYSTEM),
        *SHOTS,
        ChatMessage(role="user", content=text),
    ]


def problem(expr: str, names: Sequence[str], func: str, *, condition: bool = False) -> str | None:
    """Why ``expr`` is not an acceptable body expression (None when it is)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        return f"{expr!r} is not a Python expression ({exc.msg})"
    bound = set(names) | SAFE
    bound |= {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in bound:  # incl. func itself: no recursion
            return f"{expr!r} uses {node.id!r}, which is not a parameter"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"{expr!r} touches a private attribute"
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if condition and not used & set(names):
        return f"condition {expr!r} does not depend on the parameters"
    return None


def assemble(spec: Spec, returns: str, conditions: Sequence[str]) -> str:
    """The function's source from the checked expressions."""
    returns = " ".join(returns.split())
    guards: list[str] = []
    notes: list[str] = []
    for cond, example in zip(conditions, spec.raising, strict=True):
        cond = " ".join(cond.split())
        message = example.message or f"invalid arguments for {spec.func}"
        guards += [f"    if {cond}:", f"        raise {example.error}({message!r})"]
        notes.append(f"raise {example.error} if {cond}")
    doc = f"Return {returns}" + (f"; {'; '.join(notes)}" if notes else "") + "."
    return (
        "\n".join(
            [
                f"def {spec.func}({spec.params}){spec.returns}:",
                f'    """{doc}"""',
                *guards,
                f"    return {returns}",
            ]
        )
        + "\n"
    )


def ask_function(
    chat: ChatModel,
    spec: Spec,
    findings: Sequence[str] = (),
    *,
    attempt: int = 0,
    max_tokens: int = 96,
) -> str:
    """The function's source, written by ``chat``; greedy first, then sampled retries.

    Raises:
        InvalidModelOutput: no try gave expressions that parse and use only the parameters.
    """
    names = param_names(spec.params)
    raising = len(spec.raising)
    schema = draft_schema(tuple(names), raising, guards(spec, names) if raising else ())
    why, raw = "", ""
    for i in range(TRIES):
        temperature = 0.0 if attempt == 0 and i == 0 else 0.5
        try:
            draft = structured(
                chat,
                messages(spec, findings),
                schema,
                temperature=temperature,
                seed=1000 * attempt + i,
                max_tokens=max_tokens,
                attempts=1,
                name="developer",
            )
        except InvalidModelOutput as exc:
            why, raw = exc.fields.get("reason", str(exc)), str(exc.fields.get("raw", ""))
            continue
        data = draft.model_dump()
        conditions = list(data.get("raise_if", []))
        raw = draft.model_dump_json()
        why = problem(data["returns"], names, spec.func) or next(
            (p for c in conditions if (p := problem(c, names, spec.func, condition=True))), ""
        )
        if not why:
            return assemble(spec, data["returns"], conditions)
    raise InvalidModelOutput(model="developer", reason=why, raw=raw)
