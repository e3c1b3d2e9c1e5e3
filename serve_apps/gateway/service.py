"""What the gateway does, without HTTP: read stories from the timeline, send commands on.

Reads go straight to Redis (the timeline is the truth); writes go through the
orchestrator actor, the single writer of each story's decisions.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

from fleet.contracts import Deliberation, FleetEvent, Story
from fleet.errors import NotFound, StorageUnavailable
from fleet.orchestrator import commands
from fleet.orchestrator.view import StoryView
from fleet.outage import Outage
from fleet.story_kind import kind_of
from serve_apps.gateway.protocol import (
    Accepted,
    DeliveryOut,
    DiffOut,
    ParkedOut,
    ScoreOut,
    StoryIn,
    StoryOut,
)
from serve_apps.gateway.repos import RepoProbe

HEARTBEAT = object()  # yielded by follow() when nothing happened for a while
log = logging.getLogger(__name__)


class Commands(Protocol):
    """The orchestrator's command surface (the actor, or the plain class in tests)."""

    def submit(self, story: dict[str, Any]) -> str: ...
    def approve(
        self, story_id: str, gate: str | None, approved: bool, by: str, comment: str = ""
    ) -> dict[str, Any]: ...
    def transition(
        self, story_id: str, target: str, by: str, comment: str = ""
    ) -> dict[str, Any]: ...
    def healthy(self) -> bool: ...


def story_out(view: StoryView) -> StoryOut:
    story = view.story
    assert story is not None
    return StoryOut(
        id=story.id,
        title=story.title,
        work_kind=kind_of(story),
        work_kind_inferred=story.work_kind is None,
        state=view.state,
        rigor=story.rigor,
        repo=story.repo,
        branch=story.branch,
        push=story.push,
        delivery=_delivery_out(view.delivery),
        parked=ParkedOut(gate=view.parked.gate, reason=view.parked.reason) if view.parked else None,
        outcome=view.outcome,
        score=ScoreOut(
            dor=view.score.dor, ready=view.score.ready, suggestions=list(view.score.suggestions)
        )
        if view.score
        else None,
        tasks=[
            {
                "id": t.id,
                "role": t.role,
                "description": t.description,
                "depends_on": list(t.depends_on),
            }
            for t in view.tasks.values()
        ],
        transitions=[{"from": f, "to": t, "name": n} for f, t, n in view.transitions],
        attempts=view.loopbacks + 1 if view.state in ("BUILD", "TEST") else view.loopbacks,
        events=view.event_count,
        links={
            "self": f"/stories/{story.id}",
            "events": f"/stories/{story.id}/events",
            "report": f"/stories/{story.id}/report",
        },
    )


def _delivery_out(d: dict[str, Any] | None) -> DeliveryOut | None:
    if d is None:
        return None
    return DeliveryOut(
        delivered=bool(d.get("delivered")),
        branch=_s(d.get("branch")),
        repo=_s(d.get("repo")),
        commit=_s(d.get("commit")),
        patch_file=_s(d.get("patch_file")),
        push=_s(d.get("push")),
        pushed=d.get("pushed") if isinstance(d.get("pushed"), bool) else None,
        error=_s(d.get("error") or d.get("push_error")),
    )


class _NoGraph:
    def story_graph(self, story_id: str) -> Any:
        raise NotFound(what="story graph", id=story_id)


def check_models(models: dict[str, str]) -> None:
    """Per-story model overrides against roles.yaml and models.yaml (raises UserError)."""
    if models:
        from fleet.config import load
        from fleet.orchestrator.routing import check_overrides

        check_overrides(models, load("models.yaml"), load("roles.yaml"))


