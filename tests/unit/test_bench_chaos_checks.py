"""bench_chaos's counts: a council ballot that was never stored is a lost event; an id stored
twice or an FSM path walked twice is a duplicate; both parts add up in the RESULT lines."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from chaos_checks import FSM, p95_of, timeline_faults  # noqa: E402

from fleet.contracts import Ballot, Deliberation, FleetEvent, Proposal  # noqa: E402

P = Proposal(id="d1:p1", deliberation_id="d1", author="developer-1", role="developer", content="x")
B = Ballot(id="d1:b1:qa-1", deliberation_id="d1", voter="qa-1", role="qa", ranking=("d1:p1",))
RESULT = Deliberation(id="d1", story_id="s1", proposals=(P,), ballots=(B,), winner=P.id)


def _event(type_: str, *, key: str, payload=None, data=None) -> FleetEvent:
    return FleetEvent(id=f"s1:{type_}:{key}", story_id="s1", type=type_, at_ms=0,
                      payload=payload, data=data or {})  # fmt: skip


def _done_path() -> list:
    moves = [_event("story.transition", key=f"{i}", data={"from": a, "to": b})
             for i, (a, b) in enumerate(FSM)]  # fmt: skip
    return [*moves, _event("story.done", key="final", data={"outcome": "done"})]


def test_a_ballot_in_the_councils_result_without_its_event_is_lost():
    proposal = _event("council.proposal", key="p1", payload=P)
    result = _event("council.result", key="r", payload=RESULT)
    ballot = _event("council.ballot", key="b1", payload=B)
    whole = [proposal, ballot, result, *_done_path()]
    assert timeline_faults(whole, [e.id for e in whole]) == (0, 0, [])
    lost, duplicated, gaps = timeline_faults([proposal, result, *_done_path()], [])
    assert (lost, duplicated) == (1, 0) and gaps == ["d1: ballot d1:b1:qa-1"]


def test_an_id_seen_and_gone_is_lost_and_a_path_walked_twice_is_duplicated():
    path = _done_path()
    gone = _event("story.scored", key="v1")
    assert timeline_faults(path, [gone.id])[0] == 1
    again = _event("story.transition", key="9", data={"from": "TEST", "to": "DOCS"})
    # one id stored twice, and two moves beyond the exact path (the repeated one counts too)
    assert timeline_faults([*path, again, path[0]], [])[1] == 3


def test_p95_of_nothing_is_minus_one():
    assert p95_of([]) == -1.0
    assert p95_of([float(n) for n in range(1, 21)]) == 20.0


def test_both_parts_add_up_in_the_result_lines():
    from bench_chaos import results

    part1 = {"stories": 20, "done": 19, "events_lost": 1, "events_duplicated": 0,
             "recovery": [1.0] * 18 + [40.0, 50.0], "moving": [], "stored": [],
             "faults_without_stories": 0}  # fmt: skip
    part2 = {"expected_done": 3, "done": 3, "codes": 6, "codes_correct": 5, "events_lost": 2,
             "events_duplicated": 1, "recovery": [2.0]}  # fmt: skip
    got = results(part1, part2)
    assert got["stories_terminal_share"] == round(22 / 23, 3)
    assert (got["events_lost"], got["events_duplicated"]) == (3, 1)
    assert got["cli_exit_codes_correct"] == round(5 / 6, 3)
    assert got["recovery_s_p95"] == 40.0  # 21 samples of both parts: the 20th slowest
    assert results(part1, None)["cli_exit_codes_correct"] == -1.0  # --no-head: not measured
