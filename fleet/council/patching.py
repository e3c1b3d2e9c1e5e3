"""What a member does when the council decides a change: patches, critiques that cite results.

A proposing member writes its ``Patch`` through the injected ``write_patch`` (``fleet/agents``:
the edit format, applied and diffed by code, checked with ``git apply --check``, a body-less
function echoed back continued), from the single developer's prompt (``fleet.agents.request``:
context, edit format, then task, criteria, stubs and the instruction last); in later rounds the
notes built here come before the instruction: its own patch with its evidence, the critiques
of it, and the other candidates' patches with theirs. A failed revision keeps the member's last patch
(a bad model turn must not throw away a candidate that passed tests).

Critiques are grounded: the member's comment, followed by what the evidence says about the
target (which tests fail, with their excerpts), added by code so it is always accurate.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fleet.agents.testsource import failing_tests
from fleet.contracts import ChatMessage, ChatResponse, Evidence, Patch, Proposal
from fleet.council.schemas import Brief
from fleet.evidence.probes import differences
from fleet.evidence.suite import without
from fleet.patches.changed import changed_functions
from fleet.patches.docstrings import elided
from fleet.prompts import render
from fleet.unified_diff import DiffError, apply

DIFF_CLIP = 1_500  # characters of another candidate's diff shown in a prompt
EXCERPT_CLIP = 160
TEST_CLIP = 600  # characters of one failing test's source shown to its reviser

WritePatch = Callable[..., Patch]
"""``write_patch(model, request) -> Patch`` (``fleet.agents``; ``request`` a ``PatchRequest``)."""


class Repo(Protocol):
    """A repository read at a commit, and a patch checker for it (``fleet/adapters/git_repo``)."""

    def files(self, ref: str = "HEAD") -> Mapping[str, str]: ...

    def read(self, ref: str, path: str) -> str | None: ...

    def check(self, patch: Patch) -> str | None: ...


@dataclass(frozen=True)
class PatchTools:
    """How a member turns a model reply into a patch, and sees the repository it patches."""

    write_patch: WritePatch
    repo: Callable[[str], Repo]  # source (local path) -> the repository


@dataclass(frozen=True)
class Turn:
    """A revision or debugging turn on a member's own candidate: what it reads before the
    instruction (``notes``), what its continuation is told its last version got wrong
    (``fixes``), and the files its candidate changed as they read with it (``version``, its
    ``own_version``: the edits apply there first)."""

    notes: Sequence[str]
    fixes: Sequence[str]
    version: Mapping[str, str]


class Sampling:
    """A chat model with this member's own temperature and seed on every call (so the candidates
    differ even when ``write_patch`` picks its own sampling)."""

    def __init__(
        self, chat: Any, *, temperature: float, seed: int, replies: list[str] | None = None
    ) -> None:
        self.chat, self.temperature, self.seed = chat, temperature, seed
        self.replies = replies  # when given, every reply's text is appended to it

    def complete(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
        # the member's own temperature, unless the caller samples hotter (write_patch's correction)
        kw["temperature"] = max(self.temperature, kw.get("temperature") or 0.0)
        kw["seed"] = self.seed + (kw.get("seed") or 0)
        response: ChatResponse = self.chat.complete(messages, **kw)
        if self.replies is not None:
            self.replies.append(response.text)
        return response


STYLES = ("patching.style_1", "patching.style_2", "patching.style_3", "patching.style_4")
"""The templates of the developers' own angles on the task, developer-1's first (its is empty)."""


TEMPERATURES = (0.0, 0.2, 0.7, 0.5)
"""Developer-n's sampling temperature: the first decodes greedily (the single best guess), the
second nearly so, the third samples freely (it writes a function body, not edit blocks, first:
``continues_first``; Qwen2.5-Coder-0.5B at 0.7-0.8 often copies the prompt's edit-format text
instead of writing edits, not so when it completes a function)."""

AGAIN_FLOOR = 0.7
"""The least temperature of a patch asked again from the same request: a member that gave no
candidate, asked to propose in a later round, and a re-convened council's developers
(``fleet.pipeline.council``). Greedy or near-greedy, a developer repeats its reply whatever
the seed: on more-itertools-padded-next-multiple the 1.5B's round-1 proposals at 0.0 and 0.2
repeated their round-0 echoes line for line (four calls, 6,800 tokens, nothing new)."""


def continues_first(agent_id: str) -> bool:
    """Whether developer-n begins with the continuation of the function the task asks for (when
    there is one): developer-1 asks the single developer's edit-format request, the others
    complete the function's body directly. Different requests, not only different temperatures:
    sampled from one request, a small model's candidates for a short function are often one patch."""
    return agent_id.startswith("developer-") and _number(agent_id) >= 2


