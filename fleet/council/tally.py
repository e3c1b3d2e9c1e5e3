"""Vote-counting rules: pure functions over ballots, proposal ids and (optionally) evidence.

Rules (each voter's contribution is multiplied by its weight, default 1):

- ``plurality``: one point to each ballot's first choice.
- ``borda``: with n candidates, a ballot's k-th choice (0-based) earns n-1-k; unranked earn 0.
- ``approval``: one point to each approved candidate.
- ``score``: the sum of the 0-10 scores the ballots give.
- ``evidence``: candidates are split into tiers by sandbox evidence and ordered by the ``base``
  rule only *within* a tier, so a proposal whose tests fail never beats one whose tests pass,
  whatever the votes. With per-test evidence (patch councils) the tier is (passes the whole
  suite, share of the suite passed with each generated test weighted by how many candidates
  pass it, consensus set size: ``fleet/evidence/agreement.py``); with command evidence it is
  tests passed > no evidence > tests failed.

Deterministic tie-break, applied in order until one candidate is ahead:
1. more first-choice votes (weighted), 2. higher Borda score, 3. earlier proposal in council
member order (the order of ``candidates``). ``Tally.tie_break`` names the step that decided.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fleet.contracts import Ballot, Evidence, Tally
from fleet.council.schemas import RULES
from fleet.errors import UnknownName
from fleet.evidence.agreement import agree
from fleet.evidence.probes import support

Scores = dict[str, float]
Scorer = Callable[[Sequence[Ballot], Sequence[str], Mapping[str, float]], Scores]


def _zero(candidates: Sequence[str]) -> Scores:
    return dict.fromkeys(candidates, 0.0)


def _ranked(ballot: Ballot, candidates: Sequence[str]) -> list[str]:
    # A ranking may name a candidate twice or one that does not exist: keep the first valid mention.
    seen: list[str] = []
    for pid in ballot.ranking:
        if pid in candidates and pid not in seen:
            seen.append(pid)
    return seen


def plurality(
    ballots: Sequence[Ballot], candidates: Sequence[str], weights: Mapping[str, float]
) -> Scores:
    out = _zero(candidates)
    for b in ballots:
        ranked = _ranked(b, candidates)
        if ranked:
            out[ranked[0]] += weights.get(b.voter, 1.0)
    return out


def borda(
    ballots: Sequence[Ballot], candidates: Sequence[str], weights: Mapping[str, float]
) -> Scores:
    out, n = _zero(candidates), len(candidates)
    for b in ballots:
        for k, pid in enumerate(_ranked(b, candidates)):
            out[pid] += weights.get(b.voter, 1.0) * (n - 1 - k)
    return out


def approval(
    ballots: Sequence[Ballot], candidates: Sequence[str], weights: Mapping[str, float]
) -> Scores:
    out = _zero(candidates)
    for b in ballots:
        for pid in dict.fromkeys(b.approvals):
            if pid in out:
                out[pid] += weights.get(b.voter, 1.0)
    return out


def score(
    ballots: Sequence[Ballot], candidates: Sequence[str], weights: Mapping[str, float]
) -> Scores:
    out = _zero(candidates)
    for b in ballots:
        for pid, value in b.scores.items():
            if pid in out:
                out[pid] += weights.get(b.voter, 1.0) * value
    return out


SCORERS: dict[str, Scorer] = {
    "plurality": plurality,
    "borda": borda,
    "approval": approval,
    "score": score,
}


def evidence_tiers(evidence: Sequence[Evidence], candidates: Sequence[str]) -> dict[str, int]:
    """2 = tests passed, 1 = no evidence (nothing to run), 0 = tests failed."""
    tiers = dict.fromkeys(candidates, 1)
    for ev in evidence:
        if ev.proposal_id in tiers:
            tiers[ev.proposal_id] = 2 if ev.passed else 0
    return tiers


@dataclass(frozen=True)
class Judged:
    """Per-test evidence as the tally weighs it (``fleet/evidence/agreement.py``): the evidence,
    the test-id prefixes always trusted (the repository's tests, the report's own examples), the
    candidates whose agreement weighs the generated tests (``judges``; None: all), each
    candidate's author, the advisory prefixes (QA's own examples), the keep prefixes (tests
    the base passes) and what the base did on the distinguishing inputs (``before``)."""

    evidence: Sequence[Evidence] = ()
    trusted: Sequence[str] = ()
    judges: Sequence[str] | None = None
    authors: Mapping[str, str] | None = None
    advisory: Sequence[str] = ()
    keep: Sequence[str] = ()
    before: Mapping[str, str] = field(default_factory=dict)


def _judged(evidence: Sequence[Evidence] | Judged) -> Judged:
    return evidence if isinstance(evidence, Judged) else Judged(tuple(evidence))


def evidence_keys(
    evidence: Sequence[Evidence] | Judged, candidates: Sequence[str]
) -> dict[str, tuple[float, ...]]:
    """Each candidate's evidence tier as a sort key (higher is better).

    Per-test evidence (patch councils): (passes the whole suite, agreement-weighted share of the
    suite passed, authors whose passing candidates behave alike on the probes, consensus set
    size), with a candidate without evidence at the bottom. Command
    evidence: the three tiers of :func:`evidence_tiers`.
    """
    facts = _judged(evidence)
    mine = [e for e in facts.evidence if e.proposal_id in candidates]
    if not any(e.tests or e.patch_hash for e in mine):
        return {c: (float(t),) for c, t in evidence_tiers(mine, candidates).items()}
    found = agree(mine, trusted=facts.trusted, judges=facts.judges, authors=facts.authors,
                  advisory=facts.advisory, keep=facts.keep)  # fmt: skip
    if facts.before:  # the base commit witnesses on the distinguishing inputs
        ok = [c for c, full in found.full.items() if full]
        by_id = {e.proposal_id: e for e in mine}
        found = replace(found, behaviour=support(by_id, ok, facts.authors or {}, facts.before))
    return {c: tuple(float(k) for k in found.key(c)) for c in candidates}


def rank(
    rule: str,
    ballots: Sequence[Ballot],
    candidates: Sequence[str],
    *,
    weights: Mapping[str, float] | None = None,
    evidence: Sequence[Evidence] | Judged = (),
    base: str = "borda",
) -> tuple[list[str], Scores, str | None]:
    """Every candidate best first, the rule's scores, and what broke the decisive tie (if any)."""
    if rule not in RULES:
        raise UnknownName(what="tally rule", name=rule, valid=RULES)
    if not candidates:
        raise ValueError("nothing to vote on: no proposals")
    counted = base if rule == "evidence" else rule
    if counted not in SCORERS:
        raise UnknownName(what="evidence base rule", name=counted, valid=tuple(SCORERS))
    w = weights or {}
    scores = {k: round(v, 9) for k, v in SCORERS[counted](ballots, candidates, w).items()}
    firsts = plurality(ballots, candidates, w)
    points = borda(ballots, candidates, w)
    tiers: dict[str, tuple[float, ...]] = (
        evidence_keys(evidence, candidates)
        if rule == "evidence"
        else {c: (1.0,) for c in candidates}
    )
    order = {pid: i for i, pid in enumerate(candidates)}
    keys = {c: (tiers[c], scores[c], firsts[c], points[c], -order[c]) for c in candidates}
    ranked = sorted(candidates, key=lambda c: keys[c], reverse=True)
    return ranked, scores, _decided_by(ranked, keys)


