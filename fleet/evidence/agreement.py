"""Dual execution agreement (CodeT): trust a generated test as much as the candidates agree with it.

Generated tests can be wrong (one wrong expected value would fail every correct candidate). So a
generated test's weight is the share of candidates that pass it; the repository's own tests (the
``trusted`` prefixes) always weigh 1. A generated test that no candidate passes, while some
candidate passes other generated tests, is reported as *distrusted*: it cannot sink anyone. A *keep*
test (behaviour the base already has) shows no candidate's progress, and an *advisory* one (below) is
a model's guess: that every candidate passes one distrusts nothing, so a suite whose needed tests no
candidate passes stays one no candidate passes.

A candidate's score is the weighted share of the suite it passes; it *passes the suite* when it
passes every trusted test and every generated test that is not distrusted. *Advisory* tests (QA's
own examples, written by a model from the docstring: ``fleet/council/examples.py``) weigh in the
score like any generated test but never decide whether a candidate passes the suite, so a wrong
expected value that a wrong candidate happens to share cannot push the right ones out of the top
tier; within that tier, the candidates that agree with more of them rank first. Among the candidates
that pass the suite, the next key is behaviour: how many authors have a passing candidate that
returns the same values on the probes (``fleet/evidence/probes.py``; MBR-exec / AlphaCode's
clustering). Candidates that pass exactly the same tests form a consensus set; its size breaks the
remaining ties (CodeT's consensus score).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fleet.contracts import Evidence
from fleet.evidence.probes import support


@dataclass(frozen=True)
class Agreement:
    """Per-test weights and per-candidate scores of one set of candidates' evidence."""

    weights: dict[str, float] = field(default_factory=dict)  # test id -> weight
    distrusted: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)  # proposal id -> weighted pass share
    full: dict[str, bool] = field(default_factory=dict)  # proposal id -> passes the whole suite
    consensus: dict[str, int] = field(default_factory=dict)  # proposal id -> consensus set size
    behaviour: dict[str, int] = field(default_factory=dict)  # proposal id -> authors behaving alike

    def key(self, proposal_id: str) -> tuple[int, float, int, int]:
        """Sort key (higher is better): passes the suite, weighted score, behaviour support
        among the passing candidates, consensus size."""
        return (
            int(self.full.get(proposal_id, False)),
            round(self.scores.get(proposal_id, 0.0), 6),
            self.behaviour.get(proposal_id, 0),
            self.consensus.get(proposal_id, 0),
        )


def _under(test_id: str, prefixes: Sequence[str]) -> bool:
    """``test_id`` is under one of the ``prefixes`` (``tests/test_x.py::``). A test in a
    class has the junit id ``tests/test_x/TestCls.py::test_a`` (pytest's classname
    ``tests.test_x.TestCls`` says nothing of where the module ends), so a file prefix also matches
    by dotted module name."""
    dotted = test_id.split("::", 1)[0].removesuffix(".py").replace("/", ".") + "."
    return any(
        test_id.startswith(p)
        or (p.endswith(".py::") and dotted.startswith(p[:-5].replace("/", ".") + "."))
        for p in prefixes
    )


def _collected(test_id: str) -> bool:
    """A test pytest collected; not the stand-in of a test module it could not import
    (``?::tests.test_x``: junit's entry for a collection failure, after which pytest runs nothing).
    That entry is about the candidate whose run it is: the others ran that module's tests."""
    return not test_id.startswith("?::")


def agree(
    evidence: Sequence[Evidence],
    *,
    trusted: Sequence[str] = (),
    judges: Sequence[str] | None = None,
    authors: Mapping[str, str] | None = None,
    advisory: Sequence[str] = (),
    keep: Sequence[str] = (),
) -> Agreement:
    """Weigh the tests in ``evidence`` (one entry per candidate) and score the candidates.

    ``judges``: the candidates whose agreement weighs the tests (default: all). CodeT's signal
    assumes independently written candidates; a revision written after seeing the tests chases
    them, a wrong one included, so a council weighs its tests by its first proposals only.
    ``authors``: proposal id -> author (behaviour support counts each author once; default:
    every candidate its own author). ``advisory``: prefixes of tests that score but are not needed
    to pass the suite; ``keep``: prefixes of the tests the base already passes (keep tests)."""
    with_tests = [e for e in evidence if e.tests]
    if not with_tests:
        return Agreement(
            scores={e.proposal_id: float(e.passed) for e in evidence},
            full={e.proposal_id: e.passed for e in evidence},
        )
    passed = {e.proposal_id: {t.test_id for t in e.tests if t.passed} for e in evidence}
    tests = list(dict.fromkeys(t.test_id for e in with_tests for t in e.tests))
    voters = [e for e in evidence if judges is None or e.proposal_id in judges] or list(evidence)
    n = len(voters)
    weights: dict[str, float] = {}
    for t in tests:
        share = sum(t in passed[e.proposal_id] for e in voters) / n
        weights[t] = 1.0 if _under(t, trusted) else share
    generated = [t for t in tests if not _under(t, trusted) and _collected(t)]
    # progress that can discredit a test no candidate passes: a generated test some candidate
    # passes that is neither a keep test (the base passes it) nor advisory (QA's own examples:
    # a model's guesses, often the easy calls; on HumanEval/26 every candidate passed four of
    # them and failed the docstring's example, which was distrusted, and the council committed
    # a wrong candidate without revising)
    anyone = any(
        weights[t] > 0 for t in generated if not _under(t, keep) and not _under(t, advisory)
    )
    distrusted = tuple(t for t in generated if weights[t] == 0 and anyone and n >= 2)
    total = sum(weights.values()) or 1.0
    needed = [t for t in tests if t not in distrusted and not _under(t, advisory)]
    sets = [frozenset(passed[e.proposal_id]) for e in evidence]
    ran = {e.proposal_id: {t.test_id for t in e.tests} for e in evidence}
    full = {
        e.proposal_id: bool(e.tests)
        and all(
            t in passed[e.proposal_id] for t in needed if _collected(t) or t in ran[e.proposal_id]
        )
        for e in evidence
    }
    by_id = {e.proposal_id: e for e in evidence}
    alike = support(by_id, [c for c, ok in full.items() if ok], authors or {})
    return Agreement(
        weights=weights,
        distrusted=distrusted,
        scores={
            e.proposal_id: sum(weights[t] for t in passed[e.proposal_id] if t in weights) / total
            for e in evidence
        },
        full=full,
        behaviour=alike,
        consensus={e.proposal_id: sets.count(s) for e, s in zip(evidence, sets, strict=True)},
    )
