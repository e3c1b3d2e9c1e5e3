"""The ``vote`` and ``council`` arms of ``bench_agents.py``.

Both start like the story path's council, on one timeline per council as the story's
(``harness.story_log``: the story at BUILD, its planned task ``p1-t1``): the story path's suite
step (``fleet.pipeline.suite.task_suite``: a bug report's reproduction test first, QA's tests of
the criteria, kept only if they fail on the base), run in bubblewrap on a clean copy per
candidate, every run decided by the policy and recorded on the timeline (``SandboxEvidence`` over
``AuditedSandbox``, as the sandbox supervisor runs it); every member reads the build-phase context
packs the story path's agents get from the context service over that timeline
(``harness.story_context``: the located code first, the suite's failing tests, the deliberation
so far), and the council writes its events to it. With one model reply per request,
``tests/integration/test_story_bench_same_change.py`` runs three development tasks both ways
and checks that every member is asked the same things and the same change is committed.

- ``council``: the full protocol in process (``fleet.council.Council`` with ``local_gather``: the
  members, prompts, ``write_patch``, evidence runs, debugging, distinguishing inputs, critique with
  results (when ``critique`` is on), revision, ballots and ``evidence`` tally of the story path,
  without Ray), as ``config/fleet.yaml``'s ``council:`` block configures it (``council_spec``;
  the settings given on the command line override it): developer-1..3 (greedy, 0.2, 0.7:
  ``developer_temperature``; 2 and 3 begin with the function's continuation,
  ``continues_first``; each its own style line), qa-1 and architect-1, early stop
  (``settle_on_pass``: a candidate passing the whole evidence suite ends it). The winner's
  patch then goes through the fleet's build path (``fleet_build`` with the winner: the executor
  applies exactly that patch, the workspace runner tests, gates and commits it) and the committed
  tree is judged.
- ``vote``: the same three developers' first patches (the council's round-0 candidates when the
  council arm ran on the task, so the two arms are paired on identical samples), chosen by CodeT
  agreement on the evidence tests (``fleet.evidence.agree``) -- no critique, no ballots -- then
  the same build path.

Retries (``--attempts``, default 2), as on the story path: when the build of a winner or pick is
blocked (nothing committed), the gate's findings (failing tests first) go to a new attempt --
the council arm convenes a fresh council with them (``DeliberationRequest.findings``, as
``actors/story_services.py`` does), the vote arm samples three new first patches with them; the
single arm rebuilds with them (``fleet_build``). A committed change that fails the hidden tests is
final, as a story that reached DONE is.

Tokens: prompt + completion of every model call the arm needs (for ``vote`` from the council's
run: the three developers' round-0 calls only).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

from harness import (
    TASK_ID,
    ArmResult,
    count,
    fleet_build,
    git_repo,
    story_context,
    story_log,
    task_text,
)

from fleet.config import CouncilSpec, load
from fleet.contracts import Proposal, RunContext
from fleet.council.protocol import first_proposals
from fleet.council.team import member_seed, proposers, temperature_of
from fleet.pipeline.council import RECONVENED_FLOOR, council_seed

PRESET: CouncilSpec = load("fleet.yaml").council  # the story path's council: one source of truth
DEVELOPERS = {m: temperature_of(m) for m in proposers(PRESET.members)}
OTHERS = {m: temperature_of(m) for m in PRESET.members if m not in DEVELOPERS}


def council_spec(args: argparse.Namespace) -> CouncilSpec:
    """``config/fleet.yaml``'s council, with what the command line sets explicitly (``--rounds``,
    ``--debug-rounds``, ``--qa-examples``, ``--resample-failing``, ``--critique``; None or
    absent: the config's)."""
    given = {
        k: getattr(args, k, None)
        for k in ("rounds", "debug_rounds", "qa_examples", "resample_failing", "critique")
    }
    return PRESET.model_copy(update={k: v for k, v in given.items() if v is not None})


class Drawn(NamedTuple):
    """An attempt's candidates: the proposals, their evidence, the tokens they cost, the
    evidence suite and the repository they were written on."""

    props: list[Any]
    found: list[Any]
    spent: int
    suite: Any
    repo: Path