def _decided_by(ranked: Sequence[str], keys: Mapping[str, tuple[Any, ...]]) -> str | None:
    if len(ranked) < 2:
        return None
    top, second = keys[ranked[0]], keys[ranked[1]]
    if any(keys[c][0] < top[0] and keys[c][1] > top[1] for c in ranked[1:]):
        return "evidence: passing tests outrank votes"  # the votes alone would have picked another
    if top[:2] != second[:2]:
        return None
    steps = ("first-choice votes", "borda points", "member order")
    for step, a, b in zip(steps, top[2:], second[2:], strict=True):
        if a != b:
            return step
    return "member order"  # unreachable: order is unique


def tally(
    rule: str,
    ballots: Sequence[Ballot],
    candidates: Sequence[str],
    *,
    weights: Mapping[str, float] | None = None,
    evidence: Sequence[Evidence] | Judged = (),
    base: str = "borda",
) -> Tally:
    """Count ``ballots`` over ``candidates`` (proposal ids in member order) with ``rule``
    (``evidence``: a :class:`Judged` for per-test evidence weighed by agreement)."""
    ranked, scores, why = rank(
        rule, ballots, candidates, weights=weights, evidence=evidence, base=base
    )
    name = f"evidence/{base}" if rule == "evidence" else rule
    return Tally(rule=name, scores=scores, winner=ranked[0], tie_break=why)


def consensus(ballots: Sequence[Ballot], candidates: Sequence[str], fraction: float) -> str | None:
    """The candidate that at least ``fraction`` of the voters rank first, else ``None``."""
    if not ballots:
        return None
    firsts: dict[str, int] = {}
    for b in ballots:
        ranked = _ranked(b, candidates)
        if ranked:
            firsts[ranked[0]] = firsts.get(ranked[0], 0) + 1
    needed = math.ceil(fraction * len(ballots) - 1e-9)
    best = max(firsts.items(), key=lambda kv: kv[1], default=(None, 0))
    return best[0] if best[1] >= needed else None
