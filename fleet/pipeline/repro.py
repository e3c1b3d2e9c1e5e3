"""A bug or change story's first test: it must fail on the base commit for the reported reason.

A bug story (:func:`fleet.story_kind.kind_of`) gets a **reproduction test first**: when the
report writes its example as code ("`f(x)` returns `a`. I expected `b`"), that example as a test,
by code (:mod:`fleet.evidence.report_examples`); otherwise, or when that test does not fail on the
base for the reported reason, QA writes a test from the report, it runs alone on the base commit,
and it is kept only if it fails *for the reported reason* (an assertion, ``pytest.raises`` of the
exception the user expected not raising, or an exception the report speaks of), never for a
broken test (an import, a name, a syntax or collection error, a fixture). A test that fails for
the wrong reason, or passes, is asked for again with that output (``REPRO_ATTEMPTS`` in all, each
later try sampled afresh); one that never reproduces is said so (``council.suite``'s
``repro.reproduced`` false) and the story goes on with the other evidence. The kept test joins
the suite like QA's other tests; its failure on the base, with the report, is localisation's
evidence (:mod:`fleet.context.localise`): the ranked functions are in the event's ``located``.

A change story gets the same first test of the change it asks for (``kind="change"``): the
story's example as the user wrote it, else QA's test of it, kept only if it fails on the base
because the change is missing: an assertion, an exception the story expects that did not raise,
or the call's ``unexpected keyword argument`` that the story names (the new option).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fleet.context.localise import confident, locate
from fleet.contracts import TestOutcome
from fleet.evidence import EvidenceSuite
from fleet.evidence.acceptance import drop_tests, example_calls, prune
from fleet.evidence.report_examples import report_test
from fleet.evidence.suite import with_test_file
from fleet.prompts import render
from fleet.story_kind import EXCEPTION

REPRO_ATTEMPTS = 3  # QA's tries at a test that fails for the reported reason
# a try after one that wrote no test samples at least this hot (the same prompt at QA's own
# temperature and a new seed gave the same degenerate reply on every try)
REPRO_FLOOR = 0.7
NOTHING = "QA wrote no test"
OUTPUT_CHARS = 400  # of a wrong-reason failure, shown to QA when it is asked again
# A test broken in itself: it fails before it reaches the code the report is about.
_BROKEN = re.compile(
    r"^(collection failure|ImportError|ModuleNotFoundError|NameError|UnboundLocalError"
    r"|SyntaxError|IndentationError|TabError)\b|^AttributeError: module \S+ has no attribute"
    r"|fixture '[^']*' not found|^failed on setup"
)
# a call with arguments, which may hold one level of parentheses: f(x, 1), f((0, 0, 128))
_EXAMPLE = re.compile(r"(?<![\w.])[A-Za-z_]\w*\((?=[^)\s])(?:[^()\n]|\([^()\n]*\))+\)")
_PLURAL = re.compile(r"[A-Za-z]+\((?:e?s)\)")
_NOT_RAISED = re.compile(r"DID NOT RAISE <?(?:class )?'?([\w.]+)")
_NEW_OPTION = re.compile(r"unexpected keyword argument '(\w+)'")
_CRASH = re.compile(
    r"\b(crash\w*|raises?|raised|throws?|threw|exceptions?|errors?|traceback)\b", re.I
)


@dataclass(frozen=True)
class Repro:
    """QA's reproduction test of a bug report (or first test of a change story), and whether it
    failed on the base for the reported reason (the bug; the change not made yet)."""

    reproduced: bool = False
    path: str = ""
    source: str = ""  # kept: only its tests that fail for the reported reason
    attempts: int = 0
    reason: str = ""  # why it did not reproduce ("" when it did)
    origin: str = "qa"  # "report": the report's own examples, written by code (no QA attempt)
    excerpt: str = ""  # its failure on the base: the reported one, else the last wrong one
    tests: tuple[str, ...] = ()

    def note(self) -> str:
        if self.reproduced and self.origin == "report":
            return f"reproduced by {', '.join(self.tests)} (the report's own examples, by code)"
        if self.reproduced:
            return f"reproduced by {', '.join(self.tests)} (attempt {self.attempts})"
        return f"not reproduced after {self.attempts} attempt(s): {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """The ``council.suite`` event's ``repro``."""
        return {"reproduced": self.reproduced, "path": self.path, "tests": list(self.tests),
                "attempts": self.attempts, "reason": self.reason, "origin": self.origin,
                "excerpt": self.excerpt[:600], "source": self.source[:2000]}  # fmt: skip


