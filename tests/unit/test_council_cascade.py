"""Each role's calls one after another, the roles together, and no slow member starves its role:
the scheduler on a simulated clock, and the in-process Gather on real threads."""

from __future__ import annotations

import threading
import time
from typing import Any

from fleet.council.cascade import Phase, cascade, chains, role_key
from fleet.council.local import PhaseTimeout, local_gather


class Sim:
    """Calls with fixed durations on a simulated clock: ``start`` records when each began."""

    def __init__(self, durations: dict[int, float]) -> None:
        self.durations = durations
        self.now = 0.0
        self.began: dict[int, float] = {}

    def clock(self) -> float:
        return self.now

    def start(self, i: int) -> int:
        self.began[i] = self.now
        return i

    def ends(self, i: int) -> float:
        return self.began[i] + self.durations[i]

    def wait(self, handles: list[int], t: float) -> set[int]:
        first = min(self.ends(h) for h in handles)
        self.now = min(self.now + t, max(first, self.now))
        return {h for h in handles if self.ends(h) <= self.now}


ASKED = {0: "developer-1", 1: "developer-2", 2: "developer-3", 3: "qa-1", 4: "architect-1"}


def test_role_key_and_chains_group_numbered_members_by_role():
    assert role_key("developer-12") == "developer"
    assert role_key("data-eng-2") == "data-eng"
    assert role_key("alice") == "alice"
    assert chains(ASKED) == [[0, 1, 2], [3], [4]]


def test_a_roles_calls_go_one_after_another_and_roles_go_together():
    sim = Sim({0: 10, 1: 10, 2: 10, 3: 25, 4: 5})
    sent = cascade(ASKED, Phase(600), start=sim.start, wait=sim.wait, clock=sim.clock)
    assert sim.began == {0: 0, 3: 0, 4: 0, 1: 10, 2: 20}
    assert sent.finished == {0, 1, 2, 3, 4} and sent.late() == []
    assert sim.now == 30  # the developers' 3 x 10 s; the qa and architect alongside


def test_a_slow_member_holds_its_role_back_only_for_its_share_of_the_phase():
    # developer-1 hangs: after 60 / (3 + 1) = 15 s the rest of its role starts, together
    sim = Sim({0: 1000, 1: 5, 2: 5, 3: 1, 4: 1})
    sent = cascade(ASKED, Phase(60), start=sim.start, wait=sim.wait, clock=sim.clock)
    assert sim.began[1] == 15 and sim.began[2] == 15
    assert sent.finished == {1, 2, 3, 4} and sent.late() == [0]
    assert sim.now == 60  # the phase ended at its timeout, not when developer-1 would have


def test_a_member_slower_than_its_share_but_answering_lets_the_next_one_go_in_turn():
    # developer-1 answers at 20 s (past its 15 s share): the other two already run from 15 s
    sim = Sim({0: 20, 1: 30, 2: 30, 3: 1, 4: 1})
    sent = cascade(ASKED, Phase(60), start=sim.start, wait=sim.wait, clock=sim.clock)
    assert sim.began == {0: 0, 3: 0, 4: 0, 1: 15, 2: 15}
    assert sent.finished == set(ASKED) and sim.now == 45


def test_a_phase_short_of_its_quorum_at_the_deadline_waits_on_for_the_calls_still_running():
    # every member is slow (a busy machine): at 600 s none answered; three are needed
    sim = Sim(dict.fromkeys(ASKED, 700.0))
    sent = cascade(ASKED, Phase(600, needed=3), start=sim.start, wait=sim.wait, clock=sim.clock)
    assert sim.began == {0: 0, 3: 0, 4: 0, 1: 150, 2: 150}  # 600 / (3 + 1): the rest go at 150 s
    assert sent.finished == {0, 3, 4} and sorted(sent.late()) == [1, 2]
    assert sim.now == 700  # it stopped waiting once three had answered
    sim = Sim(dict.fromkeys(ASKED, 700.0))  # needing none past the deadline: the phase ends there
    sent = cascade(ASKED, Phase(600), start=sim.start, wait=sim.wait, clock=sim.clock)
    assert sent.finished == set() and sim.now == 600


def test_waiting_for_the_quorum_lasts_at_most_one_more_timeout():
    sim = Sim(dict.fromkeys(ASKED, 5000.0))
    sent = cascade(ASKED, Phase(600, needed=3), start=sim.start, wait=sim.wait, clock=sim.clock)
    assert sent.finished == set() and sim.now == 1200


def test_on_sent_runs_once_the_first_call_of_every_role_is_out():
    sim = Sim(dict.fromkeys(ASKED, 1.0))
    seen: list[set[int]] = []
    cascade(ASKED, Phase(60), start=sim.start, wait=sim.wait, clock=sim.clock,
            on_sent=lambda: seen.append(set(sim.began)))  # fmt: skip
    assert seen == [{0, 3, 4}]


class Timed:
    """A member whose every method sleeps ``seconds`` and records when it ran."""

    def __init__(self, name: str, seconds: float, spans: dict[str, tuple[float, float]]) -> None:
        self.name, self.seconds, self.spans = name, seconds, spans
        self.lock = threading.Lock()

    def vote(self, *_: Any) -> str:
        t0 = time.monotonic()
        time.sleep(self.seconds)
        with self.lock:
            self.spans[self.name] = (t0, time.monotonic())
        return self.name


def test_local_gather_runs_a_roles_members_in_turn_and_answers_in_call_order():
    spans: dict[str, tuple[float, float]] = {}
    names = ["developer-1", "developer-2", "qa-1"]
    gather = local_gather({n: Timed(n, 0.2, spans) for n in names})
    got = gather([(n, "vote", ()) for n in names], 5.0)
    assert got == names
    assert spans["developer-2"][0] >= spans["developer-1"][1]  # in turn
    assert spans["qa-1"][0] < spans["developer-1"][1]  # together


def test_local_gather_a_hung_member_times_out_and_its_role_still_answers():
    spans: dict[str, tuple[float, float]] = {}
    members = {"developer-1": Timed("developer-1", 3.0, spans),
               "developer-2": Timed("developer-2", 0.05, spans)}  # fmt: skip
    t0 = time.monotonic()
    got = local_gather(members)([(n, "vote", ()) for n in members], 0.6)
    assert time.monotonic() - t0 < 1.5
    assert isinstance(got[0], PhaseTimeout) and "within 0.6s" in str(got[0])
    assert got[1] == "developer-2"
