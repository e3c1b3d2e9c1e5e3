"""Typed contracts that cross actors, Redis, the graph and HTTP.

Every model is frozen, rejects unknown fields and carries a ``kind`` literal so
that ``WIRE`` (one ``TypeAdapter`` over the discriminated union) can decode any
of them from JSON without being told the type.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, field_validator

RigorLevel = Literal["L0", "L1", "L2", "L3"]
StoryState = Literal["BACKLOG", "DRAFT", "DESIGN", "BUILD", "TEST", "DOCS", "DONE"]
Phase = Literal["draft", "design", "build", "test", "docs"]
RunStatus = Literal["passed", "failed", "timeout", "killed", "denied", "error"]
Verdict = Literal["pass", "warn", "block"]
WorkKind = Literal["feature", "bug", "change"]


class Contract(BaseModel):
    """Base of every wire model: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- stories


class Story(Contract):
    """A PO's story: what to build, how to know it is done, where the code lives."""

    kind: Literal["story"] = "story"
    id: str
    title: str
    description: str = ""
    acceptance_criteria: tuple[str, ...] = ()
    rigor: RigorLevel = "L1"
    repo: str | None = Field(None, description="git URL or local path of the target repository")
    branch: str | None = Field(
        None, description="base branch (None: the repository's default branch, its HEAD)"
    )
    state: StoryState = "BACKLOG"
    po: str = "po"
    created_ms: int = 0
    models: dict[str, str] = Field(
        default_factory=dict,
        description="role -> models.yaml model, for this story only (overrides routing)",
    )
    shared: bool = Field(False, description="other POs may act on it too (else only its PO)")
    push: str | None = Field(
        None,
        description="opt-in: push the delivered branch to this remote (a remote name of the "
        "repository, or an https/ssh URL) with the user's own git credentials; None: never",
    )
    work_kind: WorkKind | None = Field(
        None,
        description="feature, bug (a bug report) or change, as the PO marked it; None: inferred "
        "from the text (fleet.story_kind.kind_of)",
    )

    @field_validator("repo", "branch", "push")
    @classmethod
    def _not_an_option(cls, value: str | None) -> str | None:
        # Both reach git's command line; an option-like value is refused before it gets there.
        if value is not None and (value.startswith("-") or any(c in value for c in "\0\r\n")):
            raise ValueError("may not start with '-' or contain NUL or line breaks")
        return value


class Finding(Contract):
    """One reason a story lost points, with a concrete fix."""

    kind: Literal["finding"] = "finding"
    criterion: str
    points_lost: int
    reason: str
    suggestion: str


class StoryScore(Contract):
    """Definition-of-Ready and INVEST scoring of a story (0-100 each)."""

    kind: Literal["story_score"] = "story_score"
    story_id: str
    dor: int = Field(ge=0, le=100)
    invest: dict[str, int] = Field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    ready: bool = False

    @property
    def suggestions(self) -> tuple[str, ...]:
        """One suggestion per finding's reason (a reason costs points in several dimensions,
        each with its own wording of the fix), each said once."""
        reasons: set[str] = set()
        out: list[str] = []
        for f in self.findings:
            if f.reason not in reasons and f.suggestion not in out:
                out.append(f.suggestion)
            reasons.add(f.reason)
        return tuple(out)


class Task(Contract):
    """One node of a story's plan (a DAG over ``depends_on``)."""

    kind: Literal["task"] = "task"
    id: str
    story_id: str
    role: str
    phase: Phase = "build"
    description: str
    depends_on: tuple[str, ...] = ()


# --------------------------------------------------------------------------- changes


class Patch(Contract):
    """A proposed change: a unified diff against the task's base commit.

    Produced by code from an agent's edits (search/replace blocks, whole-function replacements
    or a tool loop's worktree diff) and validated by applying it to a clean checkout
    (``git apply --check``) before it is ever proposed. ``diff`` is what ``git apply`` takes.
    """

    kind: Literal["patch"] = "patch"
    base_commit: str = Field(description="commit the diff applies to")
    diff: str = Field(description="unified diff (git format, a/ b/ prefixes)")
    files: tuple[str, ...] = Field(default=(), description="repository-relative paths touched")
    rationale: str = Field("", description="the author's short explanation")


class TestOutcome(Contract):
    """One evidence test's result on one patch."""

    kind: Literal["test_outcome"] = "test_outcome"
    test_id: str = Field(description="pytest node id of the evidence test")
    passed: bool
    excerpt: str = Field("", description="short failure excerpt (empty when passed)")
    probe: str | None = Field(
        None, description="a probe's call (fleet/evidence/probes.py): an observation, not a test"
    )
    observed: str = Field("", description="what the probe's call did: returns X, raises E, timeout")


# --------------------------------------------------------------------------- council


