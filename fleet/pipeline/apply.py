"""Apply, gate, deliver: the council's winner becomes the task attempt's committed change.

The winning patch is exactly what is applied when it applies on the code the task builds on;
otherwise the developer's model writes the change from a context pack (built only then). The
workspace runner applies it in a fresh clone and checks it in the sandbox; the rigor gate is
evaluated here, once: its verdict decides the commit, and it is recorded with the report so the
orchestrator's TEST step does not judge the same report again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from fleet.agents import PatchFailed
from fleet.agents.loop import LoopWorkspace
from fleet.agents.testsource import with_tests
from fleet.config.models import DEFAULT_PROFILE, ModelProfile
from fleet.contracts import GateResult, Patch, Proposal, RunContext, Story, Task, WorkspaceReport
from fleet.evidence.imports import Readable, readable
from fleet.orchestrator.implement import ChangeJob, author, implement_in_loop, reusable
from fleet.orchestrator.services import Execution
from fleet.orchestrator.view import StoryView
from fleet.pipeline.ports import Checked, Checkout, ContextSource, Sources, Workspace
from fleet.pipeline.sources import source_of
from fleet.ports import ChatModel
from fleet.testinfra import flagged

MAX_DIFF_CHARS = 20_000  # of the committed diff, kept in the workspace.report event


class LoopBox(LoopWorkspace, Protocol):
    """A sandboxed copy of the repository for the ``agent`` strategy's tool loop."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class ApplyPorts:
    """What the apply step talks to."""

    sources: Sources
    context: ContextSource
    chat: Callable[[Story], ChatModel]  # the developer's model for the story (ledgered)
    strategy: Callable[[Story], str]  # "edit" or "agent" (models.yaml)
    loop_box: Callable[[Mapping[str, str], RunContext], LoopBox]
    workspace: Workspace
    gate: Callable[[WorkspaceReport, str], GateResult]
    story_diff: Callable[[Sequence[Mapping[str, Any]]], str]  # committed runs -> their diff
    # the developer's model's profile (models.yaml; default: the profile of a model naming none)
    profile: Callable[[Story], ModelProfile] = lambda story: DEFAULT_PROFILE


def execute(
    ports: ApplyPorts,
    story: Story,
    task: Task,
    winner: Proposal | None,
    view: StoryView,
    *,
    attempt: int,
) -> Execution:
    """Task ``task``'s attempt ``attempt``: the change applied, checked, gated, committed unless
    the gate blocks. ``view``: the story's timeline, with this step's committed runs."""
    source, base = source_of(story, view)
    findings = view.findings(attempt - 1) if attempt else []
    at = ports.sources.checkout(story.id, source, base)
    branch = f"fleet/{story.id}/{task.id}-a{attempt}"
    try:
        patch, tokens = change(ports, Attempt(story, task, winner, attempt, findings), at)
    except PatchFailed as exc:
        why = str(exc.fields.get("reason", exc))[:500]
        report = WorkspaceReport(build_ok=False, notes=(f"change rejected: {why}",))
        facts = {"branch": branch, "status": "rejected", "base_commit": at.commit, "reason": why}
        return _judged(report, facts, ports.gate(report, story.rigor))
    ctx = RunContext(story_id=story.id, task_id=task.id, role="developer", phase="build")
    run = partial(ports.workspace.check_change, source, branch=branch, context=ctx, base=base)
    checked, patch, shown = checked_readable(
        ports.workspace, run, readable(patch, lambda: at.repo.files(at.commit))
    )
    message = commit_message(story, task)
    status, commit, report, gate, reason = settle(ports, checked, story.rigor, message=message)
    data: dict[str, Any] = {
        "workspace": checked.workspace,
        "branch": branch,
        "status": status,
        "commit": commit,
        "base_commit": checked.base_commit or at.commit,
        "files": list(patch.files),
        "patch": patch.diff[:MAX_DIFF_CHARS],
        "context_tokens": tokens,
        "reason": reason[:500],
        # test-infrastructure edits the gate did not judge (keeping them needs the PO)
        "test_infra": list(flagged(report.notes)),
        # the generated tests as shipped: importing the code, or still looking it up (and why)
        "generated_tests": shown,
    }
    if commit:  # the story's change so far, for the PO (API, UI) before delivery
        data["diff"] = ports.story_diff([*view.workspaces, data])
    return _judged(report, data, gate)


def commit_message(story: Story, task: Task) -> str:
    """The story's title, then the task, whole (a reviewer reads both), then where it came from."""
    return (
        f"{story.title.strip()}\n\n{task.id}: {task.description.strip()}\n\nfleet story {story.id}"
    )