_ROUND0: dict[str, Drawn] = {}  # task id -> shared samples
# (arm, task id) -> the first tests its councils found (``_setup``'s carry); vote starts from the
# council's at its first attempt, whose suite it shares
_CARRY: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
SPENT: dict[str, list[int]] = {}  # task id -> the council's tokens per attempt (for vote_cost)
MINUTES: list[float] = []  # council wall time per task


class Counted:
    """A member's view of the shared chat model, counting its tokens."""

    def __init__(self, chat: Any, member: str, ledger: dict[str, int]) -> None:
        self.chat, self.member, self.ledger = chat, member, ledger
        self.lock = threading.Lock()

    def complete(self, messages: Any, **kw: Any) -> Any:
        r = self.chat.complete(messages, **kw)
        with self.lock:
            self.ledger[self.member] += r.prompt_tokens + r.completion_tokens
        return r


class SuiteAsk(NamedTuple):
    """How a council's suite step is asked: with QA's examples (``--qa-examples``), the first
    tests earlier councils of the arm found on the task (by checkpoint key: ``_setup`` adds
    its own), and the suite's base seed (the story path's: ``council_seed``)."""

    examples: bool
    carry: dict[str, Any]
    seed: int = 0


def _setup(
    task: Any, root: Path, qa: Any, ask: SuiteAsk, sitting: Any = None
) -> tuple[Path, str, Any, Any]:
    """The task's repository, its base commit, the evidence suite and the evidence runner.

    The suite is the story path's suite step (``fleet.pipeline.suite.task_suite``): for a bug
    story QA's reproduction test first (kept only if it fails on the base commit for the reported
    reason), the criteria's tests, the repository's own tests, probes and, with QA's examples
    on, QA's own examples; ``qa`` is the QA member. A later council starts from the first tests
    ``ask.carry`` holds, as on the story path, where its councils share the story's log (here each
    council's log is new, its repository rebuilt). ``sitting``: the council's timeline, story
    and task (``harness.story_log`` on ``root / "repo"``), which the suite step writes to and the
    members' context packs read, as the story path's council shares the story's timeline; None:
    a timeline of its own."""
    from fleet.adapters.audited_sandbox import AuditedSandbox
    from fleet.adapters.bwrap_sandbox import BwrapSandbox
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.adapters.git_repo import GitRepo
    from fleet.adapters.workspace import Toolchain
    from fleet.clock import SystemClock
    from fleet.pipeline.ports import Checkout
    from fleet.pipeline.suite import SuitePorts, repro_key, task_suite
    from fleet.policy import PolicyEngine

    repo = git_repo(task.files, root / "repo")
    git = GitRepo(repo)
    commit = git.commit("main")
    log, story, tk = sitting or story_log(task, repo)
    # as the story path's sandbox supervisor: every run decided by the policy and recorded on
    # the timeline (the members' packs show the failing tests), target environments under envs
    audited = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")), events=log)
    evidence = SandboxEvidence(audited, root=root / "ev", concurrency=2,
                               tools=Toolchain(envs_root=root / "envs"))  # fmt: skip
    ports = SuitePorts(log=log, qa=MemberQa([qa]), baseline=evidence, clock=SystemClock(),
                       qa_examples=ask.examples)  # fmt: skip
    key = repro_key(story, tk, git.files(commit))
    if key in ask.carry:
        log.checkpoint_put(key, ask.carry[key], expected_version=0)
    suite = task_suite(ports, story, tk, deliberation_id=f"qa-{task.id}",
                       at=Checkout(git, "main", commit), seed=ask.seed)  # fmt: skip
    if (kept := log.checkpoint_get(key)[1]) is not None:
        ask.carry[key] = kept
    facts = next((e.data for _, e in log.read(story.id) if e.type == "council.suite"), {})
    repro, located = facts.get("repro") or {}, (facts.get("located") or [{}])[0]
    if repro or task.kind in ("bug", "change"):
        print(f"  suite {task.id}: reproduced={repro.get('reproduced')} "
              f"located={located.get('path')}::{located.get('function')}", flush=True)  # fmt: skip
    return repo, commit, suite, evidence