class Proposal(Contract):
    """A member's answer to a task in a given round."""

    kind: Literal["proposal"] = "proposal"
    id: str
    deliberation_id: str
    author: str = Field(description="agent id, e.g. 'developer-1'")
    role: str
    round: int = 0
    content: str
    patch: Patch | None = Field(None, description="the proposed change, when the task changes code")
    commands: tuple[tuple[str, ...], ...] = Field(
        default=(), description="argv lists that test the proposal (evidence-weighted voting)"
    )
    plan: tuple[Task, ...] = Field(
        default=(), description="the proposed task DAG, when the council decides a story's plan"
    )
    rationale: str = ""


class Critique(Contract):
    """A member's review of another member's proposal."""

    kind: Literal["critique"] = "critique"
    id: str
    deliberation_id: str
    author: str
    role: str
    round: int
    target: str = Field(description="id of the critiqued proposal")
    content: str
    severity: Literal["info", "minor", "major", "blocker"] = "minor"


class Ballot(Contract):
    """A member's vote: a ranking (best first), optional scores and approvals."""

    kind: Literal["ballot"] = "ballot"
    id: str
    deliberation_id: str
    voter: str
    role: str
    round: int = Field(
        0, description="council round the ballot was cast in; only the last is counted"
    )
    ranking: tuple[str, ...]
    scores: dict[str, float] = Field(default_factory=dict)
    approvals: tuple[str, ...] = ()
    rationale: str = ""


class Evidence(Contract):
    """What running a proposal's commands in the sandbox showed."""

    kind: Literal["evidence"] = "evidence"
    proposal_id: str
    passed: bool
    tests_passed: int = 0
    tests_failed: int = 0
    detail: str = ""
    tests: tuple[TestOutcome, ...] = Field(
        default=(), description="per-test results, evidence suite"
    )
    patch_hash: str | None = Field(None, description="sha256 of the patch diff the run applied")
    observed: dict[str, str] = Field(
        default_factory=dict,
        description="probe call -> what it did (returns X / raises E / timeout); not tests",
    )
    runs: tuple[str, ...] = Field(
        default=(), description="ids of the sandbox runs (ToolExecution) that produced it"
    )


class Tally(Contract):
    """Outcome of a vote-counting rule."""

    kind: Literal["tally"] = "tally"
    rule: str
    scores: dict[str, float]
    winner: str
    tie_break: str | None = None
    early_stop: bool = False


class Deliberation(Contract):
    """A council's full record for one task."""

    kind: Literal["deliberation"] = "deliberation"
    id: str
    story_id: str
    task_id: str | None = None
    members: tuple[str, ...] = ()
    rounds: int = 0
    proposals: tuple[Proposal, ...] = ()
    critiques: tuple[Critique, ...] = ()
    ballots: tuple[Ballot, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    tally: Tally | None = None
    winner: str | None = None
    missing: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="round number -> members that errored or timed out"
    )
    distrusted: tuple[str, ...] = Field(
        default=(),
        description="generated evidence tests no candidate passes (CodeT agreement): they sink "
        "no one and are left out of the winning patch",
    )
    unproven: tuple[str, ...] = Field(
        default=(),
        description="the story's own acceptance tests the winner fails (``test id: excerpt``): "
        "such a winner is not shipped; empty when it passes them all",
    )


class Alternative(Contract):
    """A proposal the decision did not take, and why."""

    kind: Literal["alternative"] = "alternative"
    proposal_id: str
    summary: str
    why_rejected: str


class Decision(Contract):
    """What was decided, by whom, when and why, and what lost."""

    kind: Literal["decision"] = "decision"
    id: str
    story_id: str
    task_id: str | None = None
    deliberation_id: str | None = None
    what: str
    decided_by: tuple[str, ...]
    why: str
    alternatives: tuple[Alternative, ...] = ()
    at_ms: int = 0


# --------------------------------------------------------------------------- runner


# A project's own test suite may start many threads (more-itertools' starts 100 at once), and
# each counts against ``processes``: test runs get room for that; a fork bomb still stops there.
TEST_PROCESSES = 256


class Resources(Contract):
    """Limits for one sandboxed run (test runs: ``processes=TEST_PROCESSES``)."""

    kind: Literal["resources"] = "resources"
    cpu_seconds: int = 30
    memory_mb: int = 512
    processes: int = 64
    output_bytes: int = 1_000_000
    file_size_mb: int = 64
    open_files: int = 256


class RunContext(Contract):
    """Whose run this is (story, task, role, phase): what sandbox policy and auditing key on."""

    kind: Literal["run_context"] = "run_context"
    story_id: str | None = None
    task_id: str | None = None
    role: str = "developer"
    phase: Phase = "build"