class GatewayService:
    """Stories, events, reports and deliberations for the HTTP layer."""

    def __init__(
        self, log: Any, graph: Any, orchestrator: Commands, *, repos: RepoProbe | None = None
    ) -> None:
        self.log = log
        self.graph = graph
        self.orchestrator = orchestrator
        self.repos = repos  # None: the repository is not checked at submission (tests only)

    # ------------------------------------------------------------------ reads

    def get(self, story_id: str) -> StoryOut:
        return story_out(commands.load_view(self.log, story_id))

    def owner(self, story_id: str) -> tuple[str, bool]:
        """``(po, shared)`` of ``story_id``: who may steer it (raises NotFound)."""
        story = commands.load_view(self.log, story_id).story
        if story is None:
            raise NotFound(what="story", id=story_id)
        return story.po, story.shared

    def diff(self, story_id: str) -> DiffOut:
        """The delivered change, else the last committed one (NotFound: nothing committed yet)."""
        rows = [ev for _, ev in self.log.read(story_id)]
        if not rows:
            raise NotFound(what="story", id=story_id)
        for ev in reversed(rows):
            d = ev.data
            if ev.type == "story.delivered":
                return DiffOut(
                    delivered=bool(d.get("delivered")),
                    branch=_s(d.get("branch")),
                    repo=_s(d.get("repo")),
                    commit=_s(d.get("commit")),
                    patch_file=_s(d.get("patch_file")),
                    diff=str(d.get("diff") or ""),
                    truncated=bool(d.get("diff_truncated")),
                )
            if ev.type == "workspace.report" and d.get("commit"):
                return DiffOut(
                    delivered=False,
                    branch=_s(d.get("branch")),
                    repo=_s(d.get("workspace")),
                    commit=_s(d.get("commit")),
                    diff=str(d.get("diff") or ""),
                )
        raise NotFound(what="committed change of story", id=story_id)

    def list(self, *, state: str | None = None, limit: int = 100) -> list[StoryOut]:
        out = []
        for story_id in self.log.stories():
            try:
                item = self.get(story_id)
            except NotFound:
                continue
            if state is None or item.state == state:
                out.append(item)
        return out[:limit]

    def deliberation(self, deliberation_id: str) -> Deliberation:
        # Deliberation ids are "<story>.<task>.a<attempt>": the story id never has a dot.
        story_id = deliberation_id.split(".", 1)[0]
        for _, event in self.log.read(story_id):
            if (
                event.type == "council.result"
                and getattr(event.payload, "id", None) == deliberation_id
            ):
                return event.payload  # type: ignore[return-value]
        raise NotFound(what="deliberation", id=deliberation_id)

    def report(self, story_id: str) -> Any:
        from fleet.memory.report import build_report

        commands.load_view(self.log, story_id)  # 404 for unknown stories
        try:
            return build_report(self.log, self.graph, story_id)
        except (
            StorageUnavailable
        ):  # the graph store is down (Neo4j may live apart): the timeline still tells
            return build_report(self.log, _NoGraph(), story_id)

    def report_markdown(self, story_id: str) -> str:
        from fleet.memory.report import report_markdown

        return report_markdown(self.report(story_id))

    def follow(
        self,
        story_id: str,
        *,
        after: str = "0",
        follow: bool = True,
        idle_s: float = 15.0,
        max_s: float = 3_600.0,
    ) -> Iterator[tuple[str, FleetEvent] | object]:
        """The story's events after ``after``, then live ones until it finishes (or ``max_s``)."""
        commands.load_view(self.log, story_id)
        last = after
        for entry, event in self.log.read(story_id, after=after):
            last = entry
            yield entry, event
            if event.type == "story.done":
                return
        if not follow:
            return
        deadline, quiet_since = time.monotonic() + max_s, time.monotonic()
        outage = Outage(f"events of {story_id}", logger=log)
        while time.monotonic() < deadline:
            try:
                batch = self.log.tail(story_id, after=last, block_ms=1000)
                outage.ok()
            except StorageUnavailable as exc:  # keep the stream open: storage comes back
                time.sleep(outage.failed(exc))
                batch = []
            if not batch and time.monotonic() - quiet_since >= idle_s:
                quiet_since = time.monotonic()
                yield HEARTBEAT
            for entry, event in batch:
                last, quiet_since = entry, time.monotonic()
                yield entry, event
                if event.type == "story.done":
                    return

    # ------------------------------------------------------------------ commands

    def submit(self, body: StoryIn, *, po: str) -> StoryOut:
        """Record the story (``models`` already checked by :func:`check_models`).

        Raises:
            InvalidInput: the repository is not a readable git repository, ``branch`` is not
                one of its branches, or ``push`` is refused — before anything is recorded.
        """
        if body.push is not None:
            from fleet.adapters.git_host import check_remote

            check_remote(body.push, allow_private=True)  # InvalidInput -> 400, before anything
        if body.repo is not None and self.repos is not None:
            self.repos.check(body.repo, body.branch)
        story = Story(
            id=body.id or f"s-{uuid.uuid4().hex[:10]}",
            title=body.title,
            description=body.description,
            acceptance_criteria=tuple(body.acceptance_criteria),
            rigor=body.rigor,
            repo=body.repo,
            branch=body.branch,
            po=po,
            shared=body.shared,
            created_ms=int(time.time() * 1000),
            models=body.models,
            push=body.push,
            work_kind=body.work_kind,
        )
        if self.log.read(story.id, count=1):
            raise commands.Conflict(
                story_id=story.id, problem="a story with this id already exists"
            )
        self.orchestrator.submit(story.model_dump(mode="json"))
        return self.get(story.id)

    def approve(
        self, story_id: str, *, gate: str | None, approved: bool, by: str, comment: str
    ) -> Accepted:
        event = self.orchestrator.approve(story_id, gate, approved, by, comment)
        return Accepted(story_id=story_id, event_id=event["id"], type=event["type"])

    def transition(self, story_id: str, *, target: str, by: str, comment: str) -> Accepted:
        event = self.orchestrator.transition(story_id, target, by, comment)
        return Accepted(story_id=story_id, event_id=event["id"], type=event["type"])


def _s(value: Any) -> str | None:
    return None if value is None else str(value)