class MemberQa:
    """The suite step's ``QaTeam`` port over local QA members (the story path asks its QA agents
    through the council actor); a member that fails adds nothing and is named in the notes."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members

    def __len__(self) -> int:
        return len(self.members)

    def _each(self, call: Any, notes: list[str]) -> list[Any]:
        out = []
        for m in self.members:
            try:
                out.append(call(m))
            except Exception as exc:  # one member's failure is a note, as on the story path
                notes.append(f"{m.agent_id}: {type(exc).__name__}: {exc}"[:200])
        return out

    def write_tests(self, brief: Any, criteria: Any, notes: list[str]) -> list[Any]:
        return self._each(lambda m: m.write_tests(brief, criteria), notes)

    def write_examples(self, brief: Any, criteria: Any, notes: list[str]) -> list[Any]:
        return self._each(lambda m: m.write_examples(brief, criteria), notes)


def _team(
    chat: Any,
    ledger: dict[str, int],
    members: dict[str, float] | None = None,
    task: Any = None,
    log: Any = None,
) -> dict[str, Any]:
    """The members (name -> temperature; default the council's five), each counting its tokens,
    seeded as the story path's agent of the same name (``team.member_seed``). With ``task``,
    each reads the context packs the story path's agents get from the context service (the
    located code first), not the repository's smallest files: over ``log``, the council's
    timeline, when given."""
    from fleet.adapters.git_repo import GitRepo
    from fleet.agents import write_patch
    from fleet.config import load
    from fleet.council import Member
    from fleet.council.patching import PatchTools

    roles, tools = load("roles.yaml"), PatchTools(write_patch=write_patch, repo=GitRepo)
    if log is None and task is not None:
        log = story_log(task)[0]
    context = story_context(log) if log is not None else None
    return {
        m: Member(
            m,
            m.rsplit("-", 1)[0],
            roles.get(m.rsplit("-", 1)[0]),
            Counted(chat.for_role(m.rsplit("-", 1)[0]), m, ledger),
            context=context,
            temperature=t,
            seed=member_seed(m),
            tools=tools,
        )
        for m, t in (members or {**DEVELOPERS, **OTHERS}).items()
    }


def _story_text(task: Any, findings: tuple[str, ...]) -> str:
    """The task as the story path's council reads it (the planned task's description, for a
    story without criteria): on a retry, the findings to fix."""
    story = task.story
    text = [story.title, story.description] if story.acceptance_criteria else [task_text(story)]
    if findings:
        text += ["The last attempt failed; fix:", *findings]
    return "\n".join(text)


def _council(
    task: Any,
    chat: Any,
    root: Path,
    args: argparse.Namespace,
    *,
    findings: tuple[str, ...] = (),
    sitting: tuple[int, int] = (0, 0),
) -> tuple[Proposal | None, int, Any, Any]:
    """One council on ``task`` (``args.rounds``, ``args.qa_examples``): (winner, tokens, the
    deliberation, the evidence suite). ``sitting``: the task attempt, and how many councils on
    it lost their quorum before this one."""
    attempt, convened = sitting
    from fleet.council import Council
    from fleet.council.local import local_gather
    from fleet.testing.fakes import FakeClock

    ledger: dict[str, int] = defaultdict(int)
    began = time.monotonic()
    try:
        spec = council_spec(args)
        timeline = story_log(task, root / "repo")  # one timeline, as the story's on its path
        team, first, seen = _team(chat, ledger, task=task, log=timeline[0]), {}, []
        carry = _CARRY["council", task.id]
        ask = SuiteAsk(spec.qa_examples, carry, council_seed(0, convened, attempt))
        repo, commit, suite, evidence = _setup(task, root, team["qa-1"], ask, timeline)
        qa_tokens = ledger["qa-1"]  # QA's examples: part of the evidence suite vote uses too

        def snapshot(state: Any) -> None:
            if state.done == 1 and not first:  # the first proposals and their evidence (for vote)
                first.update(ledger)
                seen.extend(state.evidence)

        req = council_request(task, spec, Where(repo, commit, suite), attempt, findings, convened)
        start = time.monotonic()
        d = Council(
            local_gather(team),
            timeline[0],
            clock=FakeClock(),
            evidencer=evidence,
            on_step=snapshot,
        ).deliberate(req)
        MINUTES.append((time.monotonic() - start) / 60)
        if attempt == 0:  # vote's first attempt is paired with the council's first round 0
            round0 = first_proposals(d.proposals)
            ids = {p.id for p in round0}
            _ROUND0[task.id] = Drawn(
                round0,
                [e for e in seen if e.proposal_id in ids],
                sum(first.get(m, 0) for m in DEVELOPERS) + qa_tokens,
                suite,
                _keep(repo),
            )
            _CARRY["paired", task.id] = dict(carry)
        winner = next((p for p in d.proposals if p.id == d.winner), None)
        return winner, sum(ledger.values()), d, suite
    except Exception as exc:  # a council that raised (QuorumLost) spent its members' tokens
        raise CouncilFailed(sum(ledger.values()), exc, (time.monotonic() - began) / 60) from exc
    finally:
        SPENT.setdefault(task.id, []).append(sum(ledger.values()))


class CouncilFailed(Exception):
    """A council that ended in an exception, and the tokens its members had spent."""

    def __init__(self, tokens: int, cause: Exception, minutes: float = 0.0) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.tokens, self.cause, self.minutes = tokens, cause, minutes


RECONVENE = 2  # as the story path's driver: a council that lost its quorum is convened twice more


def _convene(
    task: Any,
    chat: Any,
    top: Path,
    args: argparse.Namespace,
    attempt: int,
    findings: tuple[str, ...],
) -> tuple[Proposal | None, int, Any, Any, Path]:
    """As the story path (``fleet/orchestrator/driver.py``): a council that lost its quorum is
    convened again, up to ``RECONVENE`` times, sampling with seeds of its own
    (``fleet.pipeline.council.council_seed``); every council's tokens and minutes count. Returns
    ``_council``'s result and the directory of the council that decided."""
    from fleet.errors import QuorumLost

    spent, minutes = 0, 0.0
    for convened in range(RECONVENE + 1):
        root = top / (f"c{convened}" if convened else "c")
        try:
            winner, tokens, d, suite = _council(
                task, chat, root, args, findings=findings, sitting=(attempt, convened)
            )
        except CouncilFailed as exc:
            spent, minutes = spent + exc.tokens, minutes + exc.minutes
            if convened == RECONVENE or not isinstance(exc.cause, QuorumLost):
                MINUTES.append(minutes)
                raise CouncilFailed(spent, exc.cause, minutes) from exc.cause
            print(f"  council {task.id} a{attempt}: quorum lost; convened again "
                  f"({convened + 1} of {RECONVENE}): {str(exc.cause)[:300]}", flush=True)  # fmt: skip
            continue
        if minutes:  # the lost councils' minutes belong to this task's council
            MINUTES[-1] += minutes
        return winner, spent + tokens, d, suite, root
    raise AssertionError("unreachable")


