"""Debugging and distinguishing inputs with real evidence runs (bubblewrap, git, ``write_patch``):
a developer fixes its candidate from the sandbox's failure output, and QA's inputs run on the
passing candidates that differ, so the voters judge on what each one returned."""

from __future__ import annotations

from typing import Any

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.adapters.git_repo import GitRepo
from fleet.agents import write_patch
from fleet.config import load
from fleet.contracts import ChatMessage
from fleet.council import Council, DeliberationRequest, Member
from fleet.council.local import local_gather
from fleet.council.patching import PatchTools
from fleet.evidence.acceptance import executable_tests
from fleet.evidence.suite import EvidenceSuite
from fleet.testing.council import Coder
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel
from tests.integration.test_council_evidence import _edit, _repo

ROLES = load("roles.yaml")
CRITERIA = ["add(2, 3) returns 5"]
RIGHT = "return a + b"
CHEAT = "return 5 if (a, b) == (2, 3) else a * b"  # passes the one example, wrong elsewhere


class Qa(Coder):
    """QA: its distinguishing inputs (the voters' requests are kept)."""

    def __init__(self) -> None:
        super().__init__("", favourite="developer-2")
        self.seen: list[str] = []

    def __call__(self, messages: list[ChatMessage], schema: dict[str, Any] | None) -> str:
        self.seen.append(messages[-1].content)
        if schema is None:
            return "add(10, 1)\nadd(0, 7)\n"
        return super().__call__(messages, schema)


class Debugger(Coder):
    """A developer whose reply changes once it is shown its own failing run."""

    def __call__(self, messages: list[ChatMessage], schema: dict[str, Any] | None) -> str:
        shown = any("Your last patch, run against the tests" in m.content for m in messages)
        if schema is None and shown and self.revised is not None:
            return self.revised
        return super().__call__(messages, schema)


def test_a_council_debugs_then_runs_distinguishing_inputs_in_the_sandbox(tmp_path):
    repo = _repo(tmp_path)  # calc.add subtracts; tests/test_old.py checks add(0, 0) == 0
    evidencer = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=2)
    spec = "tests/test_t1_acceptance.py"  # the example as a test (no probes of its own)
    suite = EvidenceSuite(
        files={spec: executable_tests(CRITERIA) or ""}, test_paths=("tests",),
        protected=(spec, "tests/test_old.py"), trusted=("tests/test_old.py::",),
        spec=(f"{spec}::",),
    )  # fmt: skip
    qa = Qa()
    scripts: dict[str, Any] = {
        # developer-1 first writes a product, and fixes it from its failure output
        "developer-1": Debugger(_edit("return a * b"), _edit(RIGHT)),
        "developer-2": Coder(_edit(CHEAT)),
        "qa-1": qa,
    }
    tools = PatchTools(write_patch=write_patch, repo=GitRepo)
    team = {
        m: Member(m, m.rsplit("-", 1)[0], ROLES.get(m.rsplit("-", 1)[0]),
                  ScriptedChatModel(script=s), tools=tools if m.startswith("dev") else None)
        for m, s in scripts.items()
    }  # fmt: skip
    req = DeliberationRequest(
        id="dx", story_id="s-dx", task="make add() add", members=tuple(team),
        proposers=("developer-1", "developer-2"), rounds=0, rule="evidence", suite=suite,
        source=str(repo), base="main", base_commit=GitRepo(repo).commit("main"),
        acceptance=tuple(CRITERIA), debug_rounds=2, distinguish=True,
        settle_on_pass=False,  # developer-2's pass would otherwise end the debugging at once
    )  # fmt: skip
    log = InMemoryEventLog()
    d = Council(local_gather(team), log, clock=FakeClock(), evidencer=evidencer).deliberate(req)
    [done] = [ev.data for _, ev in log.read("s-dx") if ev.type == "council.round_completed"]
    # developer-1's product failed the example in the sandbox; shown that, it wrote a + b
    assert done["debugging"]["developers"]["developer-1"] == {"versions": 1, "stopped": "passes"}
    fixed = next(p for p in d.proposals if p.id == "dx:p0d1:developer-1")
    assert fixed.patch is not None and RIGHT in fixed.patch.diff
    # both now pass the suite but differ: QA's inputs ran on each, in the sandbox
    [x] = done["distinguished"]
    assert x["inputs"] == ["add(10, 1)", "add(0, 7)"] and x["functions"] == ["add"]
    outputs = {who.split(" ")[0]: seen for who, seen in x["outputs"].items()}
    assert outputs == {
        "developer-1": {"add(10, 1)": "returns 11", "add(0, 7)": "returns 7"},
        "developer-2": {"add(10, 1)": "returns 10", "add(0, 7)": "returns 0"},
    }
    # the base commit (no change) ran on them too: it subtracts, so it witnesses for neither
    assert x["before"] == {"add(10, 1)": "returns 9", "add(0, 7)": "returns -7"}
    # the voters were shown the outputs side by side, the base's after them
    votes = [s for s in qa.seen if "Rank proposals" in s]
    assert votes and (
        "- add(10, 1): #1 returns 11 | #2 returns 10 | before the change returns 9" in votes[0]
    )
    # the two are tied on the evidence, so the ballots choose (these scripted voters favour
    # developer-2 whatever they see: what the outputs are worth is the model's to judge)
    assert len(d.ballots) == 3 and d.winner == "dx:p0:developer-2"
