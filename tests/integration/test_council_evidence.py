"""Evidence-weighted voting with proposals' commands run in the real bubblewrap sandbox."""

from __future__ import annotations

import pytest

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.config import load
from fleet.council import Council, DeliberationRequest, Member
from fleet.council.local import local_gather
from fleet.errors import SandboxUnavailable
from fleet.testing.council import Voter
from fleet.testing.fakes import FakeClock, InMemoryEventLog, ScriptedChatModel

ROLES = load("roles.yaml")


def members(commands: dict[str, str], favourite: str) -> dict[str, Member]:
    return {
        m: Member(
            m,
            m.rsplit("-", 1)[0],
            ROLES.get(m.rsplit("-", 1)[0]),
            ScriptedChatModel(script=Voter(favourite, command=cmd)),
        )
        for m, cmd in commands.items()
    }


def test_the_passing_proposal_beats_the_more_popular_failing_one(tmp_path):
    # everyone votes for developer-1, whose test command fails; qa-1's passes; devops-1 has none
    team = members(
        {"developer-1": "sh -c 'exit 3'", "qa-1": "true", "devops-1": ""}, favourite="developer-1"
    )
    req = DeliberationRequest(
        id="ev1",
        story_id="s-ev",
        task="fix the parser",
        members=tuple(team),
        rounds=1,
        early_stop=False,
        rule="evidence",
        workspace=str(tmp_path),
    )
    log = InMemoryEventLog()
    d = Council(local_gather(team), log, clock=FakeClock(), sandbox=BwrapSandbox()).deliberate(req)
    assert d.tally.scores["ev1:p1:developer-1"] > d.tally.scores["ev1:p1:qa-1"]  # more popular...
    assert d.winner == "ev1:p1:qa-1"  # ...but its tests fail
    by_id = {e.proposal_id: e for e in d.evidence}
    assert (
        by_id["ev1:p1:developer-1"].passed is False
        and "exit 3" in by_id["ev1:p1:developer-1"].detail
    )
    assert by_id["ev1:p1:qa-1"].passed is True and "ev1:p1:devops-1" not in by_id
    decision = log.read("s-ev")[-1][1].payload
    why = {a.proposal_id: a.why_rejected for a in decision.alternatives}
    assert why["ev1:p1:developer-1"] == "its tests failed"
    assert [ev.type for _, ev in log.read("s-ev")].count("council.evidence") == 2


def test_evidence_rule_without_a_sandbox_is_a_clear_error():
    team = members({"developer-1": "true", "qa-1": "true"}, favourite="qa-1")
    req = DeliberationRequest(
        id="ev2", story_id="s-ev", task="t", members=tuple(team), rounds=0, rule="evidence"
    )
    with pytest.raises(SandboxUnavailable, match="give the council a sandbox"):
        Council(local_gather(team), InMemoryEventLog(), clock=FakeClock()).deliberate(req)


# --------------------------------------------------------------------------- patch councils


