"""The evidence suite of a task: QA's acceptance tests, kept only if they fail on the base commit.

QA writes the acceptance tests first (:func:`fleet.evidence.acceptance.build_suite`): executable
criteria become tests by code, prose ones by the QA members; the suite runs on the base commit
and a generated test is kept only if it fails there. The suite is stored in a checkpoint keyed by
the deliberation id, so a retried council is asked the identical question.

A bug story (:func:`fleet.story_kind.kind_of`) gets a **reproduction test first**: when the
report writes its example as code ("`f(x)` returns `a`. I expected `b`"), that example as a test,
by code (:mod:`fleet.evidence.report_examples`); otherwise, or when that test does not fail on the
base for the reported reason, QA writes a test from the report, it runs alone on the base commit, and it is kept only if it fails *for the
reported reason* (an assertion, ``pytest.raises`` of the exception the user expected not raising,
or an exception the report speaks of), never for a broken test (an import, a name, a syntax or
collection error, a fixture). A test
that fails for the wrong reason, or passes, is asked for again with that output
(``REPRO_ATTEMPTS`` in all); one that never reproduces is said so (``council.suite``'s
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

from fleet.agents.stubs import named
from fleet.context.localise import confident, locate
from fleet.contracts import RunContext, Story, Task, TestOutcome
from fleet.council import Brief
from fleet.council.seeds import mix
from fleet.criteria import task_criteria
from fleet.errors import VersionConflict
from fleet.events import Envelope, make_event
from fleet.evidence import EvidenceSuite
from fleet.evidence.acceptance import (
    Probes,
    Qa,
    build_suite,
    drop_tests,
    example_calls,
    names_of_tests,
    prune,
)
from fleet.evidence.report_examples import import_table, report_test
from fleet.patches.imports import add_missing_imports
from fleet.pipeline.ports import Baseline, Checkout, QaTeam
from fleet.ports import Clock, EventLog
from fleet.prompts import render
from fleet.story_kind import EXCEPTION, kind_of

SUITE_KEY = "suite:{}"
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
_NOT_RAISED = re.compile(r"DID NOT RAISE <?(?:class )?'?([\w.]+)")
_NEW_OPTION = re.compile(r"unexpected keyword argument '(\w+)'")
_CRASH = re.compile(
    r"\b(crash\w*|raises?|raised|throws?|threw|exceptions?|errors?|traceback)\b", re.I
)


def repo_tests(files: Sequence[str]) -> list[str]:
    """The repository's own Python test files (trusted evidence)."""
    return sorted(
        p
        for p in files
        if p.endswith(".py")
        and (p.rsplit("/", 1)[-1].startswith("test_") or p.endswith("_test.py"))
    )


@dataclass(frozen=True)
class SuitePorts:
    """What the suite step talks to, and whether QA also writes its own examples."""

    log: EventLog  # the checkpoint that keeps the suite, and the council.suite event
    qa: QaTeam
    baseline: Baseline
    clock: Clock
    qa_examples: bool = True


