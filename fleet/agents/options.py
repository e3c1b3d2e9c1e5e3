"""What ``write_patch`` is asked for (``PatchRequest``) and how it samples (``SamplingOptions``).

The request says what to change and how to steer a retry; the sampling options say how the
model decodes. Both are plain frozen values, so a caller builds one request and passes it on
instead of threading a dozen keyword flags through every call. How the author adapts to the
model (its edit format, continuations, temperatures, repairs, corrections) is the model's
``ModelProfile`` (``config/models.yaml``), not a flag here. The keyword form
(``write_patch(model, messages, files, base_commit=..., temperature=...)``) stays for existing
callers: ``resolve`` turns it into the two values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TypedDict

from fleet.agents.stubs import Stub
from fleet.config.models import ModelProfile
from fleet.contracts import ChatMessage
from fleet.ports import PatchChecker


@dataclass(frozen=True)
class PatchRequest:
    """A change to ask a model for.

    ``messages``: the prompt (``author_messages``; the edit format is added when no message
    carries it); ``files``: the repository at ``base_commit``; ``check``: tells whether a patch
    applies (None: not checked).

    ``focus``: names of the body-less functions the task asks for, or a new function to add
    (``fleet.agents.request.asked_for``): a first reply that is no usable edit at all is followed
    by a continuation request for the first of them. ``notes``: an earlier attempt's findings (a
    retry): the continuation is the first request. ``continue_first``: the same without notes (a
    council member's own way into the task). ``fixes``: what a revised version got wrong, told in
    a continuation that follows the request instead of coming first. ``developer``: n of the
    council's developer-n asking (0: no council member), which picks its edit format from the
    profile's ``council_formats``. ``kept_tests``: test files the change must leave as they are (a
    patch council's evidence suite files, or copies of them:
    ``fleet.evidence.suite.is_suite_file``): a reply that edits nothing else is corrected.
    ``start``: the asker's own version of the files its last patch changed (a council developer
    debugging or revising it, shown those functions as they now read): edits apply there first,
    else to ``files``; the patch is still against ``files``, and one that leaves ``start`` as
    it was changes nothing.
    """

    messages: Sequence[ChatMessage]
    files: Mapping[str, str]
    base_commit: str
    check: PatchChecker | None = None
    focus: Sequence[str | Stub] = ()
    notes: Sequence[str] = ()
    continue_first: bool = False
    fixes: Sequence[str] = ()
    developer: int = 0
    kept_tests: Collection[str] = ()
    start: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SamplingOptions:
    """How the model decodes: ``seed`` + attempt for attempt n; ``retries`` corrections at most
    after a reply whose edits do not apply. Without one, a call samples as its model's profile
    says (``for_profile``)."""

    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int = 1024
    retries: int = 1

    @classmethod
    def for_profile(cls, profile: ModelProfile) -> SamplingOptions:
        """A first attempt's sampling on a model with ``profile``."""
        return cls(temperature=profile.temperatures.first, retries=profile.corrections)


class PatchOptions(TypedDict, total=False):
    """The keyword form's options: the fields of ``PatchRequest`` and ``SamplingOptions``."""

    base_commit: str
    check: PatchChecker | None
    focus: Sequence[str | Stub]
    notes: Sequence[str]
    continue_first: bool
    fixes: Sequence[str]
    developer: int
    kept_tests: Collection[str]
    start: Mapping[str, str]
    temperature: float
    seed: int | None
    max_tokens: int
    retries: int


_REQUEST = {f.name for f in fields(PatchRequest)}
_SAMPLING = {f.name for f in fields(SamplingOptions)}


def resolve(
    request: PatchRequest | Sequence[ChatMessage],
    files: Mapping[str, str] | None,
    sampling: SamplingOptions | None,
    options: PatchOptions,
    profile: ModelProfile,
) -> tuple[PatchRequest, SamplingOptions]:
    """The request and the sampling options of either form of call (``sampling`` None: the
    profile's; keyword options replace single fields).

    Raises:
        TypeError: a request object with keyword options or files besides, an unknown option,
            or the keyword form without ``files`` or ``base_commit``.
    """
    unknown = set(options) - _REQUEST - _SAMPLING
    if unknown:
        raise TypeError(f"unknown write_patch option(s): {', '.join(sorted(unknown))}")
    if isinstance(request, PatchRequest):
        if files is not None or options:
            raise TypeError("pass a PatchRequest alone, or messages, files and keyword options")
        return request, sampling or SamplingOptions.for_profile(profile)
    if files is None or "base_commit" not in options:
        raise TypeError("the keyword form needs files and base_commit")
    d = sampling or SamplingOptions.for_profile(profile)
    req = PatchRequest(
        messages=request,
        files=files,
        base_commit=options["base_commit"],
        check=options.get("check"),
        focus=options.get("focus", ()),
        notes=options.get("notes", ()),
        continue_first=options.get("continue_first", False),
        fixes=options.get("fixes", ()),
        developer=options.get("developer", 0),
        kept_tests=options.get("kept_tests", ()),
        start=options.get("start", {}),
    )
    samp = SamplingOptions(
        temperature=options.get("temperature", d.temperature),
        seed=options.get("seed", d.seed),
        max_tokens=options.get("max_tokens", d.max_tokens),
        retries=options.get("retries", d.retries),
    )
    return req, samp