def _number(agent_id: str) -> int:
    """n of ``developer-n`` (``developer-2@story`` too); 0 for any other name."""
    try:
        return int(agent_id.split("@", 1)[0].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def developer_number(agent_id: str) -> int:
    """n of ``developer-n`` (``developer-2@story`` too); 0 for a member of another role. It picks
    the developer's edit format (the model profile's ``council_formats``)."""
    return _number(agent_id) if agent_id.startswith("developer-") else 0


def developer_temperature(agent_id: str) -> float:
    """The temperature of ``developer-n`` (``developer-2@story`` too); 0.5 for any other name."""
    n = _number(agent_id)
    return TEMPERATURES[min(n, len(TEMPERATURES)) - 1] if n >= 1 else 0.5


def style(agent_id: str) -> str:
    """A developer's own angle on the task (``developer-2`` gets the second), so candidates differ."""
    n = _number(agent_id)
    return render(STYLES[(n - 1) % len(STYLES)]) if n >= 1 else ""


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 15] + render("patching.clipped")


def failing(
    evidence: Evidence | None, distrusted: Sequence[str] = (), advisory: Sequence[str] = ()
) -> list[str]:
    """Failing evidence tests with their excerpts, distrusted ones and QA's examples marked."""
    if evidence is None:
        return []
    out = []
    for t in evidence.tests:
        if not t.passed:
            mark = (
                render("patching.distrusted")
                if t.test_id in distrusted
                else render("patching.advisory")
                if any(t.test_id.startswith(a) for a in advisory)
                else ""
            )
            out.append(f"{t.test_id}{mark}: {' '.join(t.excerpt.split())[:EXCERPT_CLIP]}")
    if not evidence.tests and evidence.detail:
        out.append(evidence.detail[:EXCERPT_CLIP])
    return out


def status(evidence: Evidence | None) -> str:
    if evidence is None:
        return render("patching.not_tested")
    if not evidence.tests:
        return render("patching.no_results")
    total = evidence.tests_passed + evidence.tests_failed
    return render("patching.passes", passed=evidence.tests_passed, total=total)


def own_diff(p: Proposal, hidden: Collection[str], n: int = DIFF_CLIP) -> str:
    """A candidate's own edits, clipped: without the evidence suite's test files, which every
    candidate carries (they filled the clip before the critic saw the change)."""
    if p.patch is None:
        return render("patching.no_patch")
    return clip(without(p.patch.diff, hidden) or p.patch.diff, n)


def own_version(p: Proposal, files: Mapping[str, str], hidden: Collection[str]) -> dict[str, str]:
    """The files ``p``'s patch changes, as they read with it applied to ``files`` (the base), the
    evidence suite's files (``hidden``) left out; {} when it has no patch or it does not apply."""
    if p.patch is None:
        return {}
    try:
        tree = apply(files, without(p.patch.diff, hidden))
    except DiffError:
        return {}
    return {path: text for path, text in tree.items() if files.get(path) != text}


def own_code(
    p: Proposal,
    files: Mapping[str, str],
    hidden: Collection[str],
    n: int,
    version: Mapping[str, str] | None = None,
) -> str:
    """A candidate as its author reads it: each function its patch changed, as it now reads (the
    file path on its own line, then a fenced block), and the diff of a file where it changed no
    function; its diff (``own_diff``) when none of that can be read. Shown its diff, the 1.5B
    wrote its next version as a diff (``fleet/patches/changed.py``). A long docstring the base
    holds as it is reads a placeholder (``docstrings.elided``: copied back at every turn;
    edits that quote or keep the placeholder keep the docstring). ``version``: its
    ``own_version``, when the caller has it."""
    after = own_version(p, files, hidden) if version is None else version
    if not after or p.patch is None:
        return own_diff(p, hidden, n)
    parts, shown = [], False
    for path, text in sorted(after.items()):
        base = files.get(path, "")
        found = changed_functions(base, text) if path.endswith(".py") else []
        if found:
            found = [elided(f, base) for f in found]  # unchanged docstrings: read in the pack
            parts.append(render("patching.own_code", path=path, code="\n".join(found).rstrip()))
            shown = True
        else:
            parts.append(without(p.patch.diff, [f for f in p.patch.files if f != path]).rstrip())
    return clip("\n".join(parts), n) if shown else own_diff(p, hidden, n)


