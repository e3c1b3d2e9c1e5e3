"""The benchmark's council and vote arms retry a blocked build with the gate's findings, as the
story path does (a new council, or new samples, told what failed); a committed change is final."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import council_arms  # noqa: E402

from fleet.contracts import Story  # noqa: E402

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

    def council(task, chat, root, rounds, qa, *, attempt=0, findings=()):
        seen.append(("council", attempt, findings))
        return f"winner-{attempt}", 100, None, None

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
        lambda *a, attempt=0, findings=(): (
            seen.append(("council", attempt)) or ("w", 1, None, None)
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

    def fresh(task, chat, root, qa, findings=()):
        seen.append(("sample", findings))
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
