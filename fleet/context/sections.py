"""Section builders: one function per section name in ``scopes.yaml``, over a digest.

Each returns a ``Draft`` (lines in reading order plus the order in which to keep
them when the budget is short) or ``None`` when the story has nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.config import Scope
from fleet.context import located, repomap
from fleet.context.digest import RECENT, StoryDigest


@dataclass
class Draft:
    """A section before budgeting: ``items`` in reading order, ``keep`` most important first.
    ``shown``: only the first ``shown`` items are shown once the budget is spent as if all were
    (the pack as built, then cut: the budget the others took is not given to later sections)."""

    name: str
    items: list[str]
    keep: list[int] = field(default_factory=list)
    compressed: bool = False
    shown: int | None = None

    def __post_init__(self) -> None:
        if not self.keep:
            self.keep = list(range(len(self.items)))


def _story(d: StoryDigest, task_id: str | None) -> Draft | None:
    st = d.s["story"]
    if not st:
        return None
    items = [f"{st['title']} (state {st['state']}, rigor {st['rigor']})"]
    if st["description"]:
        items.append(st["description"])
    return Draft("story", items)


def _criteria(d: StoryDigest, task_id: str | None) -> Draft | None:
    st = d.s["story"]
    if not st or not st["criteria"]:
        return None
    return Draft("acceptance_criteria", [f"AC{i}. {c}" for i, c in enumerate(st["criteria"], 1)])


def _task(d: StoryDigest, task_id: str | None) -> Draft | None:
    t = d.s["tasks"].get(task_id) if task_id else None
    if t is None:
        return None
    items = [f"{task_id} ({t['role']}, {t['phase']}): {t['description']}"]
    for dep in t["depends_on"]:
        dt = d.s["tasks"].get(dep)
        items.append(f"depends on {dep}: {dt['description'][:200] if dt else '(not planned yet)'}")
    return Draft("task", items)


def _plan(d: StoryDigest, task_id: str | None) -> Draft | None:
    tasks: dict[str, Any] = d.s["tasks"]
    if not tasks:
        return None
    ids = list(tasks)
    items = []
    for tid in ids:
        t = tasks[tid]
        deps = f" after {', '.join(t['depends_on'])}" if t["depends_on"] else ""
        mark = "  <- this task" if tid == task_id else ""
        items.append(f"- {tid} [{t['role']}/{t['phase']}]{deps}: {t['description'][:160]}{mark}")
    near = {task_id, *(tasks[task_id]["depends_on"] if task_id in tasks else ())}
    keep = [i for i, tid in enumerate(ids) if tid in near] + [
        i for i, tid in enumerate(ids) if tid not in near
    ]
    return Draft("plan", items, keep)


def _decision_line(did: str, x: dict[str, Any]) -> str:
    alts = f" Rejected: {'; '.join(x['alternatives'])}." if x["alternatives"] else ""
    return f"- {did} by {', '.join(x['by']) or 'unknown'}: {x['what']} — why: {x['why']}{alts}"


def _decisions(tag: str | None, name: str) -> Callable[[StoryDigest, str | None], Draft | None]:
    def build(d: StoryDigest, task_id: str | None) -> Draft | None:
        chosen = [
            (did, x) for did, x in d.s["decisions"].items() if tag is None or tag in x["tags"]
        ]
        if not chosen:
            return None
        items = [_decision_line(did, x) for did, x in chosen]
        # under pressure keep this task's decisions, then the newest
        order = sorted(
            range(len(chosen)),
            key=lambda i: (chosen[i][1]["task_id"] != task_id or task_id is None, -i),
        )
        return Draft(name, items, order)

    return build


SHOWN = 4  # failing tests named on one line; the others counted


def _failing_lines(failing: list[tuple[str, Any]]) -> list[str]:
    """One line per failure message: tests of one module failing alike are one line (a small
    model's test repeated sixteen times fails sixteen times the same way)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for k, v in failing:
        groups.setdefault((k.split("::", 1)[0], v["detail"]), []).append(k)
    lines = []
    for (_, detail), keys in groups.items():
        more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
        lines.append(f"FAILING {', '.join(keys[:SHOWN])}{more}: {detail}".rstrip(": "))
    return lines


def _test_results(d: StoryDigest, task_id: str | None) -> Draft | None:
    tests: dict[str, Any] = d.s["tests"]
    # QA's own examples failing on the base may be wrong themselves (the council never counts
    # them against a candidate): not shown as failures the developer must fix
    advisory = tuple(d.s.get("advisory", ()))
    failing = [(k, v) for k, v in tests.items()
               if v["status"] == "failed" and not (advisory and k.startswith(advisory))]  # fmt: skip
    failing.sort(key=lambda kv: kv[1]["task_id"] != task_id or task_id is None)
    items = _failing_lines(failing)
    for g in reversed(d.s["gates"][-2:]):
        fails = f" — {'; '.join(g['failures'])}" if g["failures"] else ""
        items.append(
            f"gate {g['profile']} for {g['task_id']}: {g['verdict']} (score {g['score']}){fails}"
        )
    for r in reversed(d.s["reports"][-1:]):
        items.append(f"last build for {r['task_id']}: build_ok={r['build_ok']}, unit {r['passed']} passed / "
                     f"{r['failed']} failed, coverage {r['coverage']}, lint findings {r['lint']}")  # fmt: skip
    passing = sum(1 for v in tests.values() if v["status"] == "passed")
    if passing:
        items.append(f"{passing} tests/commands passing at their latest run")
    return Draft("test_results", items) if items else None


def _deliberation(d: StoryDigest, task_id: str | None) -> Draft | None:
    delibs: dict[str, Any] = d.s["delibs"]
    mine = [k for k, v in delibs.items() if task_id and v["task_id"] == task_id]
    opened = [k for k, v in delibs.items() if v["open"]]
    pick = (mine or opened or list(delibs))[-1:] if delibs else []
    if not pick:
        return None
    did, x = pick[0], delibs[pick[0]]
    state = "open" if x["open"] else f"closed, winner {x['winner']}"
    items = [
        f"deliberation {did} for {x['task_id']}: round {x['rounds']}, {x['ballots']} ballots, {state}"
    ]
    for author, p in x["proposals"].items():
        items.append(
            f"- proposal {p['id']} by {author if author != 'winner' else 'the winner'} (r{p['round']}): {p['content']}"
        )
    n_props = len(items)
    for c in x["critiques"]:
        items.append(
            f"- critique by {c['author']} of {c['target']} ({c['severity']}, r{c['round']}): {c['content']}"
        )
    keep = [
        0,
        *range(n_props, len(items))[::-1],
        *range(1, n_props),
    ]  # critiques are short and newest matter
    return Draft("deliberation", items, keep, compressed=not x["open"])


def _history(d: StoryDigest, task_id: str | None) -> Draft | None:
    s = d.s
    if not s["events"]:
        return None
    older = s["events"] - len(s["recent"])
    items = []
    if older > 0:
        counts = sorted(s["by_type"].items(), key=lambda kv: -kv[1])
        items.append(f"{s['events']} events so far; the {older} older ones compressed to counts and milestones: "
                     + ", ".join(f"{n} {t}" for t, n in counts))  # fmt: skip
    if s.get("summary"):
        items.append(f"Summary of earlier work: {s['summary']}")
    recent = set(s["recent"])
    milestones = [m for m in s["milestones"] if m not in recent]
    items += milestones + s["recent"]
    head = len(items) - len(milestones) - len(s["recent"])
    n = len(items)
    # keep the header/summary, then the newest events, then the newest milestones
    keep = [
        *range(head),
        *range(n - 1, n - 1 - len(s["recent"]), -1),
        *range(head + len(milestones) - 1, head - 1, -1),
    ]
    return Draft("history", items, keep, compressed=older > 0 or s["events"] > RECENT)


def query_of(d: StoryDigest, task_id: str | None) -> str:
    """The words that say what the work is about: story, criteria, task, failing tests."""
    st = d.s["story"] or {}
    task = d.s["tasks"].get(task_id) if task_id else None
    parts = [st.get("title", ""), st.get("description", ""), *st.get("criteria", ())]
    if task:
        parts.append(task["description"])
    parts += [f"{k} {v['detail']}" for k, v in d.s["tests"].items() if v["status"] == "failed"]
    return "\n".join(parts)


def _repo_map(
    d: StoryDigest, task_id: str | None, files: Mapping[str, str], scope: Scope
) -> Draft | None:
    infos = repomap.index(files)
    if not infos:
        return None
    query = query_of(d, task_id)
    shown = located.spans(located.located(files, query, d.s.get("repro")))  # in the code section
    return Draft("repo_map", repomap.map_items(infos, repomap.rank(infos, query), hide=shown))


def _code(
    d: StoryDigest, task_id: str | None, files: Mapping[str, str], scope: Scope
) -> Draft | None:
    """The most relevant code, the functions localisation points at first (``located.py``); in
    a scope with ``located_only`` the section shows them alone, the budget spent as if it showed
    everything, so the repository map after it is what it would be beside the whole section."""
    infos = repomap.index(files)
    query = query_of(d, task_id)
    items = repomap.code_items(files, infos, repomap.rank(infos, query), query)
    ranked = located.located(files, query, d.s.get("repro"))
    items, heads = located.first(files, ranked, items)
    if not items:
        return None
    return Draft("code", items, shown=heads if scope.located_only and heads else None)


# Sections built from the repository at the task's base commit (path -> text), not the timeline.
REPO_BUILDERS: dict[
    str, Callable[[StoryDigest, str | None, Mapping[str, str], Scope], Draft | None]
] = {
    "repo_map": _repo_map,
    "code": _code,
}

BUILDERS: dict[str, Callable[[StoryDigest, str | None], Draft | None]] = {
    "story": _story,
    "acceptance_criteria": _criteria,
    "plan": _plan,
    "task": _task,
    "decisions": _decisions(None, "decisions"),
    "test_decisions": _decisions("test", "test_decisions"),
    "deployment_decisions": _decisions("deployment", "deployment_decisions"),
    "data_decisions": _decisions("data", "data_decisions"),
    "test_results": _test_results,
    "deliberation": _deliberation,
    "history": _history,
}
