"""Turning a council's decision into a concrete change a 135M model can get right.

For tasks whose acceptance criteria are executable ("f(args) returns v", "f(args) raises
E"), the model fills in only two things, under a grammar: the expression the function
returns and, per "raises" criterion, the condition that raises. Code decides the rest
(module, signature, docstring, where the lines go) and the QA step turns the criteria
into pytest assertions (:mod:`fleet.orchestrator.acceptance`). The model never writes a
whole file, so it cannot break the code around the function.

Other tasks (prose criteria, or no Python module to put the function in) fall back to
whole files, schema-constrained, which a larger model can handle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from fleet.contracts import ChatMessage, Proposal, Story, Task
from fleet.orchestrator import pysource
from fleet.orchestrator.acceptance import Example, acceptance_tests, examples
from fleet.orchestrator.function_draft import Spec, ask_function
from fleet.ports import ChatModel
from fleet.structured import structured

MAX_FILE_CHARS = 4_000


class FileChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        min_length=1,
        max_length=120,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$",
        description="repository-relative path",
    )
    content: str = Field(max_length=MAX_FILE_CHARS, description="the whole new file")


class Change(BaseModel):
    """The developer's change as whole files (the fallback for prose tasks)."""

    model_config = ConfigDict(extra="forbid")

    files: list[FileChange] = Field(min_length=1, max_length=3)


def task_criteria(story: Story, task: Task) -> list[str]:
    """The story's criteria this task is about (all of them if the task names none)."""
    mine = [c for c in story.acceptance_criteria if c.strip() and c.strip() in task.description]
    return mine or [c for c in story.acceptance_criteria if c.strip()]


def prompt(
    story: Story,
    task: Task,
    winner: Proposal | None,
    files: Mapping[str, str],
    findings: Sequence[str],
) -> list[ChatMessage]:
    """The whole-file implementation request: story, task, the council's decision, the code, the findings."""
    code = "\n\n".join(
        f"### {path}\n{text[:MAX_FILE_CHARS]}" for path, text in sorted(files.items())
    )
    lines = [
        f"Story: {story.title}",
        story.description,
        "Acceptance criteria:",
        *(f"- {c}" for c in story.acceptance_criteria),
        f"Task: {task.description}",
    ]
    if winner is not None:
        lines.append(f"The team decided: {winner.content}")
    if findings:
        lines += ["The last attempt failed; fix this:", *(f"- {f}" for f in findings[:8])]
    lines += [
        "Repository files:",
        code,
        "Reply with the complete new content of each file you change or add, tests included.",
    ]
    return [
        ChatMessage(
            role="system", content="You are a careful Python developer. Keep existing code working."
        ),
        ChatMessage(role="user", content="\n".join(lines)),
    ]


def implement(
    chat: ChatModel,
    story: Story,
    task: Task,
    winner: Proposal | None,
    files: Mapping[str, str],
    findings: Sequence[str],
    *,
    max_tokens: int = 900,
    seed: int = 0,
) -> dict[str, str]:
    """Ask ``chat`` for the change; returns path -> whole new content.

    ``seed`` is the attempt number: the first attempt decodes greedily, later ones sample.

    Raises:
        InvalidModelOutput: the model's output never matched the schema (or never parsed).
        ModelUnavailable / BudgetExceeded: from the model.
    """
    cases = examples(task_criteria(story, task))
    change = function_change(chat, story, cases, files, findings, seed=seed) if cases else None
    if change is not None:
        return change
    whole = structured(
        chat,
        prompt(story, task, winner, files, findings),
        Change,
        max_tokens=max_tokens,
        seed=seed,
        name="developer",
    )
    return {f.path: f.content for f in whole.files}


def function_change(
    chat: ChatModel,
    story: Story,
    cases: Sequence[Example],
    files: Mapping[str, str],
    findings: Sequence[str],
    *,
    seed: int = 0,
) -> dict[str, str] | None:
    """The change for executable criteria: each function spliced into its module, plus the
    generated acceptance tests; None when the repository has no module to put them in."""
    hint = f"{story.title}\n{story.description}"
    out: dict[str, str] = {}
    modules: set[str] = set()
    for func in dict.fromkeys(e.func for e in cases):
        mine = [e for e in cases if e.func == func]
        path = pysource.target_module({**files, **out}, func, hint)
        if path is None:
            return None
        source = out.get(path, files.get(path, ""))
        params = pysource.signature(func, mine[0].arity, source, hint)
        spec = Spec(
            func=func,
            params=params,
            returns=pysource.returns_annotation(source, params),
            examples=tuple(mine),
            module=path,
            source=source,
        )
        code = ask_function(chat, spec, findings, attempt=seed)
        out[path] = pysource.splice(source, func, code)
        modules.add(path)
        init = path.rsplit("/", 1)[0] + "/__init__.py" if "/" in path else ""
        if (
            init in files
            and init != path
            and (
                exported := pysource.export(out.get(init, files[init]), pysource.dotted(path), func)
            )
        ):
            out[init] = exported
    by_module = {
        pysource.dotted(p): [e for e in cases if pysource.target_module(out, e.func) == p]
        for p in sorted(modules)
    }
    tests_dir = "tests/" if any(p.startswith("tests/") for p in files) else ""
    for module, mine in by_module.items():
        name = "_".join(sorted({e.func for e in mine}))
        out[f"{tests_dir}test_{name}_acceptance.py"] = acceptance_tests(mine, module)
    return out
