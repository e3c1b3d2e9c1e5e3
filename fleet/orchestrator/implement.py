"""The developer's change on the story path: a ``Patch`` the model writes as edits.

The model sees a context pack (story, task, criteria, findings, the repository map and the
relevant code) and answers in the edit format (``fleet.agents.write_patch``): it decides which
files change or are created. Executable criteria ("f(args) returns v", "f(args) raises E") are
still turned into pytest assertions by code (:mod:`fleet.criteria`), added to the
patch next to the model's change, so a criterion means exactly what it says.

When the council's winner already carries a patch on the same base commit, or one it still
applies to (a parallel task committed first), that patch is the change: the executor applies
exactly what the council chose.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fleet import pysource
from fleet.agents import PatchFailed, PatchRequest, SamplingOptions, author_messages, write_change
from fleet.agents.loop import LoopLimits, LoopWorkspace, run_loop
from fleet.agents.request import asked_for as named_stubs
from fleet.agents.request import change_request
from fleet.agents.stubs import Stub
from fleet.config.models import DEFAULT_PROFILE, ModelProfile
from fleet.contracts import ContextPack, Patch, Proposal, Story, Task
from fleet.criteria import Example, acceptance_tests, examples, task_criteria
from fleet.patches import make_patch
from fleet.ports import ChatModel, PatchChecker
from fleet.prompts import render


def instruction(
    story: Story,
    task: Task,
    winner: Proposal | None,
    findings: Sequence[str],
    files: Mapping[str, str] | None = None,
) -> str:
    """What to do, after the context: the task, its criteria, the council's decision, findings."""
    decided = (
        [render("request.decided", decision=winner.content[:800])]
        if winner and winner.content
        else []
    )
    return change_request(
        task.description, task_criteria(story, task), files, notes=decided, findings=findings
    )


def asked_for(story: Story, task: Task, files: Mapping[str, str]) -> list[str | Stub]:
    """The body-less functions the task names (in its text or criteria), in repository order, or
    the new function it calls (``fleet.agents.request.asked_for``)."""
    texts = [task.description, story.title, story.description, *task_criteria(story, task)]
    return named_stubs(texts, files)


def module_of(files: Mapping[str, str], func: str, prefer: Sequence[str] = ()) -> str | None:
    """The Python file defining top-level ``func`` (files in ``prefer`` first), or None."""
    order = [*prefer, *sorted(files)]
    for path in dict.fromkeys(p for p in order if p.endswith(".py") and p in files):
        if path.rsplit("/", 1)[-1].startswith("test_"):
            continue
        try:
            tree = pysource.parse(files[path])
        except SyntaxError:
            continue
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if func in names:
            return path
    return None


def dotted(path: str) -> str:
    """``src/calc/ops.py`` -> ``calc.ops``."""
    mod = path.removesuffix(".py").removesuffix("/__init__").removeprefix("src/")
    return mod.replace("/", ".")


def acceptance_files(
    cases: Sequence[Example], files: Mapping[str, str], touched: Sequence[str] = ()
) -> dict[str, str]:
    """A test module per function of the executable criteria, importing it from where it is
    defined in ``files`` (the repository after the change); functions defined nowhere get none."""
    tests_dir = "tests/" if any(p.startswith("tests/") for p in files) else ""
    out: dict[str, str] = {}
    for func in dict.fromkeys(e.func for e in cases):
        path = module_of(files, func, touched)
        if path is not None:
            mine = [e for e in cases if e.func == func]
            out[f"{tests_dir}test_{func}_acceptance.py"] = acceptance_tests(mine, dotted(path))
    return out


@dataclass(frozen=True)
class ChangeJob:
    """What the developer's change is for: ``task`` of ``story``, the council's ``winner``, the
    repository (``files``) at ``base_commit``, the last attempt's ``findings``, the ``context``
    the model reads, the patch ``check`` and the ``attempt`` number (0 first: the model decodes
    greedily on it, later attempts sample, as the model's profile says)."""

    story: Story
    task: Task
    winner: Proposal | None
    files: Mapping[str, str]
    findings: Sequence[str]
    base_commit: str
    context: ContextPack | str = ""
    check: PatchChecker | None = None
    attempt: int = 0