def _git(repo, *args):
    import subprocess

    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "tests" / "test_old.py").write_text(
        "from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def _patch(repo, files: dict[str, str]):
    from fleet.contracts import Patch

    for path, text in files.items():
        (repo / path).write_text(text)
    diff = _git(repo, "diff")
    _git(repo, "checkout", "-q", "--", ".")
    base = _git(repo, "rev-parse", "HEAD").strip()
    return Patch(base_commit=base, diff=diff, files=tuple(files), rationale="r")


ACCEPT = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def test_each_patch_runs_the_suite_on_its_own_clean_copy_in_the_sandbox(tmp_path):
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.contracts import Proposal, RunContext
    from fleet.evidence import EvidenceSuite

    repo = _repo(tmp_path)
    good = _patch(repo, {"calc.py": "def add(a, b):\n    return a + b\n"})
    # the bad one also "fixes" the acceptance test: that edit is ignored
    bad = _patch(
        repo,
        {
            "calc.py": "def add(a, b):\n    return a * b\n",
            "tests/test_old.py": "def test_zero():\n    pass\n",
        },
    )
    suite = EvidenceSuite(
        files={"tests/test_acceptance.py": ACCEPT},
        test_paths=("tests",),
        protected=("tests/",),
        trusted=("tests/test_old.py::",),
    )
    props = [
        Proposal(id=f"p:{n}", deliberation_id="d", author=n, role="developer", content=n, patch=pt)
        for n, pt in (("good", good), ("bad", bad), ("none", None), ("again", good))
    ]
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=2)
    got = runner.run(props, suite, source=str(repo), base="main", context=RunContext())
    by = {e.proposal_id: e for e in got}
    assert by["p:good"].passed and by["p:good"].tests_passed == 2
    assert not by["p:bad"].passed
    failing = [t for t in by["p:bad"].tests if not t.passed]
    assert [t.test_id for t in failing] == ["tests/test_acceptance.py::test_add"]
    assert "6" in failing[0].excerpt  # add(2, 3) returned 6: the excerpt says so
    assert "tests/test_old.py" in by["p:bad"].detail  # its edit to the suite was ignored
    assert by["p:none"].passed is False and "no patch" in by["p:none"].detail
    assert by["p:again"].runs == by["p:good"].runs  # same patch: served from the cache
    assert by["p:good"].patch_hash and by["p:good"].runs
    # every clean copy was removed; only the shared cache of target environments stays
    assert [p.name for p in (tmp_path / "ws").iterdir()] in ([], ["envs"])


def test_a_failing_assert_shows_what_the_code_returned_in_full(tmp_path):
    """pytest's default shortens a long value to ``[0, 1, 2, 3, 4, 5, ...]``; the evidence a
    debugging or revising developer reads says what the code returned."""
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.contracts import Proposal, RunContext
    from fleet.evidence import EvidenceSuite

    repo = _repo(tmp_path)
    code = "def add(a, b):\n    return a - b\n\n\ndef pad(xs):\n    return xs + [None] * 4\n"
    patch = _patch(repo, {"calc.py": code})
    test = "from calc import pad\n\n\ndef test_pad():\n    assert pad([1, 2, 3, 4]) == [1, 2, 3, 4, None, None]\n"
    suite = EvidenceSuite(files={"tests/test_pad.py": test}, test_paths=("tests/test_pad.py",))
    prop = Proposal(id="p:a", deliberation_id="d", author="a", role="developer", content="a",
                    patch=patch)  # fmt: skip
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=1)
    (got,) = runner.run([prop], suite, source=str(repo), base="main", context=RunContext())
    (failed,) = [t for t in got.tests if not t.passed]
    assert "[1, 2, 3, 4, None, None, None, None] == [1, 2, 3, 4, None, None]" in failed.excerpt


def test_an_example_that_never_returns_fails_alone_and_the_others_still_count(tmp_path):
    """QA's ``change_base(10, 1)`` loops forever in every correct candidate: the run was killed at
    the suite's limit and no candidate had any evidence (HumanEval/44, blocked at the gate)."""
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.contracts import Proposal, RunContext
    from fleet.evidence import EvidenceSuite
    from fleet.evidence.acceptance import EXAMPLE_SECONDS, executable_tests

    repo = _repo(tmp_path)
    code = (
        "def add(a, b):\n    return a - b\n\n\ndef change_base(x, base):\n    out = ''\n"
        "    while x > 0:\n        out = str(x % base) + out\n        x //= base\n    return out\n"
    )
    patch = _patch(repo, {"calc.py": code})
    tests = executable_tests(["change_base(8, 3) returns '22'", "change_base(10, 1) returns '10'",
                              "change_base(7, 2) returns '111'"])  # fmt: skip
    assert tests is not None
    suite = EvidenceSuite(files={"tests/test_ex.py": tests}, test_paths=("tests/test_ex.py",),
                          timeout_s=60)  # fmt: skip
    prop = Proposal(id="p:a", deliberation_id="d", author="a", role="developer", content="a",
                    patch=patch)  # fmt: skip
    runner = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=1)
    (got,) = runner.run([prop], suite, source=str(repo), base="main", context=RunContext())
    by = {t.test_id.rsplit("::", 1)[1]: t for t in got.tests}
    assert by["test_change_base_1"].passed and by["test_change_base_3"].passed
    assert not by["test_change_base_2"].passed
    assert f"did not return within {EXAMPLE_SECONDS} s" in by["test_change_base_2"].excerpt