class Where(NamedTuple):
    """The repository a council's patches apply to, its base commit and the evidence suite."""

    repo: Path
    commit: str
    suite: Any


def council_request(
    task: Any,
    spec: CouncilSpec,
    where: Where,
    attempt: int,
    findings: tuple[str, ...],
    convened: int = 0,
) -> Any:
    """The council's request on ``task``: members, rounds and strategies from ``spec``; its id
    and seed as the story path's (``driver.deliberation_id``; ``council_seed``: how often it was
    convened, the attempt)."""
    from fleet.council import DeliberationRequest
    from fleet.orchestrator.driver import deliberation_id

    return DeliberationRequest(
        id=deliberation_id(task.story.id, TASK_ID, attempt, convened),
        seed=council_seed(0, convened, attempt),
        temperature_floor=RECONVENED_FLOOR if convened else 0.0,
        story_id=task.story.id,
        task_id=TASK_ID,
        task=_story_text(task, findings),
        findings=findings,
        phase="build",  # as the story path's patch council: the members' build-phase context
        members=spec.members,
        proposers=proposers(spec.members),
        rounds=spec.rounds,
        settle_on_pass=spec.settle_on_pass,
        debug_rounds=spec.debug_rounds,
        distinguish=spec.distinguish,
        resample_failing=spec.resample_failing,
        critique=spec.critique,
        rule="evidence",
        suite=where.suite,
        source=str(where.repo),
        base="main",
        base_commit=where.commit,
        acceptance=task.story.acceptance_criteria,
        phase_timeout_s=3600.0,
    )


