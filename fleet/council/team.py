"""Who sits on a task's council: the configured members, plus devops and data when the task
touches their areas (dependencies, CI, deployment files; schemas, migrations, data files)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fleet.council.patching import developer_temperature
from fleet.council.seeds import mix

DEVOPS = re.compile(
    r"(depend|requirement|pyproject|setup\.(py|cfg)|dockerfile|docker|container|\bci\b|workflow|"
    r"deploy|helm|kubernetes|makefile|pipeline|release|\.github/|version pin|\bpin\b)",
    re.IGNORECASE,
)
DATA = re.compile(
    r"(schema|migration|database|\bsql\b|\.sql\b|\btable\b|column|\.csv\b|dataset|data model|"
    r"data file|fixture data|\.parquet\b)",
    re.IGNORECASE,
)


def role_of(member: str) -> str:
    """``developer-1`` -> ``developer``; ``developer-1@model`` -> ``developer``."""
    return member.split("@", 1)[0].rsplit("-", 1)[0]


def joiners(text: str, files: Sequence[str] = ()) -> list[str]:
    """Roles whose areas the task touches: ``devops`` and/or ``data``."""
    blob = "\n".join([text, *files])
    return [role for role, pattern in (("devops", DEVOPS), ("data", DATA)) if pattern.search(blob)]


def members_for(configured: Sequence[str], text: str, files: Sequence[str] = ()) -> tuple[str, ...]:
    """``configured`` plus ``devops-1`` / ``data-1`` when the task touches their areas."""
    have = {role_of(m) for m in configured}
    extra = [f"{role}-1" for role in joiners(text, files) if role not in have]
    return (*configured, *extra)


OTHERS_TEMPERATURE = 0.2  # QA, architect, ...: examples and ballots nearly greedy (as measured)


def temperature_of(member: str) -> float:
    """A member's sampling temperature: developer-n's own (``patching.developer_temperature``:
    the first greedy, the others hotter, so candidates differ), the others' nearly greedy."""
    return developer_temperature(member) if role_of(member) == "developer" else OTHERS_TEMPERATURE


def member_seed(member: str) -> int:
    """A member's own seed, mixed into every call's (``Member.seed``): from its id, so the story
    path's agent and the benchmark's member of the same name sample alike."""
    return mix(member)


def proposers(members: Sequence[str]) -> tuple[str, ...]:
    """The developer-type members: they propose and revise patches; the others critique and vote."""
    return tuple(m for m in members if role_of(m) == "developer")
