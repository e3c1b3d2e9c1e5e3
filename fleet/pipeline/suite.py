"""The evidence suite of a task: QA's acceptance tests, kept only if they fail on the base commit.

QA writes the acceptance tests first (:func:`fleet.evidence.acceptance.build_suite`): executable
criteria become tests by code, prose ones by the QA members; the suite runs on the base commit
and a generated test is kept only if it fails there. The suite is stored in a checkpoint keyed by
the deliberation id, so a retried council is asked the identical question.

A bug or change story gets its first test before the others (:mod:`fleet.pipeline.repro`). A first
test that failed for the reported reason is kept by story, task and the code it ran on
(:func:`repro_key`): a later council on the same task and the same code (an attempt after the gate
blocked, a council convened again after a lost quorum) starts from it instead of asking QA again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, fields
from typing import Any

from fleet.agents.stubs import named
from fleet.context.localise import Located, locate
from fleet.contracts import RunContext, Story, Task, TestOutcome
from fleet.council import Brief
from fleet.council.seeds import mix
from fleet.criteria import task_criteria
from fleet.errors import VersionConflict
from fleet.events import Envelope, make_event
from fleet.evidence import EvidenceSuite, doc_examples
from fleet.evidence.acceptance import (
    Probes,
    Qa,
    build_suite,
    names_of_tests,
)
from fleet.evidence.distinct import distinct_tests
from fleet.evidence.report_defs import definitions, with_definitions
from fleet.evidence.report_examples import import_table, repository_names
from fleet.evidence.suite import with_test_file
from fleet.patches.imports import add_missing_imports
from fleet.pipeline.ports import Baseline, Checkout, QaTeam
from fleet.pipeline.repro import (
    REPRO_FLOOR,
    Again,
    Repro,
    reproduce,
    uncontradicted,
    with_repro,
)
from fleet.ports import Clock, EventLog
from fleet.story_kind import kind_of

SUITE_KEY = "suite:{}"
REPRO_KEY = "repro:{}:{}:{}"  # story, task, digest of the report and the code it ran on


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
    report = f"{story.title}\n{story.description}"
    write, cases = _qa_calls(ports.qa, brief, files, notes, report)
    repro, kind = None, kind_of(story)
    if kind in ("bug", "change") and len(ports.qa):
        key = repro_key(story, task, files)
        repro = _carried(ports.log, key)
        if repro is None:
            repro = reproduce(write, _baseline_run(ports, at, ctx), files=files, report=report,
                              kind=kind)  # fmt: skip
            _carry(ports.log, key, repro)
        else:
            notes.append("first test: an earlier council's on the same code")
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
    trusted = repro if repro is not None and repro.reproduced else None  # else its frames
    located = locate(files, report, trace=trusted.excerpt if trusted else "",  # mislead too
                     test=trusted.source if trusted else "")  # fmt: skip
    if kind in ("bug", "change") and len(ports.qa):
        quoted = f"{report}\n{repro.source if repro else ''}"
        run = _baseline_run(ports, at, ctx)
        suite, said = _documented(run, suite, files, located, quoted)
        notes += said
    facts = {"repro": repro.as_dict() if repro else None, "located": [x.as_dict() for x in located]}
    return _store(ports, story, suite, deliberation_id=deliberation_id, notes=notes, facts=facts)


def _qa_calls(
    qa: QaTeam, brief: Brief, files: Mapping[str, str], notes: list[str], report: str
) -> tuple[Callable[..., dict[str, str]], Callable[[Sequence[str]], list[str]]]:
    """QA's test writing and example writing as ``build_suite`` calls them: every member's
    candidates (a failed member is a note), never a file the repository already has; a test
    gets the helpers ``report`` defines that it uses (``report_defs``) and the imports it uses."""
    table = {"pytest": "import pytest", **import_table(files)}  # a test module uses pytest too
    helpers = definitions(report, repository_names(files))

    def write(prose: Sequence[str], again: Again | None = None) -> dict[str, str]:
        """``again``: how the request is asked (``repro.Again``: the module begun for QA; a
        later try sampled with a seed of its own, hot after a try that wrote nothing)."""
        again = again or Again()
        asked = brief.model_copy(update={"begin": again.begin}) if again.begin else brief
        if again.attempt:
            floor = max(brief.temperature_floor, REPRO_FLOOR if again.hot else 0.0)
            asked = asked.model_copy(update={"seed": mix(brief.seed, "tests", again.attempt),
                                             "temperature_floor": floor})  # fmt: skip
        out: dict[str, str] = {}
        for got in qa.write_tests(asked, tuple(prose), notes):
            for path, text in got.items():
                if path not in files:
                    out[path] = _imported(path, text, (table, helpers), notes)
        return out

    def cases(criteria: Sequence[str]) -> list[str]:
        out: list[str] = []
        for got in qa.write_examples(brief, tuple(criteria), notes):
            out += [c for c in got if isinstance(c, str) and c not in out]
        return out

    return write, cases


def _imported(
    path: str, text: str, names: tuple[Mapping[str, str], Mapping[str, str]], notes: list[str]
) -> str:
    """QA's test ``text`` with one copy of each test (``distinct_tests``), and the helpers the
    report defines and the imports it uses and never wrote: a repository function it calls by
    name (``names``: ``import_table`` and the report's ``definitions``), a standard-library
    module. Without them the test fails on a NameError, which shows nothing about the code."""
    if not path.endswith(".py"):
        return text
    table, helpers = names
    text, repeated = distinct_tests(text)
    if repeated:
        shown = ", ".join(repeated[:3]) + (", ..." if len(repeated) > 3 else "")
        notes.append(f"{path}: left out {len(repeated)} tests repeating an earlier one ({shown})")
    text, defined = with_definitions(text, helpers)
    if defined:
        notes.append(f"{path}: added the report's {', '.join(defined)}")
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
        "advisory": list(suite.advisory),
        "probes": sorted(suite.probes),
        "notes": list(notes)[:20],
        **facts,
    }
    envelope = Envelope(actor="qa", key=deliberation_id)
    event = make_event(story.id, "council.suite", clock=ports.clock, data=data, envelope=envelope)
    log.append(event)
    return suite


# ----------------------------------------------------------------------------- reproduction


def repro_key(story: Story, task: Task, files: Mapping[str, str]) -> str:
    """The checkpoint of ``story``'s first test for ``task`` on the code ``files``: the same
    report on the same code, whatever the commit's id (a rebuilt repository keeps it)."""
    digest = hashlib.sha256()
    parts = [kind_of(story), story.title, story.description]
    for part in parts + [x for path in sorted(files) for x in (path, files[path])]:
        data = part.encode("utf-8", "surrogatepass")  # a lone surrogate is hashed, not refused
        digest.update(f"{len(data)}:".encode() + data)
    return REPRO_KEY.format(story.id, task.id, digest.hexdigest()[:32])


def _carried(log: EventLog, key: str) -> Repro | None:
    """The first test an earlier council found on the same code, if it reproduced."""
    stored = log.checkpoint_get(key)[1]
    if not stored:
        return None
    known = {f.name for f in fields(Repro)}
    data = {k: v for k, v in stored["repro"].items() if k in known}
    return Repro(**{**data, "tests": tuple(data.get("tests", ()))})


def _carry(log: EventLog, key: str, repro: Repro) -> None:
    """Keep ``repro`` for later councils on the same code (one that did not reproduce is not
    kept: a later council asks QA again)."""
    if not repro.reproduced:
        return
    with suppress(VersionConflict):  # a council beside this one kept its own: either will do
        log.checkpoint_put(key, {"repro": asdict(repro)}, expected_version=0)


def _documented(
    run: Callable[[str, str], Sequence[TestOutcome]], suite: EvidenceSuite,
    files: Mapping[str, str], located: Sequence[Located], quoted: str,
) -> tuple[EvidenceSuite, list[str]]:  # fmt: skip
    """``suite`` with the located functions' docstring examples the base passes (``run``: one
    test file on the base commit), as trusted tests (``fleet/evidence/doc_examples.py``); and a
    note on what was kept."""
    found = doc_examples.cases(files, [(x.path, x.name) for x in located], quoted)
    path = doc_examples.PATH
    if not found or path in files or path in suite.files:
        return suite, []
    ran = run(path, doc_examples.module(found))
    kept = doc_examples.passing(found, [t.test_id for t in ran if t.passed])
    note = f"docstring examples: {len(kept)} of {len(found)} pass on the base and are kept"
    if not kept:
        return suite, [note]
    return with_test_file(suite, path, doc_examples.module(kept), trusted=True), [note]


def _baseline_run(
    ports: SuitePorts, at: Checkout, ctx: RunContext
) -> Callable[[str, str], Sequence[TestOutcome]]:
    """One test file run alone on the base commit (a collection error elsewhere cannot hide it)."""

    def run(path: str, source: str) -> Sequence[TestOutcome]:
        suite = EvidenceSuite(files={path: source}, test_paths=(path,), protected=(path,))
        return ports.baseline.baseline(suite, source=at.repo.path, base=at.branch, context=ctx)

    return run