def _keep(repo: Path) -> Path:
    """A copy of the council's repository that outlives its temporary directory (for ``vote``);
    removed when the benchmark exits."""
    import atexit
    import shutil

    top = Path(tempfile.mkdtemp(prefix="bench-vote-repo-"))
    atexit.register(shutil.rmtree, top, True)
    shutil.copytree(repo, top / "repo")
    return top / "repo"


def _fresh_round0(
    task: Any, chat: Any, root: Path, ask: SuiteAsk, findings: tuple[str, ...] = ()
) -> Drawn:
    """The three developers' first patches without a council (when the council arm did not run,
    and on a retry, with the last attempt's ``findings``), on the suite ``ask`` gets."""
    ledger: dict[str, int] = defaultdict(int)
    sitting = story_log(task, root / "repo")
    team = _team(chat, ledger, task=task, log=sitting[0])
    repo, _, suite, evidence = _setup(task, root, team["qa-1"], ask, sitting)
    props = first_patches(task, team, list(DEVELOPERS), repo, suite, findings)
    ctx = RunContext(story_id=task.story.id, task_id=TASK_ID, role="qa", phase="test")
    found = evidence.run(props, suite, source=str(repo), base="main", context=ctx)
    return Drawn(props, list(found), sum(ledger.values()), suite, repo)


