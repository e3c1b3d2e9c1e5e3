"""The gateway's HTTP contract: request and response bodies and the error model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fleet.contracts import RigorLevel, WorkKind

STORY_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoryIn(Body):
    """A new story from the PO."""

    title: str = Field(min_length=1, max_length=200, description="one line: what and for whom")
    description: str = Field(
        "",
        max_length=20_000,
        description="the user story (As a... I want... so that...) or the bug report (what I "
        "did, what I expected, what happened, an example)",
    )
    work_kind: WorkKind | None = Field(
        None,
        description="feature, bug or change; omitted: inferred from the title and description",
    )
    acceptance_criteria: list[str] = Field(
        default_factory=list, max_length=30, description="checkable statements, one per item"
    )
    rigor: RigorLevel = Field("L1", description="rigor profile (L0 spike ... L3 mission critical)")
    repo: str | None = Field(
        None,
        max_length=2_000,
        pattern=r"^[^-\x00-\x1f][^\x00-\x1f]*$",
        description="git URL (https, ssh) or local path of the target repository; never '-...'",
    )
    branch: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._/][A-Za-z0-9._/-]*$",
        description="base branch (default: the repository's default branch; never '-...')",
    )
    shared: bool = Field(False, description="let other POs act on this story too")
    push: str | None = Field(
        None,
        min_length=1,
        max_length=2_000,
        pattern=r"^[^-\x00-\x1f][^\x00-\x1f]*$",
        description="opt-in: when DONE, push the branch fleet/<id> to this remote of the "
        "repository (e.g. origin) or https/ssh URL, with the git credentials of the user running "
        "the fleet (never stored by it; a URL with a password is refused); default: never pushed",
    )
    id: str | None = Field(None, pattern=STORY_ID, description="story id (default: generated)")
    models: dict[str, str] = Field(
        default_factory=dict,
        max_length=10,
        description="role -> models.yaml model for this story only, e.g. "
        '{"developer": "scripted"}; unknown role or model -> 422',
    )


class ApprovalIn(Body):
    """The PO's answer at a gate."""

    gate: str | None = Field(
        None,
        max_length=40,
        description="gate the story waits at (scope, design, acceptance, blocked, budget, error)",
    )
    approved: bool = Field(True, description="false rejects")
    comment: str = Field("", max_length=4_000)


class TransitionIn(Body):
    """A PO-requested move through a gate, by target state or transition name."""

    target: str = Field(min_length=1, max_length=40, description="e.g. DESIGN or reject_design")
    comment: str = Field("", max_length=4_000)


class ParkedOut(BaseModel):
    gate: str
    reason: str


class ScoreOut(BaseModel):
    dor: int
    ready: bool
    suggestions: list[str]


class DiffOut(BaseModel):
    """A story's change: where it is and the unified diff."""

    delivered: bool = Field(
        description="true: the story finished and its change is on `branch` in `repo`"
    )
    branch: str | None = Field(None, description="branch holding the change")
    repo: str | None = Field(None, description="repository holding that branch")
    commit: str | None = Field(None, description="commit of the change")
    patch_file: str | None = Field(None, description="patch file on the fleet's host")
    diff: str = Field("", description="unified diff from the commit the story started on")
    truncated: bool = Field(False, description="the diff was cut (the patch file has it all)")


class DeliveryOut(BaseModel):
    """Where a finished story's change was delivered (``story.delivered``, without the diff)."""

    delivered: bool
    branch: str | None = Field(None, description="branch holding the change (fleet/<id>)")
    repo: str | None = Field(None, description="repository holding that branch (a path)")
    commit: str | None = None
    patch_file: str | None = Field(None, description="patch file on the fleet's host")
    push: str | None = Field(None, description="the remote the PO asked to push to")
    pushed: bool | None = Field(None, description="whether that push succeeded")
    error: str | None = Field(None, description="why it was not delivered or not pushed")


class StoryOut(BaseModel):
    """A story as the API shows it."""

    id: str
    title: str
    work_kind: str = Field("feature", description="feature, bug or change")
    work_kind_inferred: bool = Field(
        True, description="true: the coach inferred the kind from the text (the PO gave none)"
    )
    state: str
    rigor: str
    repo: str | None
    branch: str | None
    push: str | None = None
    delivery: DeliveryOut | None = Field(
        None, description="where the change went, once the story is DONE"
    )
    parked: ParkedOut | None = None
    outcome: str | None = None
    score: ScoreOut | None = None
    tasks: list[dict[str, Any]] = Field(default_factory=list)
    transitions: list[dict[str, str]] = Field(default_factory=list)
    attempts: int = 0
    events: int = 0
    links: dict[str, str] = Field(default_factory=dict)


class StoryList(BaseModel):
    stories: list[StoryOut]


class Accepted(BaseModel):
    """What a command did: the event it recorded."""

    story_id: str
    event_id: str
    type: str


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    redis: bool
    orchestrator: bool


class ErrorOut(BaseModel):
    """Every error the API returns."""

    error: str = Field(description="machine-readable code, e.g. not_found, invalid_request")
    message: str = Field(description="what went wrong and how to fix it")
    field: str | None = Field(None, description="the request field at fault, when there is one")
