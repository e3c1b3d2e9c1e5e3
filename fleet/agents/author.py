"""``write_patch``: a model's edits, parsed, applied, diffed and checked, with one retry.

The model sees the code (a context pack) and answers in the edit format below; code turns the
answer into a ``Patch`` and checks it applies to a clean checkout of the base commit. An edit
that does not fit (search text not found, ambiguous, unsafe path, broken syntax, a diff that
does not apply) goes back to the model once, with the reason, unless the model would only repeat
it (an echo of the current code, new code that does not parse, a reply its token limit cut off:
asked afresh, see ``_afresh``; an echo of existing code is first followed by the *line request*,
the faulty line and its correction, ``fleet.patches.lines``);
a reply that copies a body-less function unchanged is followed instead by a request to
*continue* that function (``fleet.agents.stubs``, ``fleet.agents.continuation``): the reply
begins with the stub and the model writes what follows.
How much of that a model gets (continuations, temperatures, repairs, corrections) is its
``ModelProfile`` (``config/models.yaml``); the default is what the small Qwen models need.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Unpack

from fleet.agents.continuation import continue_request
from fleet.agents.options import PatchOptions, PatchRequest, SamplingOptions, resolve
from fleet.agents.request import exports
from fleet.agents.stubs import Stub, completed, continuation, stubs
from fleet.config.models import DEFAULT_PROFILE, ModelProfile, Repairs
from fleet.contracts import ChatMessage, ContextPack, Patch
from fleet.errors import InvalidModelOutput
from fleet.evidence.suite import is_suite_file
from fleet.patches import Edit, EditError, apply_edits, make_patch, parse_edits
from fleet.patches.edits import clean_path, finished, without_strays
from fleet.patches.imports import add_missing_imports
from fleet.patches.lines import line_blocks
from fleet.ports import ChatModel
from fleet.prompts import render

_DEF_NAME = re.compile(r"def\s+([A-Za-z_]\w*)\s*\(")
LOOP_LINES = 10  # one line this many times, half the reply or more: the reply degenerated


def __getattr__(name: str) -> str:
    """``EDIT_FORMAT`` and ``SYSTEM``, rendered from ``config/prompts/author.yaml`` when read."""
    if name in ("EDIT_FORMAT", "SYSTEM"):
        return render(f"author.{name.lower()}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PatchFailed(InvalidModelOutput):
    """The model's edits never became a patch that applies (the last reason attached)."""


class Unchanged(EditError):
    """Edits that apply but change nothing, or leave a body-less function without a body: the
    reply repeats the current code (followed by a continuation, not a correction, when one is due)."""


def author_messages(
    context: ContextPack | str,
    *,
    instruction: str = "",
    system: str | None = None,
    edit_format: bool | str = True,
) -> list[ChatMessage]:
    """The request for a patch: the context pack (rendered), the instruction, the edit format
    (a template name: a profile's ``edit_format``; left out with ``edit_format=False``, e.g. for
    the tool loop, which adds its own); ``system``: the system prompt (default: the template
    ``author.system``)."""
    text = context.render() if isinstance(context, ContextPack) else context
    template = edit_format if isinstance(edit_format, str) else DEFAULT_PROFILE.edit_format
    form = render(template) if edit_format else ""
    # The instruction comes last: small models follow what they read last.
    user = "\n\n".join(x for x in (text, form, instruction) if x)
    head = render("author.system") if system is None else system
    return [ChatMessage(role="system", content=head), ChatMessage(role="user", content=user)]


def _rationale(reply: str) -> str:
    """The prose before the first edit block (the model's own explanation), shortened."""
    head = re.split(r"^\s*(?:```|<{5,9} ?SEARCH)", reply, maxsplit=1, flags=re.M)[0]
    lines = [ln.strip() for ln in head.strip().split("\n") if ln.strip()]
    if lines and (len(lines) > 1 or _bare_path(lines[-1])):
        lines = lines[:-1]  # the last line names the edited file (the edit's path, not prose)
    return " ".join(lines)[:400]


def _bare_path(line: str) -> bool:
    """``path/to/m.py`` or ``File: m.py``: a line that only names a file."""
    return clean_path(line) is not None and len(line.split()) <= 2