def first_patches(
    task: Any,
    team: dict[str, Any],
    names: list[str],
    repo: Path,
    suite: Any,
    findings: tuple[str, ...] = (),
) -> list[Proposal]:
    """Round-0 patches of ``team``'s members ``names`` on ``repo``'s ``main`` (a developer whose
    edits never applied offers none), up to three at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from fleet.adapters.git_repo import GitRepo
    from fleet.council import Brief
    from fleet.council.protocol import make_proposal
    from fleet.council.schemas import DeliberationRequest

    commit = GitRepo(repo).commit("main")
    req = DeliberationRequest(
        id=f"vote-{task.id}", story_id=task.story.id, task_id=TASK_ID, task=task.story.title,
        phase="build", members=tuple(names), rule="evidence", suite=suite, source=str(repo), base="main",
        base_commit=commit, acceptance=task.story.acceptance_criteria, findings=findings,
    )  # fmt: skip
    brief = Brief(
        deliberation_id=req.id, story_id=req.story_id, task_id=TASK_ID,
        task=_story_text(task, findings), phase="build", round=0, step="propose", source=str(repo),
        base="main", base_commit=commit, acceptance=req.acceptance, findings=findings,
    )  # fmt: skip

    def one(m: str) -> Proposal | None:
        try:
            return make_proposal(req, m, 0, team[m].propose(brief))
        except Exception:  # a developer whose edits never applied offers no candidate
            return None

    with ThreadPoolExecutor(max_workers=max(1, min(3, len(names)))) as pool:
        return [p for p in pool.map(one, names) if p is not None]


def _build(
    task: Any, chat: Any, winner: Proposal | None, repo: Path, root: Path
) -> tuple[bool, str, tuple[str, ...] | None]:
    """The fleet's build path with ``winner`` (on ``repo``'s base): (passes the hidden tests,
    detail, the gate's findings when nothing was committed, else None)."""
    if winner is None or winner.patch is None:
        return False, "no candidate patch", (f"{TASK_ID}: no candidate patch applied",)
    tree, info = fleet_build(task, chat, root, attempts=1, winner=winner, repo=repo)
    if tree is None:
        reason = str(info.get("reason", ""))
        return False, f"not committed: {reason}", tuple(info.get("findings") or [reason])[:6]
    return (*task.judge(tree), None)


def _oracle(task: Any, d: Any, root: Path, suite: Any) -> str:
    """Diagnostics (not a score): each candidate version's round, whether it passed the evidence
    suite, and whether it passes the hidden tests -- so a loss can be told apart as a selection
    miss (a passing candidate was there) or a generation miss (none was)."""
    import shutil
    import subprocess

    from fleet.evidence import agree

    # the tally's own view: trusted repository tests, generated tests weighed by the first proposals
    trusted, advisory = (suite.trusted, suite.advisory) if suite else ((), ())
    first = [p.id for p in first_proposals(d.proposals)]
    authors = {p.id: p.author for p in d.proposals}
    found = (
        agree(d.evidence, trusted=trusted, judges=first, authors=authors, advisory=advisory)
        if d.evidence
        else None
    )
    keys = found.full if found else {}
    qa = {
        e.proposal_id: sum(t.passed for t in e.tests if any(t.test_id.startswith(a) for a in advisory))
        for e in d.evidence
    }  # fmt: skip
    alike = found.behaviour if found else {}
    out = []
    for p in d.proposals:
        if p.patch is None:
            continue
        tree = root.parent / f"oracle-{len(out)}"
        shutil.copytree(root / "repo", tree)
        applied = subprocess.run(["git", "-C", str(tree), "apply", "-"], input=p.patch.diff,
                                 text=True, capture_output=True)  # fmt: skip
        hidden = applied.returncode == 0 and task.judge(tree)[0]
        mark = "W" if p.id == d.winner else ""
        out.append(
            f"{mark}r{p.round}:{p.author}:ev={int(keys.get(p.id, False))}/hid={int(hidden)}"
            f"/alike={alike.get(p.id, 0)}/qa={qa.get(p.id, 0)}"
        )
    return " ".join(out)


def _advisory_failed(found: list[Any], pick: Any, suite: Any) -> list[str]:
    """The advisory tests (QA's examples) ``pick``'s evidence fails."""
    return [
        t.test_id
        for e in found
        if pick is not None and e.proposal_id == pick.id
        for t in e.tests
        if not t.passed and any(t.test_id.startswith(a) for a in suite.advisory)
    ]


def _with_and_without(
    task: Any, props: list[Any], found: list[Any], suite: Any, repo: Path, root: Path
) -> str:
    """Diagnostics (not a score): the pick with QA's advisory examples and without them, and
    whether each passes the hidden tests (the same candidates: the examples' paired effect)."""
    from fleet.evidence import agree

    def pick(evidence: list[Any]) -> Any:
        scores = agree(evidence, trusted=suite.trusted, advisory=suite.advisory)
        return max(props, key=lambda p: scores.key(p.id))

    def hidden(p: Any) -> int:
        import shutil
        import subprocess

        tree = root / f"hid-{p.id[-8:]}"
        if not tree.exists():
            shutil.copytree(repo, tree)
            subprocess.run(["git", "-C", str(tree), "apply", "-"], input=p.patch.diff,
                           text=True, capture_output=True)  # fmt: skip
        return int(task.judge(tree)[0])

    bare = [
        e.model_copy(
            update={
                "tests": tuple(
                    t for t in e.tests if not any(t.test_id.startswith(a) for a in suite.advisory)
                )
            }
        )  # fmt: skip
        for e in found
    ]
    a, b = pick(found), pick(bare)
    qa = {
        p.id: sum(t.passed for t in e.tests if any(t.test_id.startswith(x) for x in suite.advisory))
        for p in props for e in found if e.proposal_id == p.id
    }  # fmt: skip
    per = " ".join(f"{p.author}:qa={qa.get(p.id, 0)}/hid={hidden(p)}" for p in props)
    return f"with={a.author}/hid={hidden(a)} without={b.author}/hid={hidden(b)} [{per}]"


def arm_council(tasks: list[Any], chat: Any, args: argparse.Namespace) -> Any:
    res, start = ArmResult(), time.monotonic()
    for task in tasks:
        t0 = time.monotonic()
        tokens, findings = 0, None
        with tempfile.TemporaryDirectory(prefix="bench-council-") as tmp:
            try:
                # as the story path: a blocked gate convenes a new council with its findings
                for attempt in range(max(1, args.attempts)):
                    top = Path(tmp) / f"a{attempt}"
                    winner, spent, d, suite, root = _convene(
                        task, chat, top, args, attempt, findings or ()
                    )
                    tokens += spent
                    if task.kind == "humaneval":
                        print(f"  council {task.id} a{attempt} candidates: "
                              f"{_oracle(task, d, root, suite)}")  # fmt: skip
                    ok, detail, findings = _build(task, chat, winner, root / "repo", top / "b")
                    print(f"  council {task.id} a{attempt}: "
                          f"{'committed' if findings is None else 'blocked'}", flush=True)  # fmt: skip
                    if findings is None:
                        break
            except CouncilFailed as exc:  # QuorumLost: a failed task, its tokens spent
                tokens += exc.tokens
                ok, detail = False, str(exc)[:200]
            except Exception as exc:  # a crashed council is a failed task, reported
                ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
        res.tokens += tokens
        count(res, task, ok)
        print(f"  council {task.id}: {'PASS' if ok else 'fail'} ({time.monotonic() - t0:.0f}s) "
              f"{'' if ok else detail[:120]}", flush=True)  # fmt: skip
    res.seconds = time.monotonic() - start
    return res


def arm_vote(
    tasks: list[Any], chat: Any, args: argparse.Namespace, *, more: Any = None, name: str = "vote"
) -> Any:
    """``more(task, attempt, drawn, root, findings)``: more samples (``vote_cost``) -> (the
    candidates with them, a note)."""
    from fleet.evidence import agree
    from fleet.evidence.acceptance import drop_tests
    from fleet.evidence.suite import with_suite

    res, start = ArmResult(), time.monotonic()
    for task in tasks:
        t0 = time.monotonic()
        tokens, findings = 0, None
        carry = dict(_CARRY["paired", task.id]) if task.id in _ROUND0 else {}
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            try:
                for attempt in range(max(1, args.attempts)):
                    top = Path(tmp) / f"a{attempt}"
                    paired = _ROUND0.get(task.id) if attempt == 0 else None
                    ask = SuiteAsk(council_spec(args).qa_examples, carry,
                                   council_seed(0, 0, attempt))  # fmt: skip
                    drawn = paired or _fresh_round0(task, chat, top / "v", ask, findings or ())
                    note = ""
                    if more is not None:
                        drawn, note = more(task, attempt, drawn, top, findings or ())
                    props, found, spent, suite, repo = drawn
                    tokens += spent
                    scores = agree(found, trusted=suite.trusted, advisory=suite.advisory)
                    pick = max(props, key=lambda p: scores.key(p.id)) if props else None
                    if task.kind == "humaneval" and suite.advisory and more is None:
                        print(f"  vote {task.id} a{attempt} QA examples: "
                              f"{_with_and_without(task, props, found, suite, repo, top)}")  # fmt: skip
                    drop = [*scores.distrusted, *_advisory_failed(found, pick, suite)]
                    if pick is not None and pick.patch is not None and drop:
                        # like the council's winner: it ships only the tests some candidate passes
                        # and the advisory ones (QA's examples) it passes itself
                        kept = drop_tests(suite, drop)
                        pick = pick.model_copy(update={"patch": with_suite(pick.patch, kept)})
                    ok, detail, findings = _build(task, chat, pick, repo, top / "b")
                    print(f"  {name} {task.id} a{attempt}: {len(props)} samples{note}, "
                          f"{'committed' if findings is None else 'blocked'}"
                          f"{'' if pick is None else ' (' + pick.author + ')'}", flush=True)  # fmt: skip
                    if findings is None:
                        break
            except Exception as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
        res.tokens += tokens
        count(res, task, ok)
        print(f"  {name} {task.id}: {'PASS' if ok else 'fail'} ({time.monotonic() - t0:.0f}s) "
              f"{'' if ok else detail[:120]}", flush=True)  # fmt: skip
    res.seconds = time.monotonic() - start
    return res
