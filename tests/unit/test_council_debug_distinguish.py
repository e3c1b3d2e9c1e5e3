"""A patch council's sequential debugging and its selection by distinguishing inputs, in process.

Real members (``fleet.council.Member``) with the scripted chat model; the patches come from a
scripted ``write_patch`` (one diff after another per developer, recording what it was asked) and
the evidence from a table of what each diff does (a fake evidencer: which tests fail with which
message, and what the change returns on each probe input).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from fleet import contracts
from fleet.config import load
from fleet.contracts import ChatMessage, Evidence, Patch, Proposal
from fleet.council import Council, DeliberationRequest, Member, plan
from fleet.council.local import local_gather
from fleet.council.patching import PatchTools
from fleet.errors import SandboxUnavailable
from fleet.evidence.suite import EvidenceSuite, evidence_of, patch_hash
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

ROLES = load("roles.yaml")
SUITE = EvidenceSuite(test_paths=("tests",), protected=("tests/test_calc.py",))
TEST = "tests/test_calc.py::test_add"


def diff(body: str) -> str:
    """A change of ``calc.add`` whose body is ``body``."""
    return (
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n"
        "@@ -1,2 +1,2 @@\n def add(a, b):\n-    pass\n"
        f"+    {body}\n"
    )


class Table:
    """What each change does: its failing test's message (None: it passes) and its outputs;
    ``before``: what the base commit (no change) does."""

    def __init__(
        self,
        rows: Mapping[str, tuple[str | None, Mapping[str, str]]],
        before: Mapping[str, str] | None = None,
    ) -> None:
        self.rows = {diff(body): row for body, row in rows.items()}
        self.rows[""] = ("AssertionError: assert None == 4", before or {})
        self.runs: list[tuple[str, EvidenceSuite]] = []

    def run(
        self,
        proposals: Sequence[Proposal],
        suite: EvidenceSuite,
        *,
        source: str,
        base: str | None,
        context: Any,
    ) -> list[Evidence]:
        out = []
        for p in proposals:
            assert p.patch is not None
            failure, outputs = self.rows[p.patch.diff]
            self.runs.append((p.author, suite))
            probes = [c for m in suite.probes.values() for c in _calls_of(m)]
            tests = tuple(
                contracts.TestOutcome(test_id=f"tests/x.py::probe_{i}", passed=True, probe=c,
                            observed=outputs.get(c, "raises NameError"))
                for i, c in enumerate(probes)
            )  # fmt: skip
            if not suite.probes or suite.files or "test_calc" in "".join(suite.test_paths):
                tests += (
                    contracts.TestOutcome(
                        test_id=TEST, passed=failure is None, excerpt=failure or ""
                    ),
                )
            out.append(evidence_of(p.id, tests, digest=patch_hash(p.patch.diff)))
        return out


def _calls_of(module: str) -> list[str]:
    """The calls a probe module observes (``_observe(record_property, 'f(1)', ...)``)."""
    return [eval(m) for m in re.findall(r"_observe\(record_property, ('[^']*')", module)]  # noqa: S307


class Script:
    """Each developer's patches in turn (the last one again when they run out), and the
    requests it was given."""

    def __init__(self, bodies: Mapping[str, Sequence[str]]) -> None:
        self.bodies = {m: list(b) for m, b in bodies.items()}
        self.asked: dict[str, list[str]] = {m: [] for m in bodies}

    def tools(self, member: str) -> PatchTools:
        def write_patch(model: Any, request: Any, *a: Any, **k: Any) -> Patch:
            self.asked[member].append("\n".join(m.content for m in request.messages))
            queue = self.bodies[member]
            body = queue.pop(0) if len(queue) > 1 else queue[0]
            return Patch(base_commit="abc", diff=diff(body), files=("calc.py",), rationale=body)

        return PatchTools(write_patch=write_patch, repo=lambda source: Repo())


class Repo:
    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return {"calc.py": "def add(a, b):\n    pass\n"}

    def read(self, ref: str, path: str) -> str | None:
        return self.files().get(path)

    def check(self, patch: Patch) -> str | None:
        return None


class Voters:
    """The scripted model of QA and the voters: QA's inputs, critiques, ballots ranking #1 first;
    every request is kept."""

    def __init__(self, inputs: str = "add(2, 2)\nadd(-1, 1)\nimport os\n") -> None:
        self.inputs, self.seen = inputs, list[str]()

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        self.seen.append(messages[-1].content)
        if schema is None:
            return self.inputs
        if "severity" in schema["properties"]:
            return json.dumps({"severity": "major", "comment": "wrong result"})
        n = schema["properties"]["ranking"].get("maxItems", 2)
        return json.dumps({"ranking": list(range(1, n + 1)), "scores": [9] * n, "reason": "r"})


def council(script: Script, voters: Voters, table: Table, **kw: Any):
    members = {
        m: Member(m, m.rsplit("-", 1)[0], ROLES.get(m.rsplit("-", 1)[0]),
                  ScriptedChatModel(script=voters), tools=script.tools(m) if m in script.bodies else None)
        for m in ("developer-1", "developer-2", "qa-1")
    }  # fmt: skip
    req = DeliberationRequest(
        id="d1", story_id="s1", task_id="T1", task="add(a, b) returns their sum", phase="build",
        members=tuple(members), proposers=("developer-1", "developer-2"), rule="evidence",
        source="/repo", base="main", base_commit="abc", **{"rounds": 0, "suite": SUITE, **kw},
    )  # fmt: skip
    log = InMemoryEventLog()
    d = Council(local_gather(members), log, clock=FakeClock(), evidencer=table).deliberate(req)
    return d, [ev for _, ev in log.read("s1")]


def data(events: list[Any], type_: str) -> list[dict[str, Any]]:
    return [ev.data for ev in events if ev.type == type_]


def debugging(events: list[Any]) -> Any:
    """What the round-0 ``council.round_completed`` event says about the debugging."""
    return data(events, "council.round_completed")[0].get("debugging")


def distinguished(events: list[Any]) -> list[dict[str, Any]]:
    """The distinguishing inputs every ``council.round_completed`` event records."""
    return [x for d in data(events, "council.round_completed") for x in d.get("distinguished", [])]


# ----------------------------------------------------------------------------- debugging


def test_the_plan_has_k_debug_steps_after_the_proposals_in_a_patch_council_only():
    base = {"id": "d", "story_id": "s", "task": "t", "members": ("developer-1",), "rounds": 0}
    patch = {"suite": SUITE, "source": "/repo"}
    assert plan(DeliberationRequest(**base, **patch, debug_rounds=2)) == [
        (0, "propose"), (0, "debug"), (0, "debug"), (0, "vote"),
    ]  # fmt: skip
    assert plan(DeliberationRequest(**base, **patch)) == [(0, "propose"), (0, "vote")]
    assert plan(DeliberationRequest(**base, debug_rounds=2)) == [(0, "propose"), (0, "vote")]


def test_a_developer_debugs_from_its_failure_output_and_stops_once_it_passes():
    script = Script({"developer-1": ["return a - b", "return a + b"],
                     "developer-2": ["return a * b", "return a * b + 1"]})  # fmt: skip
    table = Table({
        "return a - b": ("AssertionError: assert -1 == 5 where -1 = add(2, 3)", {}),
        "return a + b": (None, {}),
        "return a * b": ("AssertionError: assert 6 == 5", {}),
        "return a * b + 1": ("AssertionError: assert 7 == 5", {}),
    })  # fmt: skip
    d, events = council(script, Voters(), table, debug_rounds=3, distinguish=True)
    # developer-1 was shown its own failure (the test, expected against actual) and fixed it once
    assert len(script.asked["developer-1"]) == 2
    assert "assert -1 == 5 where -1 = add(2, 3)" in script.asked["developer-1"][1]
    assert "Fix your patch so these tests pass" in script.asked["developer-1"][1]
    versions = [p.id for p in d.proposals if p.author == "developer-1"]
    assert versions == ["d1:p0:developer-1", "d1:p0d1:developer-1"]
    # developer-2 was still failing, but developer-1's pass settles the council: no third turn
    assert len(script.asked["developer-2"]) == 2
    assert debugging(events) == {
        "bound": 3,
        "developers": {"developer-1": {"versions": 1, "stopped": "passes"},
                       "developer-2": {"versions": 1, "stopped": "another passes"}},
    }  # fmt: skip
    # one candidate passes: the evidence decides, no ballot is asked
    assert d.ballots == () and d.winner == "d1:p0d1:developer-1"


def test_no_debugging_once_a_first_proposal_passes_unless_settle_on_pass_is_off():
    bodies = {"developer-1": ["return a - b", "return a + b"], "developer-2": ["return a + b"]}
    table = Table({"return a - b": ("AssertionError: assert -1 == 5", {}),
                   "return a + b": (None, {})})  # fmt: skip
    script = Script(bodies)
    d, events = council(script, Voters(), table, debug_rounds=2, distinguish=True)
    assert len(script.asked["developer-1"]) == 1 and d.winner == "d1:p0:developer-2"
    assert debugging(events)["developers"]["developer-1"]["stopped"] == "another passes"
    script = Script(bodies)
    council(script, Voters(), table, debug_rounds=2, settle_on_pass=False)
    assert len(script.asked["developer-1"]) == 2  # fixed from its failure, then passes


def test_debugging_stops_when_the_failure_output_does_not_change():
    script = Script({"developer-1": ["return a - b", "return b - a", "return a + b"],
                     "developer-2": ["return a * b"]})  # fmt: skip
    same = "AssertionError: assert -1 == 5"
    table = Table({"return a - b": (same, {}), "return b - a": (same, {}),
                   "return a + b": (None, {}), "return a * b": ("AssertionError: assert 6 == 5", {})})  # fmt: skip
    d, events = council(script, Voters(), table, debug_rounds=4)
    # developer-1: one debugging turn gave the same failure, so it stopped (never got to a + b)
    assert [p.id for p in d.proposals if p.author == "developer-1"] == [
        "d1:p0:developer-1", "d1:p0d1:developer-1",
    ]  # fmt: skip
    summary = debugging(events)["developers"]
    assert summary["developer-1"] == {"versions": 1, "stopped": "unchanged"}
    assert summary["developer-2"] == {"versions": 1, "stopped": "unchanged"}


def test_debugging_is_bounded_by_debug_rounds():
    bodies = ["return a - b", "return a - b - 1", "return a - b - 2", "return a - b - 3"]
    script = Script({"developer-1": bodies, "developer-2": ["return 0"]})
    table = Table({b: (f"AssertionError: assert {i} == 5", {}) for i, b in enumerate(bodies)}
                  | {"return 0": ("AssertionError: assert 0 == 5", {})})  # fmt: skip
    d, events = council(script, Voters(), table, debug_rounds=2)
    assert len(script.asked["developer-1"]) == 3  # the first patch and two debugging turns
    summary = debugging(events)["developers"]
    assert summary["developer-1"] == {"versions": 2, "stopped": "bound"}
    # no debugging at all with debug_rounds=0
    script = Script({"developer-1": bodies, "developer-2": ["return 0"]})
    d, events = council(script, Voters(), table, debug_rounds=0)
    assert len(script.asked["developer-1"]) == 1 and debugging(events) is None


# ----------------------------------------------------------------------------- distinguishing


def test_passing_candidates_that_differ_are_run_on_qa_inputs_and_the_ballot_sees_the_outputs():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a + b + (a == b)"]})
    table = Table({
        "return a + b": (None, {"add(2, 2)": "returns 4", "add(-1, 1)": "returns 0"}),
        "return a + b + (a == b)": (None, {"add(2, 2)": "returns 5", "add(-1, 1)": "returns 0"}),
    })  # fmt: skip
    voters = Voters()
    d, events = council(script, voters, table, distinguish=True)
    # QA's calls (its non-call line dropped) ran on both candidates, through the evidencer
    probe_runs = [(who, s) for who, s in table.runs if s.probes]
    assert sorted(who for who, _ in probe_runs) == ["base", "developer-1", "developer-2"]
    assert all(list(s.test_paths) == list(s.probes) for _, s in probe_runs)  # only the probes
    [x] = distinguished(events)
    assert x["inputs"] == ["add(2, 2)", "add(-1, 1)"] and x["asked"] == "qa-1"
    assert x["functions"] == ["add"] and x["differ"] == ["add(2, 2)"]
    assert x["outputs"] == {
        "developer-1 (d1:p0:developer-1)": {"add(2, 2)": "returns 4", "add(-1, 1)": "returns 0"},
        "developer-2 (d1:p0:developer-2)": {"add(2, 2)": "returns 5", "add(-1, 1)": "returns 0"},
    }
    # the outputs joined the candidates' evidence, and every voter was shown them side by side
    assert {e.observed["add(2, 2)"] for e in d.evidence} == {"returns 4", "returns 5"}
    ballots = [s for s in voters.seen if "Rank" in s and "#1 returns 4 | #2 returns 5" in s]
    assert len(d.ballots) == 3 and len(ballots) == 3
    assert "- add(2, 2): #1 returns 4 | #2 returns 5" in ballots[0]
    assert "add(-1, 1):" not in ballots[0]  # an input where they agree is not a difference
    assert d.winner == "d1:p0:developer-1"  # the ballots ranked #1 first


def test_the_base_commit_runs_on_the_inputs_and_witnesses_for_the_candidate_that_kept_it():
    # one against one: the base did what developer-2 does where they differ, so developer-2 has
    # two witnesses to one and wins without a ballot
    script = Script({"developer-1": ["return a + b + (a == b)"], "developer-2": ["return a + b"]})
    table = Table(
        {
            "return a + b + (a == b)": (
                None,
                {"add(2, 2)": "returns 5", "add(-1, 1)": "returns 0"},
            ),
            "return a + b": (None, {"add(2, 2)": "returns 4", "add(-1, 1)": "returns 0"}),
        },
        before={"add(2, 2)": "returns 4", "add(-1, 1)": "returns 1"},
    )
    voters = Voters()
    d, events = council(script, voters, table, distinguish=True, rounds=1)
    [x] = distinguished(events)
    assert x["before"] == {"add(2, 2)": "returns 4", "add(-1, 1)": "returns 1"}
    assert "base" not in str(x["outputs"])  # the base is no candidate
    assert d.ballots == () and not [s for s in voters.seen if "Rank" in s]
    assert d.winner == "d1:p0:developer-2" and d.tally.early_stop


def test_voters_see_what_the_base_did_beside_the_candidates():
    # the base sides with neither: still one against one, and the ballot shows the base's output
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a + b + (a == b)"]})
    table = Table(
        {
            "return a + b": (None, {"add(2, 2)": "returns 4"}),
            "return a + b + (a == b)": (None, {"add(2, 2)": "returns 5"}),
        },
        before={"add(2, 2)": "returns 6"},
    )
    voters = Voters()
    d, _ = council(script, voters, table, distinguish=True)
    ballots = [s for s in voters.seen if "Rank" in s]
    assert ballots and len(d.ballots) == len(ballots)
    assert "- add(2, 2): #1 returns 4 | #2 returns 5 | before the change returns 6" in ballots[0]


def test_passing_candidates_that_agree_on_every_input_need_no_ballot():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return b + a"]})
    same = {"add(2, 2)": "returns 4", "add(-1, 1)": "returns 0"}
    table = Table({"return a + b": (None, same), "return b + a": (None, same)})
    voters = Voters()
    d, events = council(script, voters, table, distinguish=True, rounds=1)
    [x] = distinguished(events)
    assert x["differ"] == [] and len(x["inputs"]) == 2
    assert d.ballots == () and not [s for s in voters.seen if "Rank" in s]
    assert d.winner == "d1:p0:developer-1" and d.tally.early_stop
    [done] = data(events, "council.round_completed")
    assert done["skipped"] == [
        "vote: the evidence decides (one candidate is ahead, or the best ones behave alike)"
    ]
    [decision] = [ev.payload for ev in events if ev.type == "decision.made"]
    assert "the evidence decided" in decision.why and decision.decided_by == ()


def test_one_passing_candidate_needs_neither_inputs_nor_a_ballot():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a * b"]})
    table = Table(
        {"return a + b": (None, {}), "return a * b": ("AssertionError: assert 6 == 5", {})}
    )
    voters = Voters()
    d, events = council(script, voters, table, distinguish=True)
    assert not distinguished(events) and d.ballots == () and voters.seen == []
    assert d.winner == "d1:p0:developer-1"


def test_without_distinguish_the_ballots_are_asked_as_before():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a * b"]})
    table = Table(
        {"return a + b": (None, {}), "return a * b": ("AssertionError: assert 6 == 5", {})}
    )
    d, events = council(script, Voters(), table)
    assert len(d.ballots) == 3 and not distinguished(events)


def _failing_table() -> tuple[Script, Table]:
    script = Script({"developer-1": ["return a - b", "return a - b - 1"],
                     "developer-2": ["return a * b", "return a * b - 1"]})  # fmt: skip
    table = Table({
        "return a - b": ("AssertionError: assert -1 == 5", {}),
        "return a - b - 1": ("AssertionError: assert -2 == 5", {}),
        "return a * b": ("AssertionError: assert 6 == 5", {}),
        "return a * b - 1": ("AssertionError: assert 5 == 4", {}),
    })  # fmt: skip
    return script, table


def test_while_no_candidate_passes_no_critique_or_ballot_is_asked_and_the_revisions_still_run():
    """Selection by evidence: critics would only restate the failing tests each reviser reads."""
    script, table = _failing_table()
    voters = Voters()
    d, events = council(script, voters, table, rounds=1, distinguish=True)
    assert d.critiques == () and d.ballots == ()
    assert not [s for s in voters.seen if "Review this candidate change" in s]
    # each developer proposed, then revised from its own failing test
    assert [len(script.asked[m]) for m in ("developer-1", "developer-2")] == [2, 2]
    assert "assert -1 == 5" in script.asked["developer-1"][1]
    assert "fix the failing tests (a test" in script.asked["developer-1"][1]  # no critiques named
    last = data(events, "council.round_completed")[-1]
    assert last["round"] == 1 and [s.split(":")[0] for s in last["skipped"]] == ["critique", "vote"]
    assert d.winner in {p.id for p in d.proposals}


def sampled(script: Script, member: str) -> list[tuple[float, int]]:
    """The temperature and seed of each patch ``member`` was asked for (recorded here)."""
    seen: list[tuple[float, int]] = []
    tools = script.tools(member)
    write = tools.write_patch

    def recorded(model: Any, request: Any, *a: Any, **k: Any) -> Patch:
        seen.append((model.temperature, model.seed))
        return write(model, request, *a, **k)

    script.tools = lambda m, _t=script.tools: (  # type: ignore[method-assign]
        PatchTools(write_patch=recorded, repo=tools.repo) if m == member else _t(m)
    )
    return seen


def test_with_resample_failing_a_council_that_nothing_passes_proposes_afresh_not_revises():
    """A revision anchors on its own failing change; while no candidate passes, each developer
    is asked its first request again, sampled hot with a seed of its own for the round."""
    from fleet.council.patching import AGAIN_FLOOR

    script, table = _failing_table()
    decoded = sampled(script, "developer-1")
    d, events = council(script, Voters(), table, rounds=1, distinguish=True, resample_failing=True)
    first, second = script.asked["developer-1"]
    assert "assert -1 == 5" not in second and "fix the failing tests" not in second
    assert second == first  # the same request (the pack as its first call saw it) ...
    (_, seed), (again, new_seed) = decoded  # ... decoded hot, seeded anew: a sample, not a copy
    assert again >= AGAIN_FLOOR and new_seed != seed
    assert [p.round for p in d.proposals if p.author == "developer-1"] == [0, 1]
    last = data(events, "council.round_completed")[-1]
    assert [s.split(":")[0] for s in last["skipped"]] == ["critique", "revise", "vote"]
    assert "proposes afresh" in last["skipped"][1]


def test_with_resample_failing_a_council_with_a_passing_candidate_still_revises():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a * b"]})
    table = Table(
        {"return a + b": (None, {}), "return a * b": ("AssertionError: assert 6 == 5", {})}
    )
    council(script, Voters(), table, rounds=1, distinguish=True, settle_on_pass=False,
            early_stop=False, resample_failing=True)  # fmt: skip
    assert "assert 6 == 5" in script.asked["developer-2"][1]  # its revision reads its failure


def test_without_distinguish_a_council_that_nothing_passes_still_critiques_and_votes():
    script, table = _failing_table()
    voters = Voters()
    d, _ = council(script, voters, table, rounds=1)
    assert len(d.critiques) == 4 and len(d.ballots) == 3  # each member on the others' candidates
    assert [s for s in voters.seen if "Review this candidate change" in s]


def test_a_passing_candidate_is_critiqued_when_its_pass_does_not_settle_the_council():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a * b"]})
    table = Table(
        {"return a + b": (None, {}), "return a * b": ("AssertionError: assert 6 == 5", {})}
    )
    d, _ = council(script, Voters(), table, rounds=1, distinguish=True, settle_on_pass=False,
                   early_stop=False)  # fmt: skip
    assert d.critiques and d.winner.endswith("developer-1")


def test_with_critique_off_no_critic_is_asked_and_the_revision_reads_the_evidence():
    """``critique=False``: the same council as above asks no critic; the failing candidate's
    developer still revises, from its own test output, and the round says why."""
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a * b"]})
    table = Table(
        {"return a + b": (None, {}), "return a * b": ("AssertionError: assert 6 == 5", {})}
    )
    voters = Voters()
    d, events = council(script, voters, table, rounds=1, distinguish=True, settle_on_pass=False,
                        early_stop=False, critique=False)  # fmt: skip
    assert not d.critiques and not [s for s in voters.seen if "Review this candidate" in s]
    assert "assert 6 == 5" in script.asked["developer-2"][1]  # its revision reads its failure
    assert [p.round for p in d.proposals if p.author == "developer-2"] == [0, 1]
    skipped = data(events, "council.round_completed")[-1]["skipped"]
    assert any(s.startswith("critique: off") for s in skipped)
    assert d.winner.endswith("developer-1")


class Broken(Table):
    """An evidencer whose probe-only runs fail (the sandbox went away)."""

    def run(self, proposals: Sequence[Proposal], suite: EvidenceSuite, **kw: Any) -> list[Evidence]:
        if suite.probes:
            raise OSError("sandbox gone")
        return super().run(proposals, suite, **kw)


def test_a_failed_run_of_the_inputs_is_recorded_and_the_ballots_decide():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a + b + (a == b)"]})
    table = Broken({"return a + b": (None, {}), "return a + b + (a == b)": (None, {})})
    d, events = council(script, Voters(), table, distinguish=True)
    [x] = distinguished(events)
    assert x["error"] == "OSError: sandbox gone" and x["outputs"] == {}
    assert len(d.ballots) == 3 and d.winner == "d1:p0:developer-1"


class GoneOnce(Table):
    """An evidencer whose first run fails: the sandbox supervisor was lost (the story waits
    for it and the council is run again)."""

    failed = 0

    def run(self, proposals: Sequence[Proposal], suite: EvidenceSuite, **kw: Any) -> list[Evidence]:
        if not self.failed:
            self.failed += 1
            raise SandboxUnavailable(backend="actor", reason="supervisor lost")
        return super().run(proposals, suite, **kw)


def test_a_council_resumed_after_its_evidence_failed_does_not_ask_for_the_proposals_again():
    script = Script({"developer-1": ["return a + b"], "developer-2": ["return a * b"]})
    table = GoneOnce(
        {"return a + b": (None, {}), "return a * b": ("AssertionError: assert 6 == 5", {})}
    )
    members = {
        m: Member(m, m.rsplit("-", 1)[0], ROLES.get(m.rsplit("-", 1)[0]),
                  ScriptedChatModel(script=Voters()), tools=script.tools(m) if m in script.bodies else None)
        for m in ("developer-1", "developer-2", "qa-1")
    }  # fmt: skip
    req = DeliberationRequest(
        id="d1", story_id="s1", task_id="T1", task="add(a, b) returns their sum", phase="build",
        members=tuple(members), proposers=("developer-1", "developer-2"), rule="evidence",
        source="/repo", base="main", base_commit="abc", rounds=0, suite=SUITE, debug_rounds=0,
    )  # fmt: skip
    log = InMemoryEventLog()
    council = Council(local_gather(members), log, clock=FakeClock(), evidencer=table)
    with pytest.raises(SandboxUnavailable):
        council.deliberate(req)
    asked = {m: len(a) for m, a in script.asked.items()}
    assert asked == {"developer-1": 1, "developer-2": 1}
    d = council.deliberate(req)  # the same request again: resumes at the evidence
    assert {m: len(a) for m, a in script.asked.items()} == asked  # nobody asked again
    assert d.winner == "d1:p0:developer-1" and len(d.evidence) == 2
    kinds = [ev.type for _, ev in log.read("s1")]
    assert kinds.count("council.proposal") == 2 and kinds.count("council.evidence") == 2
