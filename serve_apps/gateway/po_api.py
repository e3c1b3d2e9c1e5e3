"""Read-only routes the PO web UI needs: who am I, the lifecycle, a dry-run score, context packs.

Every route takes the gateway's own auth dependency (``app.state.need``), so whatever the
gateway's auth decides for its other routes applies here too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Path
from pydantic import BaseModel, Field

from fleet.contracts import ContextPack, Story
from fleet.orchestrator import commands
from serve_apps.gateway.protocol import STORY_ID, StoryIn

PHASES = ("draft", "design", "build", "test", "docs")
ACTING_ROLES = ("po", "admin")  # a po acts on its own (or shared) stories


class Me(BaseModel):
    role: str = Field(description="the token's role (po, viewer)")
    can_act: bool = Field(description="whether this token may create stories and answer gates")


class FindingOut(BaseModel):
    criterion: str
    points_lost: int
    reason: str
    suggestion: str


class ScoreDetail(BaseModel):
    """The story coach's verdict on a draft, nothing recorded."""

    dor: int = Field(description="Definition-of-Ready score, 0-100")
    work_kind: str = Field(
        description="what the coach scored it as: feature (the user-story sentence), bug (a "
        "bug report: steps or an example, expected and actual behaviour) or change (a reason)"
    )
    work_kind_inferred: bool = Field(description="true: inferred from the text (none was given)")
    ready: bool = Field(description="dor at or above the threshold the orchestrator applies")
    threshold: int
    invest: dict[str, int] = Field(description="INVEST letter -> 0-100")
    findings: list[FindingOut] = Field(description="each point lost, why, and a concrete fix")


class TransitionOut(BaseModel):
    source: str
    target: str
    name: str
    human_gate: str | None = None
    loop_back: bool = False


class LifecycleOut(BaseModel):
    states: list[str]
    initial: str
    terminal: list[str]
    transitions: list[TransitionOut]


class PackOut(BaseModel):
    """One context pack the context service built for this story (from its cache)."""

    key: str = Field(description="role:phase:task")
    pack: dict[str, Any]


class ContextOut(BaseModel):
    story_id: str
    packs: list[PackOut]
    note: str = Field(description="where these come from and what may be missing")


def role_name(principal: Any) -> str:
    """The role of whatever the auth dependency returns (a role name, or a principal object)."""
    return str(getattr(principal, "role", principal))


def score_draft(body: StoryIn, *, threshold: int = 70) -> ScoreDetail:
    from fleet.coach import score_story
    from fleet.story_kind import kind_of

    story = Story(
        id=body.id or "draft",
        title=body.title,
        description=body.description,
        acceptance_criteria=tuple(body.acceptance_criteria),
        rigor=body.rigor,
        repo=body.repo,
        branch=body.branch,
        created_ms=int(time.time() * 1000),
        work_kind=body.work_kind,
    )
    score = score_story(story, threshold=threshold)
    return ScoreDetail(
        dor=score.dor,
        work_kind=kind_of(story),
        work_kind_inferred=body.work_kind is None,
        ready=score.ready,
        threshold=threshold,
        invest=dict(score.invest),
        findings=[
            FindingOut(
                criterion=f.criterion,
                points_lost=f.points_lost,
                reason=f.reason,
                suggestion=f.suggestion,
            )
            for f in score.findings
        ],
    )


def lifecycle_out() -> LifecycleOut:
    from fleet.config import load

    cfg = load("lifecycle.yaml")
    return LifecycleOut(
        states=list(cfg.states),
        initial=cfg.initial,
        terminal=list(cfg.terminal),
        transitions=[
            TransitionOut(
                source=t.source,
                target=t.target,
                name=t.name,
                human_gate=t.human_gate,
                loop_back=t.loop_back,
            )
            for t in cfg.transitions
        ],
    )


def context_packs(log: Any, story_id: str) -> list[PackOut]:
    """The packs cached for the story's roles, phases and tasks (expired ones are gone)."""
    from fleet.config import load
    from fleet.context.service import ContextEngine

    view = commands.load_view(log, story_id)  # 404 for unknown stories
    get = getattr(log, "get_scratch", None)
    if get is None:
        return []
    roles = sorted(load("roles.yaml").roles)
    tasks: list[str | None] = [None, *sorted(view.tasks)]
    # a pack built with the repository is cached under its key plus ":<commit>" (the task's
    # base commit): look under every base commit the story's proposals name
    suffixes = ["", *(f":{c}" for c in base_commits(log.read(story_id)))]
    out = []
    for role in roles:
        for phase in PHASES:
            for task in tasks:
                key = ContextEngine.pack_key(story_id, role, phase, task)
                for suffix in suffixes:
                    raw = get(key + suffix)
                    if not raw:
                        continue
                    pack = ContextPack.model_validate_json(json.loads(raw)["pack"])
                    name = f"{role}:{phase}:{task or '-'}" + (
                        f" @ {suffix[1:11]}" if suffix else ""
                    )
                    out.append(PackOut(key=name, pack=pack.model_dump(mode="json")))
    return out


def base_commits(rows: Any) -> list[str]:
    """The base commits a story's changes were made on (proposals' patches, the delivery)."""
    found: dict[str, None] = {}
    for _, ev in rows:
        patch = getattr(ev.payload, "patch", None)
        commit = getattr(patch, "base_commit", None) or ev.data.get("base_commit")
        if isinstance(commit, str) and commit:
            found[commit] = None
    return list(found)


def install_po_api(app: FastAPI, service: Callable[[], Any]) -> None:
    """Add the UI's read-only routes to ``app`` (after ``create_app`` set ``app.state.need``)."""
    from serve_apps.gateway.progress_api import install_progress_api

    viewer = app.state.need("viewer")
    install_progress_api(app, service)

    @app.get("/me", response_model=Me, tags=["ui"])
    def me(principal: Any = viewer) -> Me:
        role = role_name(principal)
        return Me(role=role, can_act=role in ACTING_ROLES)

    @app.get("/lifecycle", response_model=LifecycleOut, tags=["ui"])
    def lifecycle(principal: Any = viewer) -> LifecycleOut:
        return lifecycle_out()

    @app.post("/stories/score", response_model=ScoreDetail, tags=["stories"])
    def score(body: StoryIn, principal: Any = viewer) -> ScoreDetail:
        """Score a draft story (DoR/INVEST, suggestions) without creating it."""
        return score_draft(body)

    @app.get("/stories/{story_id}/context", response_model=ContextOut, tags=["stories"])
    def context(
        story_id: Annotated[str, Path(pattern=STORY_ID)], principal: Any = viewer
    ) -> ContextOut:
        """What each role saw: the context packs cached for this story."""
        packs = context_packs(service().log, story_id)
        return ContextOut(
            story_id=story_id,
            packs=packs,
            note="packs the context service cached for this story (kept 7 days, the latest "
            "per role, phase and task); agents that ran without the context service left none",
        )