def _same(old: str, new: str) -> bool:
    """Equal but for whitespace (a stub copied back with a blank line more changes nothing)."""
    return old.split() == new.split()


def _still_empty(reply: str, old: Mapping[str, str], new: Mapping[str, str]) -> Stub | None:
    """A body-less function the reply writes out (``def name(``) but leaves without a body.
    Only the files defining a name the reply writes out are parsed (not the whole repository)."""
    names = set(_DEF_NAME.findall(reply))
    scope = [p for p, text in old.items() if any(f"def {n}(" in text for n in names)]
    after = {(x.path, x.name) for x in stubs({p: new.get(p, "") for p in scope})}
    found = stubs({p: old[p] for p in scope})
    return next((x for x in found if x.name in names and (x.path, x.name) in after), None)


def looped(reply: str) -> bool:
    """A reply that degenerated into one line repeated until its token limit (the 1.5B's
    ``path/to/funcy/flow.py`` a hundred times). Asked to correct such a reply, the model
    repeated it (9 of 9 corrections in the benchmark's traces, 70-190 s each)."""
    lines = [line for line in reply.splitlines() if line.strip()]
    if len(lines) < LOOP_LINES:
        return False
    _, n = Counter(lines).most_common(1)[0]
    return n >= LOOP_LINES and 2 * n >= len(lines)


