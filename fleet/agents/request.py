"""The request for a change, as every author reads it: the single developer and council members.

Small models follow what they read last, so the request comes after the context and the edit
format (``author_messages``) and ends with the instruction. It names the task, its acceptance
criteria and the functions that have no body yet (a 0.5B model otherwise tends to copy such a
stub back unchanged), then what the caller adds (the council's decision, a member's own patch
with its test results and critiques, the last attempt's findings), then what to write.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections import Counter
from collections.abc import Mapping, Sequence

from fleet import pysource
from fleet.agents.stubs import Stub, stubs
from fleet.agents.testsource import failing_tests
from fleet.patches import Edit, FunctionEdit, SearchReplace
from fleet.prompts import render


def __getattr__(name: str) -> str:
    """``AUTHOR`` (the system prompt of a request for a change; a member adds its name and its
    own style) and ``WRITE`` (the instruction that ends it): the templates ``request.author``
    and ``request.write``, rendered when read."""
    if name in ("AUTHOR", "WRITE"):
        return render(f"request.{name.lower()}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def change_request(
    task: str,
    criteria: Sequence[str],
    files: Mapping[str, str] | None = None,
    *,
    notes: Sequence[str] = (),
    findings: Sequence[str] = (),
    write: str | None = None,
) -> str:
    """The instruction that ends an author's prompt (``files``: the repository, for its stubs and
    the source of the failing tests ``findings`` name; ``write``: the last line, by default the
    template ``request.write``)."""
    lines = [render("request.task", task=task)]
    if criteria:
        lines += [render("request.criteria"), *(render("request.item", text=c) for c in criteria)]
    empty = [f"{s.path}: {s.name}" for s in stubs(files or {})]
    if empty:
        lines.append(render("request.stubs", stubs="; ".join(empty[:10])))
    lines += notes
    if findings:
        lines += [render("request.findings")]
        lines += [render("request.item", text=f[:300]) for f in findings[:8]]
        lines += [
            render("request.failing_test", test=t) for t in failing_tests(files or {}, findings)
        ]
    lines.append(render("request.write") if write is None else write)
    return "\n".join(lines)


def asked_for(texts: Sequence[str], files: Mapping[str, str]) -> list[str | Stub]:
    """What a reply with no usable edit is asked to continue (``write_change(focus=...)``): the
    body-less functions ``texts`` (the task, its criteria) name, in repository order; else the
    new function they call (``divide(6, 3) returns 2.0``), in the module that defines the
    functions they name beside it (``add``, ``subtract``), when exactly one does."""
    words = set(re.findall(r"[A-Za-z_]\w*", " ".join(texts)))
    named: list[str | Stub] = [s.name for s in stubs(files) if s.name in words]
    if named:
        return named
    new = new_function(texts, files)
    return [new] if new else []


_CALL = re.compile(r"(?<![\w.])(?:\w+\.)?([A-Za-z_]\w*)\(")  # a call: no space before "("
_NOT_NEW = frozenset(dir(builtins)) | frozenset(keyword.kwlist)


def new_function(texts: Sequence[str], files: Mapping[str, str]) -> Stub | None:
    """The function ``texts`` call that no file defines, to add to the one module defining the
    most of the other names they mention (None when that is not clear)."""
    text = " ".join(texts)
    sources = {
        p: t
        for p, t in files.items()
        if p.endswith(".py") and not p.rsplit("/", 1)[-1].startswith("test") and "tests/" not in p
    }
    calls = Counter(
        n for n in _CALL.findall(text) if n not in _NOT_NEW and len(n) > 2
        and not any(f"def {n}(" in t or f"class {n}" in t for t in files.values())
    )  # fmt: skip
    if not calls:
        return None
    name = calls.most_common(1)[0][0]
    words = {w.lower() for w in re.findall(r"[A-Za-z_]\w*", text)}
    defs = {
        p: {d.lower() for d in re.findall(r"^def (\w+)\(", t, re.M)} for p, t in sources.items()
    }
    home = _clear_best({p: len(words & d) for p, d in defs.items()})
    if home is None:  # no sibling named: the one module with functions in the package named
        named = {p: 1 for p, d in defs.items() if d and words & set(re.split(r"[/._]", p.lower()))}
        home = next(iter(named)) if len(named) == 1 else None
    if home is None:
        return None
    why = "\n".join(dict.fromkeys(t.strip() for t in texts if t.strip()))
    params = _params(name, text, words, files[home])
    return Stub(home, name, f"def {name}({params})" if params else f"def {name}(", why=why)


def _params(name: str, text: str, words: set[str], home: str) -> str | None:
    """The parameters of new function ``name``: as the text writes them (``divide(a, b)``), else
    those of a function the text names in ``home`` taking as many arguments as the text's
    example call (``add(a: float, b: float)`` for ``divide(6, 3)``; a 0.5B model begun with
    ``def divide(`` wrote ``def divide(6, 3):``), else None."""
    m = re.search(rf"\b{name}\(\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*\)", text)
    if m and not any(p.strip() in _NOT_NEW for p in m.group(1).split(",")):  # not True/None
        return m.group(1)
    call = re.search(rf"\b{name}\(([^()]*)\)", text)
    if call is None:
        return None
    arity = len([a for a in call.group(1).split(",") if a.strip()])
    try:
        tree = pysource.parse(home)
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.FunctionDef)
            and node.name.lower() in words
            and len(node.args.args) == arity
            and not (node.args.vararg or node.args.kwarg or node.args.kwonlyargs)
        ):
            return pysource.unparse(node.args)
    return None


def _clear_best(hits: Mapping[str, int]) -> str | None:
    """The key with the highest positive count, when no other has as many."""
    best = sorted(hits.items(), key=lambda kv: -kv[1])
    if not best or best[0][1] == 0 or (len(best) > 1 and best[1][1] == best[0][1]):
        return None
    return best[0][0]


def exports(files: Mapping[str, str], new: Stub) -> list[Edit]:
    """Edits that export new function ``new`` from its package's ``__init__.py`` the way the
    package exports its siblings (``from calc.ops import add, multiply`` gains ``divide``; a
    one-line ``__all__`` list too): the task says ``calc.divide``. None when it does not."""
    if "/" not in new.path:
        return []
    module = new.path.removesuffix(".py").replace("/", ".")
    init = f"{new.path.rsplit('/', 1)[0]}/__init__.py"
    text = files.get(init, "")
    if not re.search(rf"^from {re.escape(module)} import \w", text, re.M):
        return []
    edits: list[Edit] = [FunctionEdit(init, f"from {module} import {new.name}\n", ())]
    listed = re.search(r"^__all__ = \[([^\]\n]*)\]$", text, re.M)
    if listed:
        items = [x.strip() for x in listed.group(1).split(",") if x.strip()]
        quote = items[0][0] if items and items[0][0] in "'\"" else '"'
        names = [*items, f"{quote}{new.name}{quote}"]
        if items == sorted(items):
            names.sort()
        edits.append(
            SearchReplace(init, listed.group(0) + "\n", f"__all__ = [{', '.join(names)}]\n")
        )
    return edits