class TaskSpec(Contract):
    """What to run in the sandbox: an argv, never a shell string."""

    kind: Literal["task_spec"] = "task_spec"
    id: str
    cmd: tuple[str, ...] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    workspace: str | None = None
    cwd: str | None = Field(
        None, description="where the command starts, relative to the workspace (default: its root)"
    )
    image: str | None = None
    timeout_s: float = 60.0
    resources: Resources = Resources()
    artifacts: tuple[str, ...] = ()
    context: RunContext = RunContext()
    network: bool = Field(
        False,
        description="the run may reach the network (the installer of a target's dependencies "
        "only); off for everything else",
    )
    expose: tuple[str, ...] = Field(
        (),
        description="absolute host directories the run may read (read-only), e.g. an environment",
    )


class TaskResult(Contract):
    """What a run did. A failed command is a result, not an exception."""

    kind: Literal["task_result"] = "task_result"
    spec_id: str
    status: RunStatus
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    artifacts: dict[str, str] = Field(default_factory=dict)
    duration_s: float = 0.0
    limit_hit: str | None = None
    backend: str = ""
    reason: str = ""


class WorkspaceReport(Contract):
    """What building and testing a workspace showed."""

    kind: Literal["workspace_report"] = "workspace_report"
    build_ok: bool
    unit_passed: int = 0
    unit_failed: int = 0
    coverage: float | None = Field(None, ge=0, le=100)
    static_findings: int = 0
    lint_findings: int = 0
    e2e_passed: int = 0
    e2e_failed: int = 0
    notes: tuple[str, ...] = ()
    not_built: str | None = Field(
        None,
        description="why the change was deliberately not built (the gate says this, not "
        "'the workspace did not build'); None: it was built, or its build was tried",
    )


class DimensionScore(Contract):
    """One rigor dimension of a gate: its 0-100 score and its weight in the total."""

    kind: Literal["dimension_score"] = "dimension_score"
    name: str
    weight: float
    score: float = Field(ge=0, le=100)
    detail: str = ""


class GateResult(Contract):
    """A workspace report judged against a rigor profile."""

    kind: Literal["gate_result"] = "gate_result"
    profile: RigorLevel
    score: float = Field(ge=0, le=100)
    verdict: Verdict
    dimensions: tuple[DimensionScore, ...] = ()
    failures: tuple[str, ...] = ()


# --------------------------------------------------------------------------- context & models


class ContextSection(Contract):
    """One named part of a context pack, with its real-token count."""

    kind: Literal["context_section"] = "context_section"
    name: str
    content: str
    tokens: int = 0
    priority: int = 0


class ContextPack(Contract):
    """What one role sees in one phase, within a real-token budget."""

    kind: Literal["context_pack"] = "context_pack"
    story_id: str
    task_id: str | None = None
    role: str
    phase: Phase
    sections: tuple[ContextSection, ...] = ()
    token_count: int = 0
    budget: int = 0
    dropped: tuple[str, ...] = ()
    compressed: tuple[str, ...] = ()
    redacted: int = 0

    def render(self) -> str:
        return "\n\n".join(f"## {s.name}\n{s.content}" for s in self.sections)


class ChatMessage(Contract):
    """One turn sent to a chat model."""

    kind: Literal["chat_message"] = "chat_message"
    role: Literal["system", "user", "assistant"]
    content: str


class ChatResponse(Contract):
    """A chat model's answer with its token counts and latency."""

    kind: Literal["chat_response"] = "chat_response"
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    # the reply stopped at its token limit (OpenAI's finish_reason "length"), not where the
    # model ended it: its last part is unfinished
    truncated: bool = False


class UsageRecord(Contract):
    """One model call in the usage ledger."""

    kind: Literal["usage"] = "usage"
    story_id: str | None = None
    role: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cost: float = 0.0


# --------------------------------------------------------------------------- events

Payload = Annotated[
    Story
    | StoryScore
    | Task
    | Patch
    | TestOutcome
    | Proposal
    | Critique
    | Ballot
    | Evidence
    | Tally
    | Deliberation
    | Decision
    | TaskSpec
    | TaskResult
    | WorkspaceReport
    | GateResult
    | ContextPack
    | UsageRecord,
    Field(discriminator="kind"),
]


class FleetEvent(Contract):
    """Every state change: appended to the story's stream, projected to the graph.

    ``id`` is the idempotency key: appending the same id twice stores it once.
    ``type`` is dotted, e.g. ``story.created``, ``council.proposal``, ``sandbox.run``.
    """

    kind: Literal["event"] = "event"
    id: str
    story_id: str
    type: str
    at_ms: int
    actor: str = "fleet"
    payload: Payload | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)


Wire = Annotated[
    Payload | ChatMessage | ChatResponse | FleetEvent | Finding, Field(discriminator="kind")
]
WIRE: TypeAdapter[Any] = TypeAdapter(Wire)


def to_wire(model: Contract) -> bytes:
    """Serialise any contract to JSON bytes."""
    return model.model_dump_json().encode()


def from_wire(data: bytes | str) -> Any:
    """Decode JSON produced by :func:`to_wire` back into its typed model."""
    return WIRE.validate_json(data)
