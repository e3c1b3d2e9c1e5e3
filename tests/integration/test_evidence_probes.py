"""Probes in real evidence runs (bubblewrap, git): what each candidate returns on inputs near the
examples, and a patch council that does not settle while passing candidates disagree."""

from __future__ import annotations

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.adapters.git_repo import GitRepo
from fleet.config import load
from fleet.contracts import Proposal, RunContext
from fleet.council import Council, DeliberationRequest, Member
from fleet.evidence.acceptance import build_suite
from fleet.evidence.probes import conflicts, same_behaviour
from fleet.evidence.suite import with_suite
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel
from tests.integration.test_council_evidence import _edit, _patch, _repo

ROLES = load("roles.yaml")
CRITERIA = ["add(2, 3) returns 5"]
RIGHT = "return a + b"
CHEAT = "return 5 if (a, b) == (2, 3) else a * b"  # passes the one example, wrong elsewhere
LOOPS = "if a > 2:\n        while True:\n            pass\n    return a + b"


def _suite(repo, evidencer):
    return build_suite(
        CRITERIA,
        name="t1",
        repo_tests=["tests/test_old.py"],
        qa=None,
        baseline=lambda s: evidencer.baseline(
            s, source=str(repo), base="main", context=RunContext()
        ),
    )


def test_evidence_runs_observe_each_candidate_on_the_probes(tmp_path):
    repo = _repo(tmp_path)
    evidencer = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=2)
    suite, notes = _suite(repo, evidencer)
    assert list(suite.probes) == ["tests/test_t1_probes.py"]
    assert any(n.startswith("probes tests/test_t1_probes.py") for n in notes)
    bodies = {
        "right": RIGHT,
        "cheat": CHEAT,
        "loops": LOOPS,
    }
    props = [
        Proposal(
            id=name,
            deliberation_id="d",
            author=name,
            role="developer",
            content=name,
            patch=_patch(repo, {"calc.py": f"def add(a, b):\n    {body}\n"}),
        )  # fmt: skip
        for name, body in bodies.items()
    ]
    got = {e.proposal_id: e for e in evidencer.run(props, suite, source=str(repo), base="main",
                                                    context=RunContext())}  # fmt: skip
    # every candidate passes the suite (the example and the repository's test) ...
    assert all(e.passed and e.tests_passed == 2 for e in got.values()), got
    assert all(
        not t.test_id.startswith("tests/test_t1_probes") for e in got.values() for t in e.tests
    )
    # ... but they do not behave alike on the inputs near the example
    assert got["right"].observed["add(3, 3)"] == "returns 6"
    assert got["cheat"].observed["add(3, 3)"] == "returns 9"
    assert "add(3, 3)" in conflicts(got["right"], got["cheat"])
    # a candidate that loops on one input is stopped there and measured on the others
    assert got["loops"].observed["add(3, 3)"] == "timeout"
    assert got["loops"].observed["add(2, 4)"] == "returns 6"
    assert same_behaviour(got["right"], got["loops"])
    # the probes are never shipped with a candidate, nor can a patch change them
    shipped = with_suite(props[0].patch, suite)
    assert "test_t1_probes" not in shipped.diff and suite.is_protected("tests/test_t1_probes.py")


def test_a_council_does_not_settle_while_passing_candidates_disagree(tmp_path):
    from fleet.agents import write_patch
    from fleet.council.patching import PatchTools
    from fleet.testing.council import Coder

    repo = _repo(tmp_path)
    evidencer = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=2)
    suite, _ = _suite(repo, evidencer)
    tools = PatchTools(write_patch=write_patch, repo=GitRepo)
    favourite = "developer-2"  # every ballot ranks the cheat first
    scripts = {
        "developer-1": Coder(_edit(RIGHT), favourite=favourite),
        "developer-2": Coder(_edit(CHEAT), favourite=favourite),
        "developer-3": Coder(_edit("return a * b"), _edit(RIGHT), favourite=favourite),
        "qa-1": Coder("", favourite=favourite),
    }
    team = {
        m: Member(m, m.rsplit("-", 1)[0], ROLES.get(m.rsplit("-", 1)[0]),
                  ScriptedChatModel(script=s), tools=tools if m.startswith("dev") else None)
        for m, s in scripts.items()
    }  # fmt: skip
    req = DeliberationRequest(
        id="pr", story_id="s-pr", task="make add() add", members=tuple(team),
        proposers=("developer-1", "developer-2", "developer-3"), rounds=1, rule="evidence",
        suite=suite, source=str(repo), base="main", base_commit=GitRepo(repo).commit("main"),
        acceptance=tuple(CRITERIA),
    )  # fmt: skip
    d = Council(local_gather_of(team), InMemoryEventLog(), clock=FakeClock(),
                evidencer=evidencer).deliberate(req)  # fmt: skip
    # round 0: developer-1 and developer-2 both pass and disagree, one against one: no settling
    assert d.rounds == 1 and not d.tally.early_stop
    on_cheat = [c.content for c in d.critiques if c.target == "pr:p0:developer-2"]
    assert on_cheat and all("differs on add(" in c for c in on_cheat)
    # developer-3's revision passes and behaves like developer-1: that behaviour wins the votes
    winner = next(p for p in d.proposals if p.id == d.winner)
    assert winner.author in ("developer-1", "developer-3") and RIGHT in winner.patch.diff
    cheat = next(pid for pid in d.tally.scores if pid.endswith(":developer-2"))
    assert d.tally.scores[cheat] > d.tally.scores[d.winner]  # the votes wanted the cheat


def local_gather_of(team):
    from fleet.council.local import local_gather

    return local_gather(team)
