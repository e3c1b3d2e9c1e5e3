"""The benchmark's council arm convenes a council again after a lost quorum, as the story path's
driver does (twice, with seeds of their own), and counts every council's tokens and minutes."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fleet.errors import QuorumLost, UserError
from fleet.pipeline.council import RECONVENED_FLOOR, council_seed
from tests.unit.test_council_preset import bench_request, council_arms


def test_a_reconvened_bench_council_samples_with_the_story_paths_seeds():
    first, again = bench_request(argparse.Namespace()), bench_request(argparse.Namespace(), 1)
    assert first.seed == council_seed(0, 0) == 0
    assert again.seed == council_seed(0, 1) != 0 and again.id == f"{first.id}.c1"
    assert (first.temperature_floor, again.temperature_floor) == (0.0, RECONVENED_FLOOR)


def _lost(convened: int) -> QuorumLost:
    return QuorumLost(deliberation_id=f"d.c{convened}", round=0, present=1, quorum=2)


def test_a_lost_quorum_is_convened_again_twice_and_every_council_counts(monkeypatch, tmp_path):
    calls: list[tuple[Path, tuple[int, int]]] = []

    def council(task: Any, chat: Any, root: Path, args: Any, **kw: Any) -> Any:
        calls.append((root, kw["sitting"]))
        if len(calls) < 3:
            raise council_arms.CouncilFailed(100, _lost(len(calls) - 1), 2.0)
        council_arms.MINUTES.append(1.0)
        return "winner", 10, "d", "suite"

    monkeypatch.setattr(council_arms, "_council", council)
    monkeypatch.setattr(council_arms, "MINUTES", [])
    got = council_arms._convene(
        SimpleNamespace(id="t"), None, tmp_path, argparse.Namespace(), 0, ()
    )
    assert got == ("winner", 210, "d", "suite", tmp_path / "c2")
    assert [s for _, s in calls] == [(0, 0), (0, 1), (0, 2)]
    assert council_arms.MINUTES == [5.0]  # the lost councils' minutes are the task's too


def test_the_third_lost_quorum_fails_the_task_and_other_errors_are_not_retried(
    monkeypatch, tmp_path
):
    asked: list[Any] = []

    def lost(task: Any, chat: Any, root: Path, args: Any, **kw: Any) -> Any:
        asked.append(kw["sitting"])
        raise council_arms.CouncilFailed(100, _lost(kw["sitting"][1]), 1.0)

    monkeypatch.setattr(council_arms, "_council", lost)
    monkeypatch.setattr(council_arms, "MINUTES", [])
    with pytest.raises(council_arms.CouncilFailed) as err:
        council_arms._convene(SimpleNamespace(id="t"), None, tmp_path, argparse.Namespace(), 1, ())
    assert err.value.tokens == 300 and len(asked) == 3 and council_arms.MINUTES == [3.0]

    def broken(task: Any, chat: Any, root: Path, args: Any, **kw: Any) -> Any:
        asked.append(kw["sitting"])
        raise council_arms.CouncilFailed(7, UserError("bad task"), 0.5)

    monkeypatch.setattr(council_arms, "_council", broken)
    asked.clear()
    with pytest.raises(council_arms.CouncilFailed):
        council_arms._convene(SimpleNamespace(id="t"), None, tmp_path, argparse.Namespace(), 0, ())
    assert asked == [(0, 0)]