def _is_test(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.startswith("tests/") or "/tests/" in path or name.startswith("test_")


def _attempt(
    reply: str,
    req: PatchRequest,
    profile: ModelProfile,
    extra: Sequence[Edit] = (),
    *,
    strict: bool = False,
    whole: bool = True,
) -> tuple[Patch, dict[str, str]]:
    """The patch ``reply`` describes and the new files. Raises EditError when it is not one
    (``strict``: also a ``misquoted`` one, see ``apply_edits``' ``misquotes``; ``whole`` False:
    a misquote whose change cannot be carried over, see its ``whole_misquotes``).

    An edit to a test file that does not apply is dropped when the reply's other edits do
    (``repairs.drop_broken_test_edits``: a 0.5B model rewrites the repository's tests along with
    the code, and breaks them): the tests the change is judged by are not the author's to write.
    A reply that edits only ``req.kept_tests`` (shown a failing test, the 1.5B rewrote it) is no
    change: its correction says the tests stay and the code changes. With ``req.start`` (the
    asker's own version) the edits apply there, else to the base; leaving it as it was is no
    change either."""
    files, base_commit, check = req.files, req.base_commit, req.check
    repairs = profile.repairs
    edits = parse_edits(reply)
    if repairs.drop_stray_edits:  # the asker's edit format: its example block may be copied
        edits = without_strays(edits, example=render(_format(req, profile)))
    own = {**files, **req.start} if req.start else None
    try:
        new = _applied(own or files, edits, repairs, strict=strict, whole=whole)
    except EditError as first:
        if own is None:
            raise
        try:  # edits quoting the base's lines, which the asker's context shows too
            new = _applied(files, edits, repairs, strict=strict, whole=whole)
        except EditError:
            raise first from None
    if extra:  # a new function's export: added when it applies, never a reason to fail
        with contextlib.suppress(EditError):
            new = apply_edits(new, extra)
    new, added = _imports(files, new) if repairs.add_missing_imports else (new, [])
    rationale = _rationale(reply)
    if added:
        noted = render("author.imports_added", rationale=rationale, imports="; ".join(added))
        rationale = noted.strip()[:500]
    patch = make_patch(base_commit, files, new, rationale)
    if not patch.diff or all(_same(files.get(p, ""), new[p]) for p in patch.files):
        raise Unchanged(reason="no_edits", detail=render("author.unchanged"))
    if own is not None and all(
        _same(own.get(p, ""), new.get(p, "")) for p in {*patch.files, *req.start}
    ):
        raise Unchanged(reason="no_edits", detail=render("author.unchanged"))
    if req.kept_tests and all(is_suite_file(p, req.kept_tests) for p in patch.files):
        raise EditError(
            reason="tests_only", detail=render("author.tests_only", paths=", ".join(patch.files))
        )
    if left := _still_empty(reply, files, new):
        raise Unchanged(
            reason="no_edits",
            path=left.path,
            detail=render("author.still_empty", name=left.name),
        )
    if check is not None and (why := check.check(patch)):
        raise EditError(reason="does_not_apply", detail=why)
    return patch, {p: new[p] for p in patch.files}


def _applied(
    files: Mapping[str, str], edits: list[Edit], repairs: Repairs, *, strict: bool, whole: bool
) -> dict[str, str]:
    """``edits`` applied to ``files``; a broken test edit dropped (see ``_attempt``)."""
    try:
        return apply_edits(files, edits, misquotes=not strict, whole_misquotes=whole)
    except EditError as exc:
        bad = exc.fields.get("path")
        kept = [e for e in edits if e.path != bad]
        drop = repairs.drop_broken_test_edits and bad and _is_test(bad)
        if not (drop and kept and len(kept) < len(edits)):
            raise
        return apply_edits(files, kept, misquotes=not strict, whole_misquotes=whole)


def _imports(old: Mapping[str, str], new: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """``new`` with the standard-library imports its changed Python files use but never bind
    (``fleet.patches.imports``): a forgotten ``import itertools`` fails every test of a change
    that is otherwise right."""
    added: list[str] = []
    for path, text in new.items():
        if path.endswith(".py") and text != old.get(path):
            new[path], lines = add_missing_imports(text, old.get(path))
            added += [f"{path}: {line}" for line in lines]
    return new, added


def write_patch(
    model: ChatModel,
    request: PatchRequest | Sequence[ChatMessage],
    files: Mapping[str, str] | None = None,
    /,
    *,
    sampling: SamplingOptions | None = None,
    profile: ModelProfile | None = None,
    **options: Unpack[PatchOptions],
) -> Patch:
    """Ask ``model`` for the change ``request`` describes; a checked Patch.

    ``write_patch(model, PatchRequest(messages, files, base_commit=...), sampling=...)``;
    the keyword form ``write_patch(model, messages, files, base_commit=..., temperature=...)``
    means the same (``fleet.agents.options``). ``profile``: the model's quirks (models.yaml;
    None: the default profile); ``sampling`` None: the profile's first-attempt sampling.

    Raises:
        PatchFailed: after ``retries`` corrections the edits still do not apply (reason attached).
        ModelUnavailable / BudgetExceeded: from the model.
    """
    return write_change(model, request, files, sampling=sampling, profile=profile, **options)[0]


def write_change(
    model: ChatModel,
    request: PatchRequest | Sequence[ChatMessage],
    files: Mapping[str, str] | None = None,
    /,
    *,
    sampling: SamplingOptions | None = None,
    profile: ModelProfile | None = None,
    **options: Unpack[PatchOptions],
) -> tuple[Patch, dict[str, str]]:
    """``write_patch``, also returning the new content of every file the patch touches."""
    profile = profile or DEFAULT_PROFILE
    req, samp = resolve(request, files, sampling, options, profile)
    return _write(model, req, samp, profile)


def _with_format(messages: Sequence[ChatMessage], form: str) -> list[ChatMessage]:
    """``messages`` with the edit format ``form`` in the system prompt, unless one carries it."""
    convo = list(messages)
    if not any(form in m.content for m in convo):
        if convo and convo[0].role == "system":
            convo[0] = ChatMessage(role="system", content=f"{convo[0].content}\n\n{form}")
        else:
            system = render("author.system")
            convo.insert(0, ChatMessage(role="system", content=f"{system}\n\n{form}"))
    return convo


# an edit format -> the correction and the cut-off note that speak its language (others: the
# edit blocks' ``author.correction`` and ``author.cut``)
_CORRECTIONS = {"author.function_format": ("author.function_correction", "author.function_cut")}


def _format(req: PatchRequest, profile: ModelProfile) -> str:
    """The template of the asker's edit format: the profile's, or, for developer-n of a council,
    the n-th of the profile's ``council_formats``."""
    formats = profile.council_formats
    if req.developer < 1 or not formats:
        return profile.edit_format
    return formats[(req.developer - 1) % len(formats)]


def _formatted(req: PatchRequest, profile: ModelProfile) -> list[ChatMessage]:
    """The request in its asker's edit format (``_format``), in place of the format the request
    was built with (``author_messages`` puts one in the request)."""
    own = render(profile.edit_format)
    if req.developer < 1 or not profile.council_formats:
        return _with_format(req.messages, own)
    form = render(_format(req, profile))
    held = (own, render(DEFAULT_PROFILE.edit_format))
    built = next((f for f in held if any(f in m.content for m in req.messages)), None)
    if built is None or built == form:
        return _with_format(req.messages, form)
    return [
        ChatMessage(role=m.role, content=m.content.replace(built, form, 1)) for m in req.messages
    ]


def _bodiless(req: PatchRequest) -> list[Stub]:
    """The body-less functions ``req.focus`` names (and new ones it holds): a profile that
    continues functions continues a reply into them."""
    named = [s for s in stubs(req.files) if s.name in req.focus]
    return named + [s for s in req.focus if isinstance(s, Stub)]


def _after(
    exc: EditError, reply: str, req: PatchRequest, targets: Sequence[Stub], profile: ModelProfile
) -> Stub | None:
    """The function to continue after a reply that failed with ``exc`` (none was continued yet):
    the stub an echoing reply copied (when the profile continues functions), else the first
    target."""
    echoed = isinstance(exc, Unchanged) and profile.stub_continuation
    found = continuation(reply, req.files) if echoed else None
    return found or (targets[0] if targets else None)


def _backup(
    reply: str, req: PatchRequest, profile: ModelProfile, extra: Sequence[Edit]
) -> tuple[tuple[Patch, dict[str, str]] | None, bool]:
    """A misquoting reply applied anyway, and whether its change was carried over to the code it
    meant (else its whole functions were applied as written); (None, False) when neither applies."""
    for whole in (False, True):
        with contextlib.suppress(EditError):
            return _attempt(reply, req, profile, extra, whole=whole), not whole
    return None, False


def _afresh(exc: EditError, repairs: Repairs, *, cut: bool = False) -> bool:
    """Whether the reply that failed with ``exc`` is followed by the request asked again as first
    asked (hot, next seed) rather than by a correction showing the reply: shown its own echo,
    its own line that does not parse, its own reply its token limit cut off or its own reply
    that holds no edit, the model repeats it (``Repairs``)."""
    if cut and repairs.resample_cut_replies:
        return True
    if isinstance(exc, Unchanged):
        return repairs.resample_echoes
    if exc.fields.get("reason") == "no_edits" and not cut:  # a cut one: resample_cut_replies
        return repairs.resample_no_edits
    return bool(exc.fields.get("new_code")) and repairs.resample_syntax_errors


def _line_request(
    convo: Sequence[ChatMessage], req: PatchRequest, profile: ModelProfile
) -> list[ChatMessage]:
    """The request ``convo`` asked first, asking for the faulty line and its correction
    (``author.line_format``) in place of the edit format, and ``author.line_ask`` in place of
    the instruction to write edits (last when the request has none): as
    ``benchmarks/bench_trace.py --variants line`` measured it, with one instruction."""
    form, lined = render(_format(req, profile)), render("author.line_format")
    out = [ChatMessage(role=m.role, content=m.content.replace(form, lined)) for m in convo]
    last, write, ask = out[-1], render("request.write"), render("author.line_ask")
    text = last.content.replace(write, ask) if write in last.content else f"{last.content}\n{ask}"
    return [*out[:-1], ChatMessage(role=last.role, content=text)]


def _write(
    model: ChatModel, req: PatchRequest, samp: SamplingOptions, profile: ModelProfile
) -> tuple[Patch, dict[str, str]]:
    """The request, its corrections and its continuation (see ``PatchRequest``): a reply that is
    no usable edit at all (the model repeated the prompt, broke the format, named no real file)
    is followed by a continuation request for the first ``focus``, as an echoed stub is."""
    convo = _formatted(req, profile)
    base = list(convo)  # the request as first asked (``convo`` grows with corrections)
    correction, cut_note = _CORRECTIONS.get(
        _format(req, profile), ("author.correction", "author.cut")
    )
    bodiless = _bodiless(req)  # none: an echo repeats existing code (the line request)
    targets = bodiless if profile.stub_continuation else []
    continue_first = req.continue_first and profile.stub_continuation
    # the body-less function to continue next (one the last reply echoed; on a retry, the target)
    stub = targets[0] if (req.notes or continue_first) and targets else None
    continued, attempt, reply, reason, name = stub is not None, 0, "", "", "model"
    # a reply whose SEARCH misquotes the code, applied anyway (``carried``: its change carried
    # over to the code it meant, else its REPLACE part as written), kept in case the correction
    # that shows the current code does no better; a carried change is preferred to a later
    # reply's REPLACE part written from code that is not there
    backup: tuple[Patch, dict[str, str]] | None = None
    carried = False
    # continue_first: a failed continuation is followed by the edit-format request itself, as
    # first asked (the model never saw that request, so its reply is no edit to correct)
    fresh = continue_first and not req.notes and stub is not None
    afresh = False  # the last reply echoed, broke its code or held no edit: asked as first asked
    # the last reply repeated existing code: the line request comes next (once)
    line_now, lined = False, False
    # A continuation always comes when one is due, even after the last correction (it is a
    # different request, not one more correction); there is at most one.
    while attempt <= samp.retries or stub is not None:
        notes = req.notes or req.fixes
        ask = (
            continue_request(stub, req.files, notes, profile.continuation_chars)
            if stub
            else _line_request(base, req, profile)
            if line_now
            else convo
        )
        # a correction decoded greedily tends to repeat the rejected reply: sample it (a
        # continuation or the line request is a new request: decoded like the first)
        first = attempt == 0 or (fresh and attempt == 1) or stub is not None or line_now
        floor = profile.temperatures.correction_floor
        response = model.complete(
            ask,
            temperature=samp.temperature if first else max(samp.temperature, floor),
            # a later attempt samples with a seed of its own: an unseeded call's member seeds it
            # (``Sampling``), and at the same seed and prompt a hot request repeats its reply
            seed=None if samp.seed is None and attempt == 0 else (samp.seed or 0) + attempt,
            max_tokens=samp.max_tokens,
        )
        reply, name = response.text, response.model or name
        reply = completed(stub, reply) if stub is not None else reply
        # stopped by its token limit: the edit it was writing is unfinished and left out
        cut = response.truncated
        text = finished(reply) if cut else reply
        if line_now:  # its WRONG/FIXED pairs as edit blocks (none found: read as it is)
            text = line_blocks(text, {**req.files, **req.start}) or text
        # ask again before trusting a REPLACE written from misremembered code, while a
        # correction is left (not for a body-less function: its continuation is the remedy)
        strict = profile.repairs.recheck_misquotes and attempt < samp.retries and not targets
        try:
            extra = exports(req.files, stub) if stub is not None and stub.why else []
            return _attempt(text, req, profile, extra, strict=strict, whole=not carried)
        except EditError as exc:
            if exc.fields.get("reason") == "misquoted" and backup is None:
                backup, carried = _backup(text, req, profile, extra)
            reason = str(exc) + (render("author.echoed") if isinstance(exc, Unchanged) else "")
            reason += render(cut_note, tokens=response.completion_tokens) if cut else ""
            if lines := exc.fields.get("nearest"):
                reason += render("author.nearest", lines=lines)
            stub = None if continued else _after(exc, reply, req, targets, profile)
            continued = continued or stub is not None
            if stub is None and looped(reply):  # a correction would repeat it: not asked
                reason += " (the reply repeats one line over and over: no correction asked)"
                break
            afresh = _afresh(exc, profile.repairs, cut=cut)
            line_now = (  # existing code repeated (a body-less function has no faulty line)
                isinstance(exc, Unchanged)
                and stub is None
                and not lined
                and not bodiless
                and profile.repairs.line_after_echo
            )
            lined = lined or line_now
        attempt += 1
        if stub is None and not (fresh and attempt == 1) and not afresh:
            convo += [
                ChatMessage(role="assistant", content=reply),
                ChatMessage(role="user", content=render(correction, reason=reason)),
            ]
    if backup is not None:
        return backup
    raise PatchFailed(model=name, reason=reason, raw=reply)
