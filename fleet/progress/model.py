"""What a story's progress is made of: :class:`Step` (one visit of a lifecycle state) and
:class:`Progress` (what :func:`fleet.progress.fold` returns, the JSON of
``GET /stories/{id}/progress``), and ``STEPS``, the lifecycle's working states in order."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field

STEPS = ("DRAFT", "DESIGN", "BUILD", "TEST", "DOCS")  # the lifecycle's working states, in order


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Model):
    """One visit of a lifecycle state (TEST -> BUILD loops visit BUILD again)."""

    state: str
    started_ms: int
    ended_ms: int | None = Field(None, description="None: the story is in this step now")
    work_s: float = Field(description="seconds spent, without the time waiting for the PO")
    waited_s: float = Field(0.0, description="seconds spent waiting at a PO gate")


class Progress(_Model):
    """What ``fold`` makes of a story's events (the JSON of ``GET /stories/{id}/progress``)."""

    # the computed fields (tokens_left, time_left_s) come back when a client reads the JSON
    model_config = ConfigDict(frozen=True, extra="ignore")

    story_id: str
    state: str
    outcome: str | None = None
    now: str = Field(description="what is happening now, in words")
    elapsed_s: float = Field(description="since the story was created")
    steps: tuple[Step, ...] = ()
    tokens_spent: int = Field(0, description="prompt + completion since the budget last started")
    tokens_limit: int | None = Field(None, description="budgets.story.tokens; None: no limit")
    cost_spent: float = 0.0
    cost_limit: float | None = None
    time_limit_s: float | None = Field(
        None, description="a time budget when the caller has one (fleet run --timeout); None: none"
    )
    estimate_s: float | None = Field(
        None, description="time left, from the median step durations of earlier stories"
    )
    estimate_note: str = Field("no estimate yet", description="how the estimate was made")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tokens_left(self) -> int | None:
        return None if self.tokens_limit is None else max(0, self.tokens_limit - self.tokens_spent)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def time_left_s(self) -> float | None:
        if self.time_limit_s is None:
            return None
        return max(0.0, self.time_limit_s - self.elapsed_s)