def task_suite(
    ports: SuitePorts,
    story: Story,
    task: Task,
    *,
    deliberation_id: str,
    at: Checkout,
    seed: int = 0,
) -> EvidenceSuite:
    """QA's evidence suite for ``task`` on ``at``, sampled with base ``seed`` (stored: asking
    again under the same ``deliberation_id`` reuses it)."""
    _, stored = ports.log.checkpoint_get(SUITE_KEY.format(deliberation_id))
    if stored:
        return EvidenceSuite.model_validate(stored["suite"])
    files = at.repo.files(at.commit)
    ctx = RunContext(story_id=story.id, task_id=task.id, role="qa", phase="test")
    brief = Brief(deliberation_id=deliberation_id, story_id=story.id, task_id=task.id,
                  task=f"{story.title}\n{task.description}", phase="build", round=0,
                  step="propose", source=at.repo.path, base=at.branch, base_commit=at.commit,
                  seed=seed)  # fmt: skip
    notes: list[str] = []
    write, cases = _qa_calls(ports.qa, brief, files, notes)
    report = f"{story.title}\n{story.description}"
    repro, kind = None, kind_of(story)
    if kind in ("bug", "change") and len(ports.qa):
        repro = reproduce(write, _baseline_run(ports, at, ctx), files=files, report=report,
                          kind=kind)  # fmt: skip
        notes.append(repro.note())
    suite, built = build_suite(
        task_criteria(story, task),
        name="".join(ch if ch.isalnum() else "_" for ch in task.id).lower(),
        repo_tests=repo_tests(list(files)),
        baseline=lambda s: ports.baseline.baseline(
            s, source=at.repo.path, base=at.branch, context=ctx
        ),
        qa=Qa(
            tests=write if len(ports.qa) else None,
            examples=cases if len(ports.qa) and ports.qa_examples else None,
            keep=kind in ("bug", "change"),
        ),
        probes=Probes(
            signatures=[s.head for s in named(files, f"{story.title}\n{task.description}")]
        ),
    )
    notes += built
    suite = suite.model_copy(
        update={
            "files": {p: t for p, t in suite.files.items() if p not in files},
            "probes": {p: t for p, t in suite.probes.items() if p not in files},
        }
    )
    if repro is not None and repro.reproduced:
        suite = with_repro(suite, repro)
        suite, dropped = uncontradicted(suite, repro.source)
        notes += [f"dropped keep test {t}: it checks the reported call" for t in dropped]
    located = locate(files, report, trace=repro.excerpt if repro else "",
                     test=repro.source if repro and repro.reproduced else "")  # fmt: skip
    facts = {"repro": repro.as_dict() if repro else None, "located": [x.as_dict() for x in located]}
    return _store(ports, story, suite, deliberation_id=deliberation_id, notes=notes, facts=facts)


def _qa_calls(
    qa: QaTeam, brief: Brief, files: Mapping[str, str], notes: list[str]
) -> tuple[Callable[..., dict[str, str]], Callable[[Sequence[str]], list[str]]]:
    """QA's test writing and example writing as ``build_suite`` calls them: every member's
    candidates (a failed member is a note), never a file the repository already has."""

    table = {"pytest": "import pytest", **import_table(files)}  # a test module uses pytest too

    def write(prose: Sequence[str], again: tuple[int, bool] = (0, False)) -> dict[str, str]:
        """``again``: a later try of the same request (its number, and whether the last one
        wrote no test): sampled with a seed of its own, hot after a try that wrote nothing."""
        attempt, hot = again
        asked = brief
        if attempt:
            floor = max(brief.temperature_floor, REPRO_FLOOR) if hot else brief.temperature_floor
            asked = brief.model_copy(update={"seed": mix(brief.seed, "tests", attempt),
                                             "temperature_floor": floor})  # fmt: skip
        out: dict[str, str] = {}
        for got in qa.write_tests(asked, tuple(prose), notes):
            for path, text in got.items():
                if path not in files:
                    out[path] = _imported(path, text, table, notes)
        return out

    def cases(criteria: Sequence[str]) -> list[str]:
        out: list[str] = []
        for got in qa.write_examples(brief, tuple(criteria), notes):
            out += [c for c in got if isinstance(c, str) and c not in out]
        return out

    return write, cases


def _imported(path: str, text: str, table: Mapping[str, str], notes: list[str]) -> str:
    """QA's test ``text`` with the imports it uses and never wrote: a repository function it
    calls by name (``table``: ``import_table``), a standard-library module. Without them the test
    fails on a NameError, which shows nothing about the code."""
    if not path.endswith(".py"):
        return text
    fixed, added = add_missing_imports(text, extra=table)
    if added:
        notes.append(f"{path}: added {'; '.join(added)}")
    return fixed