def _calls(text: str) -> set[str]:
    """The calls with arguments in ``text``, spaces and quote styles ignored: ``f('a', '')``;
    not a prose plural ("semicolon(s)", "match(es)"), which reads like a call."""
    found = (m.group(0) for m in _EXAMPLE.finditer(text) if not _PLURAL.fullmatch(m.group(0)))
    return {re.sub(r"\s+", "", call).replace('"', "'") for call in found}


def wrong_reason(outcome: TestOutcome, report: str, kind: str = "bug") -> str:
    """Why ``outcome`` (a reproduction test's result on the base commit) does not show the bug
    ``report`` describes; "" when it fails for the reported reason: an assertion, a
    ``pytest.raises`` of an exception the report expects that did not raise, or an exception the
    report names (or, when it names none, any exception of a report that speaks of a crash). Of a
    change story (``kind="change"``) also a call's ``unexpected keyword argument`` the story
    names: the option it asks for does not exist yet."""
    if outcome.passed:
        missing = "the bug" if kind == "bug" else "that the change is missing"
        return f"it passed on the current code, so it does not show {missing}"
    text = outcome.excerpt.strip()
    head = text.split(":", 1)[0].strip()
    if _BROKEN.search(text):
        return f"the test itself is broken ({text[:120]})"
    named = {m.group(0) for m in EXCEPTION.finditer(report)}
    told = "report" if kind == "bug" else "story"
    if head == "Failed" and (m := _NOT_RAISED.search(text)):
        # pytest.raises(X) did not raise: the bug only if the user expected X (a small model
        # wraps the report's call in pytest.raises(AssertionError), which fails on any code)
        wanted = m.group(1).rsplit(".", 1)[-1]
        if wanted in named and wanted != "AssertionError":
            return ""
        return f"it expects {wanted} to be raised, which the {told} does not ask for"
    raised = head.endswith(("Error", "Exception"))
    reported = head in named or (not named and raised and _CRASH.search(report))
    if kind == "change" and head == "TypeError" and (m := _NEW_OPTION.search(text)):
        reported = re.search(rf"\b{m.group(1)}\b", report) is not None  # the option asked for
    if not (head == "AssertionError" or text.startswith("assert") or reported):
        return f"it raised {head or 'an error'}, which is not what the {told} describes"
    example = _calls(report)
    if example and not any(call in _failing_line(text) for call in example):
        # it fails, but on another input: the report's own example is the evidence (the 0.5B
        # asserted the buggy output for it, then failed on an input of its own)
        return f"it fails, but not on the {told}'s example {sorted(example)[0]}"
    return ""


def _failing_line(excerpt: str) -> str:
    """The failure's message and the line pytest marks with ``>`` (where the test failed), spaces
    and quote styles ignored: the other lines of the test ran and passed."""
    message = excerpt.split(" def ", 1)[0]
    marked = re.search(r"(?:^| )> (.*?)(?: E |$)", excerpt)
    text = f"{message} {marked.group(1) if marked else ''}"
    return re.sub(r"\s+", "", text).replace('"', "'")


@dataclass(frozen=True)
class Again:
    """How QA is asked for the first test: ``attempt`` (0: the first try, then each later one
    sampled with a seed of its own), ``hot``: the last try wrote no test (sampled at least
    ``REPRO_FLOOR`` hot), ``begin``: the test module begun for QA (its reply continues the
    module, with no edit format to break)."""

    attempt: int = 0
    hot: bool = False
    begin: str = ""


def begun(module: str, name: str) -> str:
    """The beginning of a first test: pytest and, where the report's function was located, its
    import; QA's reply continues with the test function's name."""
    imported = f"\nfrom {module} import {name}\n" if name else ""
    return f"import pytest\n{imported}\n\ndef test_"