def candidate(
    p: Proposal,
    evidence: Evidence | None,
    distrusted: Sequence[str],
    hidden: Collection[str] = (),
    advisory: Sequence[str] = (),
    files: Mapping[str, str] | None = None,
) -> str:
    """One candidate as another member sees it: author, patch (``hidden``: the evidence suite's
    files, left out; given the base's ``files``, the functions it changed as they now read, as
    a reviser sees its own: shown the others' diffs, the 1.5B wrote its revision as one more
    listed diff), test results."""
    lines = [
        render("patching.candidate", author=p.author, status=status(evidence)),
        own_code(p, files, hidden, DIFF_CLIP) if files else own_diff(p, hidden),
    ]
    lines += [
        render("patching.fails", failure=f) for f in failing(evidence, distrusted, advisory)[:4]
    ]
    return "\n".join(lines)


def evidence_by_id(brief: Brief) -> dict[str, Evidence]:
    return {e.proposal_id: e for e in brief.evidence}


def differs(brief: Brief, target: Proposal) -> list[str]:
    """Where ``target`` returns other values than the other candidates on the probes (inputs
    near the examples, ``fleet/evidence/probes.py``): evidence that one of them is wrong."""
    ev = evidence_by_id(brief)
    others = {p.author: ev.get(p.id) for p in brief.proposals if p.author != target.author}
    return differences(ev.get(target.id), others)


def revise_notes(
    brief: Brief,
    own: Proposal,
    files: Mapping[str, str] | None = None,
    version: Mapping[str, str] | None = None,
) -> list[str]:
    """What a reviser reads after the task: the other candidates with their results first, then
    its own patch (``version``: its ``own_version``, when the caller has it), its failing tests
    (with the source of the first two that ``files``, the repository, holds) and the critiques,
    right before the request's instruction. Listed last, the others' headings invited the greedy
    1.5B to continue the list with its own (``### developer-1: passes ...``) instead of editing."""
    ev = evidence_by_id(brief)
    mine = ev.get(own.id)
    parts = []
    others = [p for p in brief.proposals if p.author != own.author]
    if others:
        parts.append(render("patching.others"))
        parts += [
            candidate(
                p, ev.get(p.id), brief.distrusted, brief.evidence_files, brief.advisory, files
            )
            for p in others
        ]
    parts += [
        render("patching.own_patch", status=status(mine)),
        own_code(own, files or {}, brief.evidence_files, 2 * DIFF_CLIP, version)
        if own.patch
        else render("patching.own_patch_none"),
    ]
    fails = failing(mine, brief.distrusted, brief.advisory)[:6]
    parts += [render("patching.fails", failure=f) for f in fails]
    parts += [
        render("patching.failing_test", test=t)
        for t in failing_tests(files or {}, fails, chars=TEST_CLIP)
    ]
    apart = differs(brief, own)
    parts += [render("patching.differs", difference=d) for d in apart]
    if brief.critiques:
        parts.append(render("patching.critiques"))
        parts += [
            render(
                "patching.critique_line",
                author=c.author,
                severity=c.severity,
                comment=c.content[:300],
            )
            for c in brief.critiques
        ]
    improve = render("patching.improve" if brief.critiques else "patching.improve_alone")
    parts.append(improve + render("patching.improve_differs") if apart else improve)
    return parts


def critique_job(brief: Brief, target: Proposal, focus: str) -> str:
    """The critic's request; for a candidate that passes every test it says so (asked to "name
    the failing test", a small model named one of a candidate that passed them all)."""
    ev = evidence_by_id(brief).get(target.id)
    clean = ev is not None and ev.tests and not failing(ev)
    other = differs(brief, target)
    ask = render(
        "patching.ask_differs"
        if clean and other
        else "patching.ask_clean"
        if clean
        else "patching.ask_failing"
    )
    shown = candidate(target, ev, brief.distrusted, brief.evidence_files, brief.advisory)
    shown += "".join("\n" + render("patching.differs", difference=d) for d in other)
    return render("patching.critique", focus=focus, candidate=shown, ask=ask)