def _store(
    ports: SuitePorts, story: Story, suite: EvidenceSuite, *, deliberation_id: str,
    notes: Sequence[str], facts: Mapping[str, Any],
) -> EvidenceSuite:  # fmt: skip
    """Checkpoint ``suite`` (first writer wins) and record it as ``council.suite``, with
    ``facts``: the reproduction test (``repro``) and the ranked places to edit (``located``)."""
    key, log = SUITE_KEY.format(deliberation_id), ports.log
    try:
        log.checkpoint_put(key, {"suite": suite.model_dump(mode="json")}, expected_version=0)
    except VersionConflict:  # another attempt stored it first: everyone uses that one
        stored = log.checkpoint_get(key)[1]
        if stored is None:
            raise
        return EvidenceSuite.model_validate(stored["suite"])
    tests = {p: names_of_tests(t) or [] for p, t in suite.files.items()}
    data = {
        "deliberation_id": deliberation_id,
        "files": sorted(suite.files),
        "tests": [f"{p}::{n}" for p, names in tests.items() for n in names],
        "trusted": list(suite.trusted),
        "keep": list(suite.keep),
        "probes": sorted(suite.probes),
        "notes": list(notes)[:20],
        **facts,
    }
    envelope = Envelope(actor="qa", key=deliberation_id)
    event = make_event(story.id, "council.suite", clock=ports.clock, data=data, envelope=envelope)
    log.append(event)
    return suite


# ----------------------------------------------------------------------------- reproduction


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
    """The calls with arguments in ``text``, spaces and quote styles ignored: ``f('a', '')``."""
    return {re.sub(r"\s+", "", m.group(0)).replace('"', "'") for m in _EXAMPLE.finditer(text)}


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


def reproduce(
    write: Callable[[Sequence[str], tuple[int, bool]], Mapping[str, str]],
    run: Callable[[str, str], Sequence[TestOutcome]],
    *,
    files: Mapping[str, str],
    report: str,
    attempts: int = REPRO_ATTEMPTS,
    kind: str = "bug",
) -> Repro:
    """QA's reproduction test for ``report``: ``write(asks)`` returns QA's new test files,
    ``run(path, source)`` runs one alone on the base commit. Asked again with the wrong-reason
    output, ``attempts`` times in all: a later try is ``write(asks, (attempt, wrote_nothing))``,
    sampled afresh (hot after a try that wrote no test). Of a change story (``kind="change"``): the first test of
    the change it asks for, failing on the base because the change is missing."""
    bug = kind == "bug"
    ranked = locate(files, report)
    by_code = report_test(files, report, [(x.path, x.name) for x in ranked[:3]])
    if by_code is not None:  # the report's own "f(x) returns a; I expected b", as it stands
        path, source = by_code
        found = _judged(path, source, run(path, source), report, (0, kind))
        if found.reproduced:
            return replace(found, origin="report")
    asks = [render("repro.criterion" if bug else "repro.change", report=report.strip())]
    if confident(ranked):
        top = ranked[0]
        module = top.path.removeprefix("src/").removesuffix(".py").removesuffix("/__init__")
        module = module.replace("/", ".")
        where = "repro.where" if bug else "repro.change_where"
        asks.append(render(where, name=top.name.split(".", 1)[0], module=module))
    last = Repro(reason=NOTHING)
    for attempt in range(1, attempts + 1):
        retry = render("repro.retry" if bug else "repro.change_retry", reason=last.reason,
                       output=last.excerpt[:OUTPUT_CHARS])  # fmt: skip
        nothing = last.reason == NOTHING
        got = write(asks, (0, False)) if attempt == 1 else write([*asks, retry], (attempt, nothing))
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


def _baseline_run(
    ports: SuitePorts, at: Checkout, ctx: RunContext
) -> Callable[[str, str], Sequence[TestOutcome]]:
    """One test file run alone on the base commit (a collection error elsewhere cannot hide it)."""

    def run(path: str, source: str) -> Sequence[TestOutcome]:
        suite = EvidenceSuite(files={path: source}, test_paths=(path,), protected=(path,))
        return ports.baseline.baseline(suite, source=at.repo.path, base=at.branch, context=ctx)

    return run


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
    """``suite`` with the reproduction test among its files (and its path run, protected)."""
    covered = any(
        p in (".", repro.path) or repro.path.startswith(f"{p}/") for p in suite.test_paths
    )
    paths = suite.test_paths if covered else (*suite.test_paths, repro.path)
    return suite.model_copy(update={
        "files": {**suite.files, repro.path: repro.source},
        "test_paths": paths,
        "protected": tuple(dict.fromkeys([*suite.protected, repro.path])),
    })  # fmt: skip