def _edit(body: str) -> str:
    return f"I fix add.\ncalc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    {body}\n>>>>>>> REPLACE\n"


def _patch_council(
    tmp_path,
    favourite: str,
    rounds: int = 2,
    settle_on_pass: bool = True,
    edits: dict[str, tuple[str, ...]] | None = None,
    wrong: str = "def test_wrong():\n    assert add(1, 1) == 3\n",  # a generated test, wrong
):
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.adapters.git_repo import GitRepo
    from fleet.agents import write_patch
    from fleet.council.patching import PatchTools
    from fleet.evidence import EvidenceSuite
    from fleet.testing.council import Coder

    repo = _repo(tmp_path)
    tools = PatchTools(write_patch=write_patch, repo=GitRepo)
    edits = edits or {
        "developer-1": ("return a + b",),
        "developer-2": ("return a * b",),
        "developer-3": ("return b - a", "return b + a"),
    }
    scripts = {
        **{m: Coder(*map(_edit, bodies), favourite=favourite) for m, bodies in edits.items()},
        "qa-1": Coder("", favourite=favourite),
        "architect-1": Coder("", favourite=favourite),
    }
    team = {
        m: Member(
            m,
            m.rsplit("-", 1)[0],
            ROLES.get(m.rsplit("-", 1)[0]),
            ScriptedChatModel(script=script),
            tools=tools if m.startswith("developer") else None,
        )
        for m, script in scripts.items()
    }
    suite = EvidenceSuite(
        files={"tests/test_acceptance.py": ACCEPT + "\n\n" + wrong},
        test_paths=("tests",),
        protected=("tests/",),
        trusted=("tests/test_old.py::",),
    )
    req = DeliberationRequest(
        id=f"pc-{favourite}",
        story_id="s-pc",
        task="make add() add",
        members=tuple(team),
        proposers=("developer-1", "developer-2", "developer-3"),
        rounds=rounds,
        settle_on_pass=settle_on_pass,
        rule="evidence",
        suite=suite,
        source=str(repo),
        base="main",
        base_commit=GitRepo(repo).commit("main"),
    )
    log = InMemoryEventLog()
    evidencer = SandboxEvidence(BwrapSandbox(), root=tmp_path / "ws", concurrency=2)
    council = Council(local_gather(team), log, clock=FakeClock(), evidencer=evidencer)
    return council.deliberate(req), log


def test_a_patch_council_picks_the_patch_that_passes_the_tests_not_the_popular_one(tmp_path):
    # the whole protocol (critique and revision although developer-1 passes in round 0)
    d, log = _patch_council(tmp_path, favourite="developer-2", settle_on_pass=False)
    assert d.winner.endswith(":developer-1") and d.rounds == 2
    assert not d.tally.early_stop  # the popular candidate fails the suite: no early stop
    current = {
        p.author: p
        for p in d.proposals
        if p.round == max(q.round for q in d.proposals if q.author == p.author)
    }
    assert "return b + a" in current["developer-3"].patch.diff  # revised after seeing its results
    by = {e.proposal_id: e for e in d.evidence}
    assert by[current["developer-3"].id].passed is False  # the wrong generated test fails everyone
    assert {p.author for p in d.proposals} == {"developer-1", "developer-2", "developer-3"}
    cites = [c.content for c in d.critiques if c.target.endswith("developer-2")]
    assert cites and all("test_add" in c and "fails" in c for c in cites)
    decision = log.read("s-pc")[-1][1].payload
    assert decision.what.endswith(current["developer-1"].patch.diff)
    assert "test_wrong" in decision.why  # the distrusted test is named
    why = {a.proposal_id: a.why_rejected for a in decision.alternatives}
    assert "test_add" in why[current["developer-2"].id]
    evidence_events = [ev for _, ev in log.read("s-pc") if ev.type == "council.evidence"]
    assert len(evidence_events) >= 6 and all(ev.payload.runs for ev in evidence_events)


