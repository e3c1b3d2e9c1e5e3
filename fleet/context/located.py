"""The developer's code section with the located functions first (:mod:`fleet.context.localise`).

A small model answers a bug report that names no file with prose or an echo of the whole file
when the place to edit is buried among the most relevant files. When localisation points at a
function with evidence (a frame of the reproduction test's traceback, an identifier the report
or the test calls), that function's code comes first, headed as the place the report points at
(and the next one's, when it has evidence too); a file the section would show whole is then left
to the repository map (its located function is already there). In a scope with
``located_only`` (the developer's build scope in ``config/scopes.yaml``) the located code is the
whole section: the pack is fitted with the whole section, then cut (``Draft.shown``), so the
repository map after it is what it would be beside the whole section and names the rest.
Without such evidence, or when the first file shown whole already holds it, the section is what
:func:`fleet.context.repomap.code_items` makes.

Measured for developers (``benchmarks/bench_pack.py``, 28 recorded first requests on 7
development bug and change tasks, the 1.5B): with the other items the replies passed the hidden
tests 7 times and applied 12 times; with the located functions alone 8 and 15, in about a third
of the time per reply, on 42 % of the prompt tokens (the 1.5B copied unrelated functions and
whole modules shown there into its edits). Those prompts were cut the same way from recorded packs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleet.context.localise import EVIDENCE, Located, confident, locate
from fleet.prompts import render

SHOWN = 2  # located functions shown first (the best one and the next with evidence)


def located(
    files: Mapping[str, str], report: str, repro: Mapping[str, Any] | None
) -> list[Located]:
    """The functions localisation ranks for ``report`` and the story's reproduction test
    (``repro``: the digest's, with its ``source`` and failure ``excerpt``), if it is confident.
    A first test that did not reproduce the story is no evidence of the place, its frames no
    more than its calls (one that fails inside decorator machinery points there)."""
    repro = repro or {}
    trusted = bool(repro.get("reproduced"))
    ranked = locate(files, report, trace=str(repro.get("excerpt", "")) if trusted else "",
                    test=str(repro.get("source", "")) if trusted else "")  # fmt: skip
    return ranked if confident(ranked) else []


def first(
    files: Mapping[str, str], ranked: Sequence[Located], items: list[str]
) -> tuple[list[str], int]:
    """``items`` (the code section) with the located functions' code first, and how many items
    that is; ``(items, 0)`` when nothing is located or the first, a whole file, holds it."""
    if not ranked:
        return items, 0
    top = ranked[0]
    if items and items[0] == f"### {top.path}\n{files.get(top.path)}":
        return items, 0  # the whole file that holds it is shown first already
    shown = _shown(ranked)
    heads: list[str] = []
    for r in shown:
        code = "\n".join(files[r.path].split("\n")[r.start - 1 : r.end])
        heads.append(render("localise.located", path=r.path, start=r.start, end=r.end,
                            name=r.name, code=code))  # fmt: skip
    paths = {f"### {r.path}" for r in shown}
    spans = {f"### {r.path} (lines {r.start}-{r.end})" for r in shown}
    rest = [it for it in items if it.split("\n", 1)[0] not in spans | paths]
    return heads + rest, len(heads)


def _shown(ranked: Sequence[Located]) -> list[Located]:
    """The located functions the code section shows first (the best one, the next with evidence)."""
    top = ranked[0]
    return [r for r in ranked[:SHOWN] if r is top or r.evidence >= EVIDENCE]


def spans(ranked: Sequence[Located]) -> list[tuple[str, int, int]]:
    """(path, first line, last line) of each located function the code section shows: the
    repository map leaves them out (a small model quotes a map entry, ``def retry(call, tries)
    # Makes decorated function retry``, as the code to replace when the function is listed
    there too, after its code)."""
    return [(r.path, r.start, r.end) for r in _shown(ranked)] if ranked else []
