"""Sequential debugging: each developer fixes its own candidate from its evidence output.

After the first proposals' evidence runs, and before the council compares them, a developer whose
candidate fails the suite is shown that candidate's own failures -- the failing tests' names and
their assertion messages (expected against actual, or the traceback's last line), the source of
the first failing tests the repository holds -- and writes a new version. Up to ``debug_rounds``
times (S*, Li et al. 2025: parallel samples plus debugging with execution feedback raise
coverage). A developer stops early when its latest version passes, or when its failures did not
change since the version before (another try from the same output tends to repeat itself); with
``settle_on_pass``, every developer stops once some candidate passes the whole suite uncontested
(that pass settles the council, so more passing candidates would be paid for and not used).

Every version stays a candidate (``CouncilState.candidates``), so a debugging turn that makes
things worse takes nothing away. A debugging version is not a *first* proposal: it has seen the
tests, so its agreement with a test says nothing about the test (``protocol.is_first``).

Pure: the model call is the member's (``Member.revise`` with a ``debug`` brief), the runs the
council's evidencer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fleet.agents.testsource import failing_tests
from fleet.contracts import Evidence, Proposal
from fleet.council.patching import DIFF_CLIP, TEST_CLIP, own_code
from fleet.council.protocol import CouncilState, debug_id
from fleet.council.schemas import Brief
from fleet.prompts import render

EXCERPT = 300  # characters of one failure: the assertion's expected/actual, or the error line


def failures(evidence: Evidence | None, advisory: Sequence[str] = ()) -> tuple[str, ...]:
    """What a candidate's run got wrong, one line per failing test (``test id: message``);
    QA's advisory examples do not count (they may themselves be wrong); a run without test
    results gives its detail (the patch does not apply, the tests could not be collected)."""
    if evidence is None:
        return ()
    out = tuple(
        f"{t.test_id}: {' '.join(t.excerpt.split())[:EXCERPT]}".rstrip(": ")
        for t in evidence.tests
        if not t.passed and not any(t.test_id.startswith(a) for a in advisory)
    )
    if not evidence.tests and evidence.detail:
        out = (" ".join(evidence.detail.split())[:EXCERPT],)
    return out


def changed(evidence: Evidence | None, keep: Sequence[str] = ()) -> tuple[str, ...]:
    """The keep tests a candidate's run fails (``test id: message``): behaviour of the base
    commit its change altered (QA's examples the base already passed, in a bug or change story)."""
    if evidence is None or not keep:
        return ()
    return tuple(
        f"{t.test_id}: {' '.join(t.excerpt.split())[:EXCERPT]}".rstrip(": ")
        for t in evidence.tests
        if not t.passed and any(t.test_id.startswith(k) for k in keep)
    )


def todo(
    evidence: Evidence | None, advisory: Sequence[str], keep: Sequence[str]
) -> tuple[str, ...]:
    """What a developer debugs: its failures; once there are none, the keep tests it fails."""
    return failures(evidence, advisory) or changed(evidence, keep)


def versions(state: CouncilState, member: str) -> list[Proposal]:
    """``member``'s round-0 proposals in order: its first, then its debugging versions."""
    return [p for p in state.proposals if p.author == member and p.round == 0]


def needs(state: CouncilState, member: str) -> tuple[str, ...]:
    """The failures ``member`` should debug next; () when it should stop: its latest version
    passes (no failure), or the failures are the ones of its version before (no progress)."""
    mine = versions(state, member)
    if not mine or mine[-1].patch is None:
        return ()
    suite = state.request.suite
    advisory, keep = (suite.advisory, suite.keep) if suite else ((), ())
    by_id = {e.proposal_id: e for e in state.evidence}
    now = todo(by_id.get(mine[-1].id), advisory, keep)
    if len(mine) > 1 and now == todo(by_id.get(mine[-2].id), advisory, keep):
        return ()
    return now


def stop_reason(state: CouncilState, member: str, bound: int) -> str:
    """Why ``member``'s debugging ended: passes, unchanged, the bound, or another passes."""
    mine = versions(state, member)
    if not needs(state, member):
        suite = state.request.suite
        advisory, keep = (suite.advisory, suite.keep) if suite else ((), ())
        latest = {e.proposal_id: e for e in state.evidence}.get(mine[-1].id) if mine else None
        return "unchanged" if todo(latest, advisory, keep) else "passes"
    # still failing, below the bound: another candidate passed, which ended the debugging
    return "bound" if len(mine) - 1 >= bound else "another passes"


def next_id(state: CouncilState, member: str) -> str:
    """The id of ``member``'s next debugging version."""
    return debug_id(state.request.id, member, len(versions(state, member)))


def summary(state: CouncilState) -> dict[str, dict[str, object]]:
    """Per developer: debugging versions written and why it stopped (a council event)."""
    req = state.request
    return {
        m: {
            "versions": len(versions(state, m)) - 1,
            "stopped": stop_reason(state, m, req.debug_rounds),
        }
        for m in req.authors
        if versions(state, m)
    }


def notes(
    brief: Brief, own: Proposal, files: Mapping[str, str], version: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """What a debugging developer reads before the instruction -- its patch (``version``: the
    files it changed as they read with it), its failures, the failing tests' source (those
    ``files``, the repository, holds), the request to fix them -- and the failures themselves
    (for the continuation, when the model echoes the request)."""
    mine = {e.proposal_id: e for e in brief.evidence}.get(own.id)
    fails = list(failures(mine, brief.advisory))
    kept = not fails  # it passes: what it changed of the base's behaviour is what it debugs
    if kept:
        fails = list(changed(mine, brief.keep))
    parts = [
        render("debug.own_patch"),
        own_code(own, files, brief.evidence_files, 2 * DIFF_CLIP, version),
        render("debug.changed" if kept else "debug.failures"),
        *(render("debug.failure", failure=f) for f in fails[:6]),
        *(
            render("debug.failing_test", test=t)
            for t in failing_tests(files, fails, chars=TEST_CLIP)
        ),
        render("debug.keep" if kept else "debug.ask"),
    ]
    return parts, fails
