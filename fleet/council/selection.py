"""When a patch council's evidence settles it, and when ballots are worth asking for.

The ``evidence`` tally orders candidates by their evidence first and by the ballots only within
the best evidence tier (``fleet/council/tally.py``), so a ballot can change the winner only
among candidates whose evidence keys tie at the top. Ballots are therefore asked only there
(:func:`undecided`), and not even there when those candidates did the same thing on every input
they were run on (the suite's probes and the distinguishing inputs): whichever wins, the change
behaves the same. A council whose evidence is decisive then costs about what sampling plus test
selection (``vote``) costs.
"""

from __future__ import annotations

from fleet.council.debugging import changed
from fleet.council.distinguish import alike, distinct
from fleet.council.outcome import facts
from fleet.council.protocol import CouncilState
from fleet.council.tally import consensus, evidence_keys
from fleet.evidence.probes import contested


def keys(state: CouncilState) -> dict[str, tuple[float, ...]]:
    """Every candidate's evidence sort key (the tally's: every version of the candidates,
    tests weighed by the first proposals)."""
    candidates = state.candidates()
    return evidence_keys(facts(state, candidates), [p.id for p in candidates])


def passing(state: CouncilState) -> tuple[list[str], bool]:
    """A patch council's candidates that pass the whole evidence suite, and whether they are
    *contested* (they return different values on a probe and no behaviour has a majority of
    their authors, the base commit a witness on the distinguishing inputs: one of them is wrong,
    and the suite cannot tell which). A revision that
    chased a wrong test does not pass "the whole suite" (tests are weighed by first proposals)."""
    if state.request.suite is None:
        return [], False
    found = keys(state)
    ok = [c for c in found if found[c][0] == 1.0]
    authors = {p.id: p.author for p in state.candidates()}
    shown = {e.proposal_id: e for e in state.evidence_of(state.candidates())}
    return ok, contested(shown, ok, authors, state.before())


def keeping(state: CouncilState, ids: list[str]) -> list[str]:
    """The candidates of ``ids`` that fail none of the suite's keep tests (in a bug or change
    story, QA's examples the base commit already passes: behaviour the change should keep)."""
    suite = state.request.suite
    if suite is None or not suite.keep:
        return ids
    by_id = {e.proposal_id: e for e in state.evidence}  # the latest evidence of each
    return [c for c in ids if not changed(by_id.get(c), suite.keep)]


def could_settle(state: CouncilState) -> bool:
    """Whether a vote now could end the council early. In a patch council it cannot while no
    candidate passes the whole suite and keeps the base's behaviour where the keep tests pin
    it, or the passing ones are contested (:func:`settled`): that vote's ballots would be
    superseded by the closing vote unread, so it is not asked for."""
    if state.request.suite is None:
        return True
    ok, disputed = passing(state)
    return bool(keeping(state, ok)) and not disputed


def settled(state: CouncilState) -> bool:
    """Early stop: a supermajority ranks one candidate first (in a patch council, it must also
    pass the whole evidence suite); in a patch council with ``settle_on_pass``, also any
    candidate passing the whole suite (a critique round then only re-litigates a tie that the
    ballots already break, at 3-4x the proposals' cost). Never while the passing candidates are
    contested (:func:`passing`)."""
    req = state.request
    ids = [p.id for p in state.current()]
    first = consensus(state.last_ballots(), ids, req.supermajority)
    if req.suite is None:
        return first is not None
    ok, disputed = passing(state)
    if disputed:
        return False  # passing candidates disagree on a probe: the pass settles nothing yet
    if req.settle_on_pass and keeping(state, ok):
        return True  # a pass that also changed behaviour the keep tests pin settles nothing yet
    return first is not None and first in ok


def undecided(state: CouncilState) -> list[str]:
    """The candidates a ballot would choose between: those tied at the top of the evidence,
    when they are different changes that did not do the same on every input. [] when the
    evidence decides (one candidate is ahead, or the tied ones behave alike)."""
    req = state.request
    if req.suite is None or not req.distinguish:
        return [p.id for p in state.current()]
    found = keys(state)
    if not found:
        return []
    top = max(found.values())
    tied = [p for p in state.candidates() if found[p.id] == top]
    if len(distinct(tied, req.suite)) < 2:
        return []
    by_id = {e.proposal_id: e for e in state.evidence}
    probed = [by_id.get(p.id) for p in tied]
    if all(e is not None and e.observed for e in probed) and alike(probed):
        return []
    return [p.id for p in tied]
