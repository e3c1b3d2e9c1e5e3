"""The benchmark's council and vote arms retry a blocked build with the gate's findings, as the
story path does (a new council, or new samples, told what failed); a committed change is final."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import council_arms  # noqa: E402

from fleet.contracts import Story  # noqa: E402
from fleet.pipeline.council import council_seed  # noqa: E402

TASK = SimpleNamespace(
    id="HumanEval/0",
    kind="repo",  # no per-candidate diagnostics (they judge real trees)
    story=Story(id="he0", title="Implement f", description="Make f work."),
)
FINDINGS = ("T1: failed: tests/test_t1_acceptance.py::test_f_1 - assert 1 == 2",)


def _args(attempts: int) -> argparse.Namespace:
    return argparse.Namespace(attempts=attempts, rounds=1, qa_examples=False)


def _blocked_then(outcomes: list[tuple[bool, str, tuple[str, ...] | None]], seen: list) -> object:
    def build(task, chat, winner, repo, root):
        seen.append(("build", winner))
        return outcomes.pop(0)

    return build


def test_a_blocked_build_convenes_a_new_council_told_the_findings(monkeypatch):
    seen: list = []

    def council(task, chat, root, args, *, findings=(), sitting=(0, 0)):
        seen.append(("council", sitting[0], findings))
        return f"winner-{sitting[0]}", 100, None, None

    monkeypatch.setattr(council_arms, "_council", council)
    monkeypatch.setattr(
        council_arms,
        "_build",
        _blocked_then([(False, "blocked", FINDINGS), (True, "", None)], seen),
    )
    res = council_arms.arm_council([TASK], chat=None, args=_args(2))
    assert seen == [
        ("council", 0, ()),
        ("build", "winner-0"),
        ("council", 1, FINDINGS),
        ("build", "winner-1"),
    ]
    assert res.passed == {"repo": 1} and res.tokens == 200  # both councils' tokens count


def test_a_committed_change_is_final_and_attempts_are_bounded(monkeypatch):
    seen: list = []
    monkeypatch.setattr(
        council_arms,
        "_council",
        lambda *a, findings=(), sitting=(0, 0): (
            seen.append(("council", sitting[0])) or ("w", 1, None, None)
        ),
    )
    monkeypatch.setattr(
        council_arms, "_build", _blocked_then([(False, "hidden tests fail", None)], seen)
    )
    assert council_arms.arm_council([TASK], None, _args(2)).passed == {"repo": 0}
    assert [s for s in seen if s[0] == "council"] == [("council", 0)]  # committed: no retry
    seen.clear()
    monkeypatch.setattr(
        council_arms, "_build", _blocked_then([(False, "blocked", FINDINGS)] * 2, seen)
    )
    council_arms.arm_council([TASK], None, _args(1))
    assert [s for s in seen if s[0] == "council"] == [("council", 0)]  # --attempts 1


def test_the_vote_arm_samples_again_with_the_findings(monkeypatch):
    seen: list = []
    suite = SimpleNamespace(trusted=(), advisory=())

    asks: list = []

    def fresh(task, chat, root, ask, findings=()):
        seen.append(("sample", findings))
        asks.append(ask)
        return [], [], 50, suite, root

    monkeypatch.setattr(council_arms, "_fresh_round0", fresh)
    monkeypatch.setattr(
        council_arms,
        "_build",
        _blocked_then([(False, "blocked", FINDINGS), (True, "", None)], seen),
    )
    res = council_arms.arm_vote([TASK], chat=None, args=_args(2))
    assert seen == [("sample", ()), ("build", None), ("sample", FINDINGS), ("build", None)]
    assert res.passed == {"repo": 1} and res.tokens == 100
    # the retry starts from the first tests its first attempt found (the story path's carry),
    # and its suite is sampled with the attempt's own seed (the story path's council_seed)
    assert asks[0].carry is asks[1].carry and isinstance(asks[0].carry, dict)
    assert asks[0].seed == council_seed(0, 0) == 0 and asks[1].seed == council_seed(0, 0, 1) != 0


def test_vote_cost_samples_until_it_has_spent_the_councils_tokens(monkeypatch):
    # vote_cost draws further first patches (developer-4, -5, ...) until its tokens reach the
    # council's on the same task and attempt, at most MAX_SAMPLES candidates in all
    import vote_cost

    drawn: list[str] = []

    def team(chat, ledger, members, task=None):
        (name,) = members
        return {name: ledger}

    def first_patches(task, team, names, repo, suite, findings):
        (name,) = names
        team[name][name] += 100  # each sample costs 100 tokens
        drawn.append((name, findings))
        return [SimpleNamespace(id=name)]

    class Evidence:
        def __init__(self, *a, **kw):
            pass

        def run(self, props, suite, **kw):
            return [f"ev-{p.id}" for p in props]

    import fleet.adapters.evidence

    monkeypatch.setattr(vote_cost, "_team", team)
    monkeypatch.setattr(vote_cost, "first_patches", first_patches)
    monkeypatch.setattr(fleet.adapters.evidence, "SandboxEvidence", Evidence)
    monkeypatch.setitem(vote_cost.SPENT, TASK.id, [450, 200])
    three = [SimpleNamespace(id=f"developer-{n}") for n in (1, 2, 3)]
    more = vote_cost._more
    Drawn = council_arms.Drawn
    got = Drawn(three, ["e1", "e2", "e3"], 150, None, Path("/x"))
    (props, found, spent, _, _), note = more(None, TASK, 0, got, Path("/r"), ())
    assert [p.id for p in props[3:]] == ["developer-4", "developer-5", "developer-6"]
    assert spent == 450 and found[3:] == ["ev-developer-4", "ev-developer-5", "ev-developer-6"]
    assert "450 of the council's 450" in note
    drawn.clear()
    (props, _, spent, _, _), _ = more(
        None, TASK, 1, Drawn(three, [], 150, None, Path("/x")), Path("/r"), FINDINGS
    )
    assert (
        drawn == [("developer-4", FINDINGS)] and spent == 250
    )  # the retry's budget, told the findings
    monkeypatch.setitem(vote_cost.SPENT, TASK.id, [10**9])
    assert (
        len(more(None, TASK, 0, Drawn(three, [], 0, None, Path("/x")), Path("/r"), ())[0].props)
        == vote_cost.MAX_SAMPLES
    )
    monkeypatch.delitem(vote_cost.SPENT, TASK.id)
    with pytest.raises(RuntimeError, match="run the council arm first"):
        more(None, TASK, 0, Drawn(three, [], 0, None, Path("/x")), Path("/r"), ())


def test_a_council_that_loses_its_quorum_counts_the_tokens_it_spent(monkeypatch):
    def council(task, chat, root, args, *, findings=(), sitting=(0, 0)):
        raise council_arms.CouncilFailed(1234, RuntimeError("quorum lost in round 1"))

    monkeypatch.setattr(council_arms, "_council", council)
    res = council_arms.arm_council([TASK], chat=None, args=_args(2))
    assert res.tokens == 1234 and res.passed.get("repo", 0) == 0