def checked_readable(
    workspace: Workspace, run: Callable[[str], Checked], shown: Readable
) -> tuple[Checked, Patch, dict[str, Any]]:
    """``shown.patch`` checked by ``run`` (the gate's run judges the tests as they ship), with
    its rewritten generated tests; should one of them fail (or the change not apply), the change
    with the tests as QA wrote them is checked and shipped instead, and the facts say why."""
    checked = run(shown.patch.diff)
    if not shown.rewritten:
        return checked, shown.patch, shown.facts()
    failed = [t for t in checked.failing if any(_names(t, p) for p in shown.rewritten)] or (
        [checked.rejected] if checked.rejected else []
    )
    if not failed:
        return checked, shown.patch, shown.facts()
    if not workspace.keep:
        workspace.remove(checked.workspace)
    why = f"failed with the import: {'; '.join(failed)[:300]}"
    unchanged = {**shown.unchanged, **dict.fromkeys(shown.rewritten, why)}
    original = Readable(shown.original or shown.patch, unchanged=unchanged)
    return run(original.patch.diff), original.patch, original.facts()


def _names(test_id: str, path: str) -> bool:
    """Whether a failed test id is of the test module ``path`` (a collection error names the
    module dotted)."""
    module = path.removesuffix(".py")
    return test_id.startswith(f"{path}::") or module.replace("/", ".") in test_id


def _judged(report: WorkspaceReport, data: dict[str, Any], gate: GateResult) -> Execution:
    return Execution(report=report, data={**data, "gate": gate.model_dump(mode="json")})


@dataclass(frozen=True)
class Attempt:
    """One build attempt of a task: what the change is for and what the last one got wrong."""

    story: Story
    task: Task
    winner: Proposal | None
    number: int  # 0 first; the model decodes greedily on it, later attempts sample
    findings: Sequence[str]


def change(ports: ApplyPorts, job: Attempt, at: Checkout) -> tuple[Patch, int]:
    """The change to apply and the tokens of the context it was written from (0: the council's
    winning patch as it is, no model call and so no context pack).

    Raises:
        PatchFailed: the model's change never applied (or the tool loop changed nothing).
    """
    story, task, winner, findings = job.story, job.task, job.winner, job.findings
    chosen = reusable(winner, base_commit=at.commit, check=at.repo)
    if chosen is not None:
        return chosen, 0
    pack = ports.context(story.id, "developer", "build", task.id, at.repo.path, at.commit)
    # a retry's failing tests are shown with their source, big test modules included
    files = with_tests(at.repo.files(at.commit), findings, lambda p: at.repo.read(at.commit, p))
    chat = ports.chat(story)
    ask = ChangeJob(story, task, winner, files, findings, at.commit, context=pack,
                    check=at.repo, attempt=job.number)  # fmt: skip
    if ports.strategy(story) == "agent" and not (winner and winner.patch):
        ctx = RunContext(story_id=story.id, task_id=task.id, role="developer", phase="build")
        box = ports.loop_box(files, ctx)
        try:
            patch = implement_in_loop(chat, box, ask)
        finally:
            box.close()
        return patch, pack.token_count
    patch = author(chat, ask, ports.profile(story))
    return patch, pack.token_count


def settle(
    ports: ApplyPorts, checked: Checked, level: str, *, message: str
) -> tuple[str, str | None, WorkspaceReport, GateResult, str]:
    """(status, commit, report, gate, reason) of a checked change: the gate's one evaluation
    decides; whatever lets the story go on (pass and warn alike) is committed, so a story never
    reaches DONE on a change that exists only in a discarded workspace."""
    ws = ports.workspace
    if checked.report is None:
        if not ws.keep:
            ws.remove(checked.workspace)
        report = WorkspaceReport(build_ok=False, notes=(f"change rejected: {checked.rejected}",))
        return "rejected", None, report, ports.gate(report, level), checked.rejected
    gate = ports.gate(checked.report, level)
    reason = "; ".join([*gate.failures, *(f"failing test {t}" for t in checked.failing)])
    if gate.verdict == "block":
        if not ws.keep:
            ws.remove(checked.workspace)
        return "checked", None, checked.report, gate, reason
    commit = ws.commit(Path(checked.workspace), message)
    return "committed", commit, checked.report, gate, reason


def deliver(
    story: Story,
    view: StoryView,
    *,
    deliver_runs: Callable[[Story, Sequence[Mapping[str, Any]]], dict[str, Any]],
) -> dict[str, Any]:
    """The finished story's committed runs, handed to delivery (a branch ``fleet/<id>`` in the
    user's repository, a patch file, a push when the story names a remote)."""
    return deliver_runs(story, view.workspaces)
