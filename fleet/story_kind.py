"""What kind of work a story asks for — a feature, a bug report or a change — read from its text.

A bug report is written the way users write them: what I did, what I expected, what happened,
an example. Scoring it against the user-story template ("As a <role> I want ... so that ...")
would park every real bug report below the Definition of Ready, so the coach first decides
which kind of story it reads (:func:`kind_of`): the PO's explicit ``work_kind`` wins, else
:func:`infer_kind` reads the title and description. Plain text heuristics, like the coach.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import get_args

from fleet.contracts import Story, WorkKind

WORK_KINDS: tuple[str, ...] = get_args(WorkKind)

# What happened: the behaviour the user observed, in their words ("returns 2.67", "got all
# the orders", "is split over two columns", "crashes") or a failure word.
OBSERVED = re.compile(
    r"\b(gives|gave|returns|returned|raises|raised|throws|threw|prints|printed|shows|showed"
    r"|outputs|produces|produced|yields|got|(I|we) (get|see)|(I'm|I am|we're|we are) getting"
    r"|ends? up|end(ed|s)? up|comes? out|came out|(is|are|was|were|gets?|got) (split|cut|lost"
    r"|dropped|ignored|skipped|duplicated|truncated|empty|missing|wrong|broken|shifted)"
    r"|instead( of)?|wrong|incorrect(ly)?|crash(es|ed|ing)?|traceback|segfault\w*|regression"
    r"|no longer|stopped working|broken|a bug|this bug|hangs?|hung|silently|drops|ignores"
    r"|(doesn't|does not|don't|do not|didn't|did not|won't|can't|cannot) (work|return|accept"
    r"|handle|parse|load|save|show|find|match))\b",
    re.IGNORECASE,
)
EXCEPTION = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")  # ValueError, KeyError... (case matters)
# What I expected.
EXPECTED = re.compile(
    r"\b(expected|I expect|expecting|should (be|have|return|give|say|print|show|produce|yield"
    r"|work|raise|accept|handle|keep|stay|read|come|depend|round|match|display|output|not)"
    r"|ought to|supposed to|correct (result|value|output|answer)|would expect)\b",
    re.IGNORECASE,
)
# What I did: the steps that reproduce it.
REPRO = re.compile(
    r"\b(when I|if I|I (ran|run|called|call|tried|try|used|use|passed|pass|typed|type|clicked"
    r"|click|opened|open|uploaded|upload|set|format|formatted|parse|parsed|noticed|installed"
    r"|imported|import|submitted|submit|entered|enter|started|start|sent|send)|steps to reproduce"
    r"|to reproduce|reproduc\w+|minimal example|for example|e\.g\.)",
    re.IGNORECASE,
)
# An example: a call, a command line, a code span, a quoted value or a number in a sentence.
EXAMPLE = re.compile(r"([\w.]+\([^()\n]*\)|`[^`\n]+`|\$ \S+|'[^'\n]+'|\"[^\"\n]+\"|-?\d)")
BUG_TITLE = re.compile(
    r"(^(fix|bug|crash|regression)\b|\b(bug|crash(es)?|broken|wrong|fails?|incorrect|errors? "
    r"(on|when|in)|raises|throws|hangs|ignores|ignored|drops|shifts?|not (working|saved|shown"
    r"|applied))\b)",
    re.IGNORECASE,
)
FEATURE_TITLE = re.compile(
    r"^(add|support|allow|let|create|implement|introduce|provide|offer|enable|build|new)\b",
    re.IGNORECASE,
)
CHANGE_TITLE = re.compile(
    r"^(change|rename|replace|remove|drop|deprecate|update|upgrade|switch|migrate|refactor|move"
    r"|make)\b",
    re.IGNORECASE,
)
ROLE = re.compile(r"\bas an? \w+", re.IGNORECASE)
WANT = re.compile(r"\b(i|we) (want|need|would like|can)\b", re.IGNORECASE)
BENEFIT = re.compile(r"\b(so that|in order to|so we can|so i can)\b", re.IGNORECASE)
# Quoted output, code spans and calls are the user's evidence, not prose to judge.
_EVIDENCE = re.compile(
    r"(```.*?```|`[^`\n]*`|\"[^\"\n]*\"|'[^'\n]{1,200}'|[\w.]+\([^()\n]*\))", re.S
)


@dataclass(frozen=True)
class BugFacts:
    """What a bug report says, each one a part of what makes it ready."""

    observed: bool  # what happened
    expected: bool  # what I expected
    reproducible: bool  # what I did, or an example someone can run
    example: bool  # a concrete input or output


def prose(text: str) -> str:
    """``text`` without its quoted values, code spans and calls (the user's evidence)."""
    return _EVIDENCE.sub(" ", text)


def template_complete(text: str) -> bool:
    """The user-story sentence is all there: 'As a <role> I want ... so that ...'."""
    return bool(ROLE.search(text) and WANT.search(text) and BENEFIT.search(text))


def bug_facts(story: Story) -> BugFacts:
    text = f"{story.title}\n{story.description}"
    examples = "\n".join((story.description, *story.acceptance_criteria))
    example = bool(re.search(r"[\w.]+\([^()\n]*\)|`[^`\n]+`|\$ \S+|^\s{4}\S", examples, re.M))
    example = example or bool(EXAMPLE.search(story.description))
    return BugFacts(
        observed=bool(OBSERVED.search(text) or EXCEPTION.search(text)),
        expected=bool(EXPECTED.search(text)),
        reproducible=bool(REPRO.search(story.description)) or example,
        example=example,
    )


def infer_kind(story: Story) -> WorkKind:
    """``bug`` when the text reads as a bug report, ``change`` for a change to existing
    behaviour named in the title, else ``feature``."""
    text = f"{story.title}\n{story.description}"
    bug_title = bool(BUG_TITLE.search(story.title))
    if template_complete(text) and not bug_title:
        return "feature"  # the user-story sentence: score it as one
    facts = bug_facts(story)
    if bug_title and (facts.observed or facts.expected):
        return "bug"
    # Observed versus expected, with something to reproduce it: a bug report, unless the title
    # asks for something new ("Add divide: divide(1, 0) should raise ...").
    reported = facts.observed and facts.expected and facts.reproducible
    if reported and not FEATURE_TITLE.search(story.title.strip()):
        return "bug"
    if CHANGE_TITLE.search(story.title.strip()):
        return "change"
    return "feature"


def kind_of(story: Story) -> WorkKind:
    """The PO's ``work_kind`` when given, else :func:`infer_kind`."""
    return story.work_kind or infer_kind(story)