def cited(comment: str, brief: Brief, target: Proposal) -> str:
    """The comment followed by the target's evidence facts (added by code, always accurate)."""
    ev = evidence_by_id(brief).get(target.id)
    fails = failing(ev, brief.distrusted, brief.advisory)
    if ev is None:
        return comment
    other = differs(brief, target)
    text = render(
        "patching.cited",
        comment=comment,
        status=status(ev),
        fails=render("patching.cited_fails", failures="; ".join(fails[:2])) if fails else "",
        differs=render("patching.cited_differs", differences="; ".join(other[:2])) if other else "",
    )
    return text[:600]


def summary(patch: Patch) -> str:
    """A proposal's text for a patch: its rationale, else the files it touches."""
    files = ", ".join(patch.files) or render("patching.summary_nothing")
    text = patch.rationale.strip() or render("patching.summary", files=files)
    return text[:400]


def tests_path(task_id: str | None, agent_id: str) -> str:
    """Where a QA member writes its candidate tests: one file per member (``qa-2`` ->
    ``tests/test_<task>_qa_2.py``), so several QA candidates sit side by side in the suite."""
    slug = "".join(ch if ch.isalnum() else "_" for ch in (task_id or "task")).lower()
    who = "".join(ch if ch.isalnum() else "_" for ch in agent_id.split("@", 1)[0]).lower()
    return f"tests/test_{slug}_{who}.py"


def tests_job(criteria: Sequence[str], path: str) -> str:
    """QA's request: a new test file proving the criteria, written before any implementation."""
    lines = [
        render("patching.tests", path=path),
        *(render("patching.item", text=c) for c in criteria),
        render("patching.tests_rules"),
    ]
    return "\n".join(lines)


_FENCED = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.S)


FENCE = "```python\n"
# A begun module (a story's first test) ends where a second test or the fence's close begins:
# one test is asked for, and the 1.5B at greedy repeats it until the token limit (177 of the 232
# test functions in its recorded first-test replies repeat an earlier one; benchmarks/RESULTS.md).
BEGUN_STOPS = ("\ndef test", "\nasync def test", "\nclass Test", "\n```")


def begun_module(start: str, reply: str) -> str:
    """The test module a reply to a begun request wrote (``start``: the fence and the module's
    beginning, which the engine returns with its continuation or leaves out): up to the fence's
    close, or, cut off by the token limit, its complete top-level statements; "" when that
    defines no ``test_`` function. A model that ignored the beginning and wrote a fenced module
    of its own (under a path, say) gets that module."""
    text = reply if reply.startswith(start) else start + reply
    lines = text.removeprefix(FENCE).split("```", 1)[0].rstrip().split("\n")
    while lines:
        source = "\n".join(lines).rstrip() + "\n"
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            lines.pop()  # a statement cut off: the module up to the one before
            continue
        tests = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        if any(n.name.startswith("test_") for n in tests):
            return source
        break
    return test_block([reply]) if not reply.startswith(start) else ""


def test_block(replies: Sequence[str]) -> str:
    """The last fenced Python block of ``replies`` (latest reply first) that parses and defines a
    top-level ``test_`` function: QA's test module, whatever path it was written under ("" when
    none). The 1.5B often heads its test file with the located module's path instead of the
    requested one (``webcolors/_normalization.py`` and a ```python block of tests), which the
    edit applier merges into that module, so the patch creates no test file."""
    for reply in reversed(replies):
        blocks: list[str] = _FENCED.findall(reply)
        for block in reversed(blocks):
            try:
                tree = ast.parse(block)
            except (SyntaxError, ValueError):
                continue
            if any(
                isinstance(n, ast.FunctionDef) and n.name.startswith("test_") for n in tree.body
            ):
                return block if block.endswith("\n") else block + "\n"
    return ""


def new_test_files(diff: str, path: str = "") -> dict[str, str]:
    """The new ``test_*.py`` files of a QA patch (edits to existing files are ignored). One named
    as the requested ``path`` but put elsewhere (``path/to/test_t1_qa_1.py``: a small model copies
    the edit format's example directory) is moved to ``path``."""
    from fleet.evidence.acceptance import new_files

    out: dict[str, str] = {}
    for p, text in new_files(diff).items():
        name = p.rsplit("/", 1)[-1]
        if name.startswith("test_") and p.endswith(".py"):
            moved = path and name == path.rsplit("/", 1)[-1] and path not in out
            out[path if moved else p] = text
    return out