def test_a_patch_council_settles_on_the_passing_patch_without_a_critique_round(tmp_path):
    # the default: developer-1 passes the suite (the wrong generated test distrusted) while the
    # ballots favour developer-2: no supermajority for a passing patch, yet nothing to revise
    d, log = _patch_council(tmp_path, favourite="developer-2")
    assert d.tally.early_stop and d.rounds == 0 and not d.critiques
    assert d.winner == "pc-developer-2:p0:developer-1"
    assert {p.round for p in d.proposals} == {0}
    decision = log.read("s-pc")[-1][1].payload
    assert (
        "test_add"
        in {a.proposal_id: a.why_rejected for a in decision.alternatives}[
            "pc-developer-2:p0:developer-2"
        ]
    )


def test_no_ballot_is_asked_for_while_no_candidate_passes_then_the_revision_wins(tmp_path):
    # round 0: every candidate fails test_add, so a vote could not end the council: it is
    # skipped (its ballots would be superseded unread); the closing vote of round 1 counts
    d, log = _patch_council(
        tmp_path,
        favourite="developer-2",
        rounds=1,
        wrong="",
        edits={
            "developer-1": ("return a * b", "return a * b"),
            "developer-2": ("return a - b + 1", "return a - b + 1"),
            "developer-3": ("return b - a", "return b + a"),
        },
    )
    assert {b.round for b in d.ballots} == {1} and len(d.ballots) == 5
    assert d.critiques and d.winner == "pc-developer-2:p1:developer-3"  # passes, outranks votes
    rounds = [ev for _, ev in log.read("s-pc") if ev.type == "council.round_completed"]
    assert [ev.data["round"] for ev in rounds] == [0, 1]
    assert "vote" in rounds[0].data["skipped"][0] and "skipped" not in rounds[1].data


def test_a_patch_council_stops_early_when_the_favourite_passes_the_suite(tmp_path):
    d, _ = _patch_council(tmp_path, favourite="developer-1")
    assert d.tally.early_stop and d.rounds == 0
    assert d.winner == "pc-developer-1:p0:developer-1"


def test_executable_criteria_find_the_function_wherever_the_change_put_it(tmp_path):
    import subprocess
    import sys

    from fleet.evidence.acceptance import executable_tests, names_of_tests

    CRITERIA = [
        "divide(6, 3) returns 2.0",
        "divide(1, 0) raises ValueError with the message 'division by zero'",
    ]
    source = executable_tests(CRITERIA)
    assert names_of_tests(source) == ["test_divide_1", "test_divide_2"]
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_acc.py").write_text(source)
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    before = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True)
    assert before.returncode == 1 and "no function named divide" in before.stdout
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "deep.py").write_text(
        "def divide(a, b):\n    if b == 0:\n        raise ValueError('division by zero')\n"
        "    return a / b\n"
    )
    after = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True)
    assert after.returncode == 0, after.stdout


def test_executable_criteria_find_a_function_in_a_top_level_module(tmp_path):
    """``solution.py`` at the repository root (a HumanEval task's layout) is found; a module in
    a hidden directory (``.venv``) is not."""
    import subprocess
    import sys

    from fleet.evidence.acceptance import executable_tests

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_acc.py").write_text(executable_tests(["twice(3) returns 6"]))
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "twice.py").write_text("def twice(x):\n    return 0\n")
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    before = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True)
    assert before.returncode == 1 and "no function named twice" in before.stdout
    (tmp_path / "solution.py").write_text("def twice(x):\n    return 2 * x\n")
    after = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True)
    assert after.returncode == 0, after.stdout
