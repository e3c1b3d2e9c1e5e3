"""QA's own examples: more "f(args) returns value" cases, written by the QA member's model.

A docstring with one example or none lets a wrong candidate pass the evidence suite, and a small
model writing whole test files degenerates (it repeats one assertion until its token limit). Lines
of one fixed form are what it writes well: asked for six more cases, Qwen2.5-Coder-1.5B got about
three in four expected values right on the development problems (``benchmarks/RESULTS.md``).
They become *advisory* evidence tests (``fleet/evidence/agreement.py``): weighed by
how many candidates agree with them, they order the candidates that pass the story's own criteria
and never fail one, since a quarter of them are wrong.

Only literal arguments and values are kept (the same parser as the story's executable criteria,
:mod:`fleet.orchestrator.acceptance`; then re-written with ``repr``), only calls of the functions
the task is about, and no call the criteria already give. Pure: the model call is the member's.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from fleet.criteria import examples, parse
from fleet.prompts import render

WANTED = 6  # cases asked for
MAX_KEPT = 8  # cases kept at most (a reply may ignore the count)
TOKENS = 320  # six lines of small literals; a cut reply loses only its last line
HEAD_CHARS = 3_000  # characters of the functions' source shown


def job(task: str, criteria: Sequence[str], heads: Sequence[str], funcs: Sequence[str]) -> str:
    """The request: the functions' source, the criteria, then the form of the lines."""
    name = funcs[0]
    code = "\n\n".join(heads)[:HEAD_CHARS]
    parts = [render("examples.task", task=task)]
    if code:
        parts.append(render("examples.code", code=code))
    given = [c for c in criteria if examples([c])]
    if given:
        items = "\n".join(render("examples.item", text=c) for c in given)
        parts.append(render("examples.given", examples=items))
    calls = render("examples.or").join(funcs)
    parts.append(render("examples.ask", wanted=WANTED, funcs=calls, name=name))
    return "\n\n".join(parts)


def lines(reply: str, funcs: Sequence[str], criteria: Sequence[str]) -> list[str]:
    """The reply's cases as criteria (``f(1, 2) returns 3``): literal, of ``funcs``, new."""
    given = {e.call.replace(" ", "") for e in examples(criteria)}
    out: list[str] = []
    seen: set[str] = set()
    for raw in reply.splitlines():
        text = raw.strip().lstrip("-*0123456789.) ").strip("`").strip()
        case = parse(text)
        if case is None or case.func not in funcs or case.error or case.value is None:
            continue
        call = case.call.replace(" ", "")
        if call in given or call in seen or case.values is None:
            continue
        seen.add(call)
        # re-written from the parsed literals (``repr``): nothing of the reply's text but data
        args = ", ".join(repr(v) for v in case.values)
        out.append(f"{case.func}({args}) returns {ast.literal_eval(case.value)!r}")
        if len(out) >= MAX_KEPT:
            break
    return out