def reproduce(
    write: Callable[[Sequence[str], Again], Mapping[str, str]],
    run: Callable[[str, str], Sequence[TestOutcome]],
    *,
    files: Mapping[str, str],
    report: str,
    attempts: int = REPRO_ATTEMPTS,
    kind: str = "bug",
) -> Repro:
    """QA's reproduction test for ``report``: ``write(asks, again)`` returns QA's new test
    files, ``run(path, source)`` runs one alone on the base commit. Asked again with the
    wrong-reason output, ``attempts`` times in all (``Again``: the test module begun for QA;
    each later try sampled afresh, hot after a try that wrote nothing). Of a change
    story (``kind="change"``): the first test of the change it asks for, failing on the base
    because the change is missing."""
    bug = kind == "bug"
    ranked = locate(files, report)
    by_code = report_test(files, report, [(x.path, x.name) for x in ranked[:3]], kind=kind)
    if by_code is not None:  # the report's own "f(x) returns a; I expected b", as it stands
        path, source = by_code
        found = _judged(path, source, run(path, source), report, (0, kind))
        if found.reproduced:
            return replace(found, origin="report")
    asks = [render("repro.criterion" if bug else "repro.change", report=report.strip())]
    start = begun("", "")
    if confident(ranked):
        top = ranked[0]
        module = top.path.removeprefix("src/").removesuffix(".py").removesuffix("/__init__")
        module, name = module.replace("/", "."), top.name.split(".", 1)[0]
        asks.append(render("repro.where" if bug else "repro.change_where", name=name,
                           module=module))  # fmt: skip
        start = begun(module, name)
    last = Repro(reason=NOTHING)
    for attempt in range(1, attempts + 1):
        retry = render("repro.retry" if bug else "repro.change_retry", reason=last.reason,
                       output=last.excerpt[:OUTPUT_CHARS])  # fmt: skip
        again = Again(attempt, hot=last.reason == NOTHING, begin=start)
        got = write(asks, Again(begin=start)) if attempt == 1 else write([*asks, retry], again)
        last = Repro(attempts=attempt, reason=NOTHING)
        for path, source in got.items():
            found = _judged(path, source, run(path, source), report, (attempt, kind))
            if found.reproduced:
                return found
            last = found
    return last


def _judged(
    path: str, source: str, outcomes: Sequence[TestOutcome], report: str, of: tuple[int, str]
) -> Repro:
    """The reproduction test at ``path`` judged by its run on the base (its good tests kept);
    ``of``: the attempt, and the story's kind."""
    attempt, kind = of
    mine = [o for o in outcomes if o.test_id.startswith(f"{path}::")]
    if not mine:  # not collected: the run's one outcome says why (an import error, mostly)
        excerpt = outcomes[0].excerpt if outcomes else ""
        broken = (wrong_reason(outcomes[0], report, kind) if outcomes
                  else "no test of it was collected")  # fmt: skip
        return Repro(path=path, attempts=attempt, excerpt=excerpt, reason=broken)
    why = {o.test_id: wrong_reason(o, report, kind) for o in mine}
    good = [o for o in mine if not why[o.test_id]]
    if not good:
        return Repro(path=path, source=source, attempts=attempt, reason=why[mine[0].test_id],
                     excerpt=mine[0].excerpt)  # fmt: skip
    drop = {o.test_id.split("::", 1)[1].split("[", 1)[0] for o in mine if why[o.test_id]}
    kept = prune(source, drop) if drop else source
    return Repro(reproduced=True, path=path, source=kept, attempts=attempt,
                 excerpt=good[0].excerpt, tests=tuple(o.test_id for o in good))  # fmt: skip


def uncontradicted(suite: EvidenceSuite, repro: str) -> tuple[EvidenceSuite, list[str]]:
    """``suite`` without its keep tests of a call the reproduction test (source ``repro``)
    makes: there QA took the reported, wrong result for behaviour to keep. And the ids dropped."""
    said = "".join(repro.split())
    drop = [
        f"{path}::{name}"
        for path in (k.removesuffix("::") for k in suite.keep)
        for name, call in example_calls(suite.files.get(path, "")).items()
        if "".join(call.split()) in said
    ]
    return drop_tests(suite, drop), drop


def with_repro(suite: EvidenceSuite, repro: Repro) -> EvidenceSuite:
    """``suite`` with the reproduction test among its files (and its path run, protected). The
    report's own examples, written by code (``origin`` "report"), are the user's word, as the story's
    executable criteria are the PO's (``spec``): trusted like the repository's tests (no candidate's
    failing them makes them distrusted and left out), and a winner failing one is not shipped."""
    mine = repro.origin == "report"
    suite = with_test_file(suite, repro.path, repro.source, trusted=mine)
    return suite.model_copy(update={"spec": (*suite.spec, f"{repro.path}::")}) if mine else suite
