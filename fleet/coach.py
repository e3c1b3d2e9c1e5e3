"""The story coach: deterministic Definition-of-Ready and INVEST scoring with a reason for every point lost.

Every dimension (``dor`` and the six INVEST letters) starts at 100 and loses
points only through a :class:`Finding` naming that dimension, so for each
dimension ``score == 100 - sum(points_lost)``. Losses are capped at what is
left, which keeps that sum exact and never below 0. Plain text heuristics on
purpose: the coach must be instant, explainable and identical on every run;
the council can still argue about a story the coach lets through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fleet.contracts import Finding, Story, StoryScore, WorkKind
from fleet.story_kind import BENEFIT, ROLE, WANT, bug_facts, kind_of, prose

INVEST = ("independent", "negotiable", "valuable", "estimable", "small", "testable")
DIMENSIONS = ("dor", *INVEST)

VAGUE = (
    "improve",
    "better",
    "fast",
    "faster",
    "quick",
    "quickly",
    "easy",
    "easily",
    "user-friendly",
    "intuitive",
    "nice",
    "seamless",
    "seamlessly",
    "robust",
    "efficient",
    "optimize",
    "optimise",
    "enhance",
    "modern",
    "flexible",
    "etc",
    "and so on",
    "various",
    "properly",
    "as needed",
    "appropriate",
    "appropriately",
    "somehow",
    "stuff",
    "things",
    "tbd",
)
# Dependencies are references to other work — an id (PAY-12, #12, story 12), "blocked by", or
# "depends on"/"waiting for" naming a piece of work (the new orders API, the payments team) —
# never the verb in prose: "the suffix should depend only on the absolute value" is no dependency.
_REF = r"(?:(?-i:[A-Z][A-Z0-9]+-\d+)|#\d+|(?:story|ticket|issue|task|pr)\s*#?\d+)"
_WORK = (
    r"(?:(?:the|our|a|an|their)\s+)?(?:[\w-]+\s+){0,3}?(?:stor(?:y|ies)|tickets?|issues?|tasks?"
    r"|epic|apis?|endpoints?|services?|release|migration|team|pr|pull request|merge request"
    r"|backend|frontend|integration|deployment|sdk)\b"
)
DEPENDENCY = re.compile(
    rf"\b(?:(?:depends?|dependent|relies|relying) on\s+(?:{_REF}|{_WORK})|blocked by"
    rf"|waiting (?:on|for)\s+(?:{_REF}|{_WORK})|requires? (?:story|ticket|issue|{_REF})"
    rf"|after (?:story|ticket|issue|task|{_REF})|once (?:story|ticket|issue|{_REF}))",
    re.IGNORECASE,
)
PRESCRIPTIVE = re.compile(
    r"(```|\bmust use\b|\bimplement(ed)? (it )?(with|using|in)\b|\bhard-?code\b|\bclass named\b"
    r"|\bfunction named\b|\bcolumn named\b|\bline \d+\b)",
    re.IGNORECASE,
)
SECOND_FEATURE = re.compile(r"\b(also|additionally|in addition|as well as|plus)\b", re.IGNORECASE)
WHY = re.compile(
    r"\b(so that|in order to|so (we|users|i|it|they|people) |because|since|to (avoid|allow|make"
    r"|keep|let|reduce|prevent|match|support|simplify))\b",
    re.IGNORECASE,
)
UNKNOWN = re.compile(r"(\?\?|\btbd\b|\bto be decided\b|\bunknown\b|\bnot sure\b)", re.IGNORECASE)
# An acceptance criterion is testable when it names something a test can observe.
OBSERVABLE = re.compile(
    r"(\bthen\b|\breturns?\b|\bresponds?\b|\bshows?\b|\bdisplays?\b|\bsees?\b|\bstatus\b|\berror\b"
    r"|\bis (saved|stored|created|deleted|rejected|sent|listed|visible|disabled|enabled)\b"
    r"|\breceives?\b|\bprints?\b|\boutputs?\b|\bwrites?\b|\bcontains?\b|\bhas\b|\bincludes?\b|\blists?\b|\bsorted\b|\bredirect|\bexits? with\b|\bexit code\b|\bwithin\b|\bequals?\b"
    r"|\bfails?\b|\bappears?\b|\bmessage\b|\bdownloads?\b|\bcount\b|\d|\"[^\"]+\"|'[^']+')",
    re.IGNORECASE,
)
MIN_WORDS, MAX_WORDS = 12, 250
MIN_CRITERIA, MAX_CRITERIA = 2, 8


@dataclass
class _Ledger:
    """Budget of 100 points per dimension; every loss is a Finding."""

    findings: list[Finding] = field(default_factory=list)
    left: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 100))

    def lose(self, criterion: str, points: int, reason: str, suggestion: str) -> None:
        points = min(points, self.left[criterion])
        if points <= 0:
            return
        self.left[criterion] -= points
        self.findings.append(
            Finding(criterion=criterion, points_lost=points, reason=reason, suggestion=suggestion)
        )


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9'-]+", text.lower())


def _vague(text: str) -> list[str]:
    lowered = " " + " ".join(_words(text)) + " "
    return [w for w in VAGUE if f" {w} " in lowered]


def _check_bug(story: Story, led: _Ledger) -> None:
    """A bug report is ready when someone can reproduce it and knows what correct looks like:
    what I did (or an example to run), what I expected, what happened, and where."""
    facts = bug_facts(story)
    if not facts.reproducible:
        why = "bug report without steps or an example to reproduce it"
        fix = "say what you did, with an input: 'I called ordinal(-1) and ...'"
        led.lose("testable", 30, why, fix)
        led.lose("estimable", 20, why, fix)
        led.lose("dor", 15, why, fix)
    if not facts.expected:
        why = "bug report does not say what was expected"
        fix = "state the expected behaviour: 'it should return ...' / 'I expected ...'"
        led.lose("valuable", 40, why, fix)
        led.lose("dor", 15, why, fix)
    if not facts.observed:
        why = "bug report does not say what happened instead"
        fix = "say what happened: the wrong output, the error message or the traceback"
        led.lose("valuable", 20, why, fix)
        led.lose("dor", 10, why, fix)
    if not facts.example:
        why = "bug report names no concrete input or output (scope unclear)"
        fix = "add an example: the call or command, its output, and the output you expected"
        led.lose("estimable", 20, why, fix)
        led.lose("dor", 5, why, fix)


def _check_change(story: Story, led: _Ledger) -> None:
    """A change to existing behaviour needs a reason; who it is for is optional."""
    if not WHY.search(f"{story.title}\n{story.description}"):
        why = "change without a reason: why should the current behaviour change?"
        fix = "say why: '... because <reason>' or '... so that <benefit>'"
        led.lose("valuable", 40, why, fix)
        led.lose("dor", 10, why, fix)


def _check_value(story: Story, led: _Ledger, kind: WorkKind) -> None:
    if kind != "feature":
        (_check_bug if kind == "bug" else _check_change)(story, led)
        return
    text = f"{story.title}\n{story.description}"
    if not ROLE.search(text):
        led.lose(
            "valuable",
            20,
            "no user or role named",
            "say who it is for: 'As a <role> I want ... so that ...'",
        )
        led.lose("dor", 5, "no user or role named", "name the user: 'As a <role> ...'")
    if not WANT.search(text):
        led.lose(
            "valuable",
            10,
            "no 'I want' statement of the capability",
            "state the capability: '... I want <capability> ...'",
        )
        led.lose("dor", 5, "capability not stated as 'I want ...'", "add 'I want <capability>'")
    if not BENEFIT.search(text):
        led.lose(
            "valuable",
            40,
            "no benefit stated: why does anyone need this?",
            "add the value: '... so that <benefit>'",
        )
        led.lose("dor", 10, "no benefit stated", "add 'so that <benefit>'")


def _check_size(story: Story, led: _Ledger, kind: WorkKind) -> None:
    n = len(_words(story.description))
    if n < MIN_WORDS:
        why = f"description too short ({n} words, fewer than {MIN_WORDS})"
        fix = "describe the user, the behaviour and the context in a few sentences"
        led.lose("estimable", 30, why, fix)
        led.lose("dor", 10, why, fix)
    if n > MAX_WORDS:
        why = f"description too long ({n} words, more than {MAX_WORDS})"
        fix = "trim to the essentials or split the story; move background to linked docs"
        led.lose("small", 30, why, fix)
        led.lose("dor", 5, why, fix)
    if not story.title.strip() or len(_words(story.title)) > 12:
        led.lose(
            "dor",
            10,
            "title missing or longer than 12 words",
            "give it a short title naming the capability (3-10 words)",
        )
    # a bug report's title names a symptom ("... for lists and strings" says where it shows)
    if kind != "bug" and re.search(r"\s(and|&|\+)\s", story.title, re.IGNORECASE):
        why = f"story mixes two features (title {story.title!r} joins them with 'and')"
        led.lose("small", 30, why, "story mixes two features: split it into one story each")
        led.lose("independent", 20, why, "split it so each part can ship on its own")
        led.lose("dor", 10, why, "split it into one story per feature")
    extra = SECOND_FEATURE.findall(story.description)
    if extra:
        led.lose(
            "small",
            15,
            f"description adds more scope ({', '.join(sorted(set(extra)))})",
            "move the extra scope into its own story",
        )


def _check_criteria(story: Story, led: _Ledger, kind: WorkKind) -> None:
    crit = [c for c in story.acceptance_criteria if c.strip()]
    if not crit and kind in ("bug", "change"):
        # a report (or a change) with an example and the result expected for it carries its own
        # criterion: the suite step's first test asserts it (fleet/pipeline/suite.py)
        facts = bug_facts(story)
        if not (facts.expected and facts.example):
            fix = "add the expected result as a criterion, e.g. 'f(x) returns y'"
            led.lose("testable", 40, "no acceptance criteria and no expected example", fix)
            led.lose("dor", 15, "no acceptance criteria and no expected example", fix)
        return
    if not crit:
        fix = "no acceptance criteria: add 2-5 testable criteria (Given/When/Then or 'X returns Y')"
        led.lose("testable", 60, "no acceptance criteria", fix)
        led.lose("dor", 25, "no acceptance criteria", fix)
        return
    if len(crit) < MIN_CRITERIA:
        fix = "add at least one more criterion, e.g. the error case"
        led.lose("testable", 15, "only one acceptance criterion", fix)
        led.lose("dor", 15, "only one acceptance criterion", fix)
    if len(crit) > MAX_CRITERIA:
        led.lose(
            "small",
            20,
            f"{len(crit)} acceptance criteria (more than {MAX_CRITERIA})",
            "too much for one story: split it along groups of criteria",
        )
    for c in crit:
        if not OBSERVABLE.search(c):
            why = f"criterion not testable (no observable outcome): {c!r}"
            fix = "rewrite as an observable outcome: 'when <action> then <result a test can check>'"
            led.lose("testable", 15, why, fix)
            led.lose("dor", 10, why, fix)
        vague = _vague(c)
        if vague:
            why = f"vague words in criterion {c!r}: {', '.join(vague)}"
            fix = "replace vague words with measurable values (e.g. 'within 200 ms')"
            led.lose("testable", 10, why, fix)
            led.lose("dor", 5, why, fix)


def _check_language(story: Story, led: _Ledger, kind: WorkKind) -> None:
    text = f"{story.title}\n{story.description}"
    if kind == "bug":  # quoted output, calls and tracebacks are evidence, not prose to judge
        text = prose(text)
    vague = _vague(text)
    if vague:
        why = f"vague words like {', '.join(repr(w) for w in vague[:5])}"
        fix = "replace vague words with concrete, measurable behaviour"
        led.lose("estimable", min(40, 10 * len(vague)), why, fix)
        led.lose("dor", min(10, 5 * len(vague)), why, fix)
    if UNKNOWN.search(text):
        why = "open questions in the text (TBD, ??, unknown)"
        fix = "resolve the open questions with the PO before the story enters design"
        led.lose("estimable", 30, why, fix)
        led.lose("dor", 10, why, fix)
    deps = sorted({m.group(0).lower() for m in DEPENDENCY.finditer(text)})
    if deps:
        why = f"depends on other work ({', '.join(deps)})"
        fix = "finish or stub the dependency first, or reorder the backlog so this can start alone"
        led.lose("independent", min(80, 50 * len(deps)), why, fix)
        led.lose("dor", min(30, 15 * len(deps)), why, fix)
    details = sorted({m.group(0).lower() for m in PRESCRIPTIVE.finditer(text)})
    if kind == "bug":  # "fails at line 42" locates a bug; it prescribes nothing
        details = [d for d in details if not d.startswith("line")]
    if details:
        led.lose(
            "negotiable",
            min(75, 25 * len(details)),
            f"prescribes the implementation ({', '.join(details)})",
            "state the outcome, not the implementation; leave the how to the team",
        )


def score_story(story: Story, *, threshold: int = 70) -> StoryScore:
    """Score ``story`` for readiness (DoR) and INVEST, 0-100 each; ``ready`` when dor >= threshold.

    A feature is read against the user-story sentence, a bug report against what makes it
    reproducible (steps or an example, expected and actual behaviour), a change against its
    reason (:func:`fleet.story_kind.kind_of`: the PO's ``work_kind``, else inferred).

    Deterministic: the same story always yields the same score and findings.
    """
    led = _Ledger()
    kind = kind_of(story)
    _check_value(story, led, kind)
    _check_size(story, led, kind)
    _check_criteria(story, led, kind)
    _check_language(story, led, kind)
    dor = led.left["dor"]
    return StoryScore(
        story_id=story.id,
        dor=dor,
        invest={k: led.left[k] for k in INVEST},
        findings=tuple(led.findings),
        ready=dor >= threshold,
    )