def implement(chat: ChatModel, job: ChangeJob, profile: ModelProfile | None = None) -> Patch:
    """The change for ``job.task`` as a Patch on ``job.base_commit``: the council's winning patch
    when it applies there, else the model's (``author``; ``profile``: its quirks).

    Raises:
        PatchFailed: the model's edits never applied (after the profile's corrections).
        ModelUnavailable / BudgetExceeded: from the model.
    """
    chosen = reusable(job.winner, base_commit=job.base_commit, check=job.check)
    if chosen is not None:
        return chosen
    return author(chat, job, profile)


def reusable(
    winner: Proposal | None, *, base_commit: str, check: PatchChecker | None
) -> Patch | None:
    """The council's winning patch when it applies on ``base_commit`` (None: the model writes
    the change): on the same base as it is, else moved there if it still applies."""
    if winner is None or winner.patch is None:
        return None
    if winner.patch.base_commit == base_commit:
        return winner.patch
    # The base moved (a parallel task committed first): the same diff, if it still applies.
    moved = winner.patch.model_copy(update={"base_commit": base_commit})
    if check is not None and check.check(moved) is None:
        return moved
    return None


def temperature(profile: ModelProfile, attempt: int, *, continues: bool) -> float:
    """An attempt's temperature: the first decodes as the profile says (greedily by default); a
    retry that continues a body-less function with the findings (``continues``) is a different
    request already, near-greedy; any other retry is sampled."""
    t = profile.temperatures
    return t.first if attempt == 0 else t.retry_continuation if continues else t.retry


def author(chat: ChatModel, job: ChangeJob, profile: ModelProfile | None = None) -> Patch:
    """The model writes the change for ``job.task`` from ``job.context`` (see :func:`implement`)."""
    profile = profile or DEFAULT_PROFILE
    story, task, files, findings = job.story, job.task, job.files, job.findings
    messages = author_messages(
        job.context,
        instruction=instruction(story, task, job.winner, findings, files),
        system=render("request.author"),
        edit_format=profile.edit_format,
    )
    focus = asked_for(story, task, files)
    # A retry of a task that asks for body-less functions is a continuation of the first one
    # with the findings; any other retry is sampled.
    ask = PatchRequest(messages, files, job.base_commit, check=job.check, focus=focus,
                       notes=findings if job.attempt else ())  # fmt: skip
    sampling = SamplingOptions(
        temperature=temperature(profile, job.attempt, continues=bool(focus and findings)),
        seed=job.attempt or None,
        retries=profile.corrections,
    )
    patch, new = write_change(chat, ask, sampling=sampling, profile=profile)
    return with_acceptance(patch, new, story, task, files)


def with_acceptance(
    patch: Patch, new: Mapping[str, str], story: Story, task: Task, files: Mapping[str, str]
) -> Patch:
    """``patch`` plus the acceptance tests of the task's executable criteria."""
    cases = examples(task_criteria(story, task))
    tests = acceptance_files(cases, {**files, **new}, patch.files) if cases else {}
    if not tests:
        return patch
    return make_patch(patch.base_commit, files, {**new, **tests}, patch.rationale)


def implement_in_loop(
    chat: ChatModel, workspace: LoopWorkspace, job: ChangeJob, limits: LoopLimits | None = None
) -> Patch:
    """The ``agent`` strategy: a bounded tool loop (within ``limits``) in ``workspace`` (a
    sandboxed copy of ``job.files``); its difference from ``job.files`` is the change.

    Raises:
        PatchFailed: the loop ended without changing anything.
    """
    story, task, files = job.story, job.task, job.files
    messages = author_messages(
        job.context,
        instruction=instruction(story, task, job.winner, job.findings),
        system=render("request.author"),
        edit_format=False,
    )
    result = run_loop(
        chat, workspace, messages, base_files=files, base_commit=job.base_commit, limits=limits
    )
    if not result.patch.diff:
        raise PatchFailed(model="loop", reason=f"the loop ended ({result.exit}, "
                          f"{result.steps} steps) without a change", raw="")  # fmt: skip
    new = {p: t for p, t in workspace.files().items() if p in result.patch.files}
    return with_acceptance(result.patch, new, story, task, files)
