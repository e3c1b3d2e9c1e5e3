"""A benchmark run's per-task figures on disk, so a run longer than one sitting resumes.

``bench_agents.py --resume FILE`` appends one JSON line per (arm, task) as each finishes: the
task's figures (passed/total per kind, tokens, seconds, localisation, wall minutes). A later run
with the same FILE and the same settings (model file, attempts, rounds, QA examples) takes every
(arm, task) that finished from the file and runs the rest; the RESULT lines then cover both. The
council's arms (``council``, ``vote``, ``vote_cost``) are taken together or run again together:
``vote`` reuses the council's samples of the same sitting, so they are never split across runs.
Lines written with other settings are ignored, and counted in what the run prints.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import ArmResult


def merge(acc: ArmResult, r: ArmResult) -> None:
    """Add one task's figures ``r`` to the arm's running total ``acc``."""
    for kind, n in r.total.items():
        acc.total[kind] = acc.total.get(kind, 0) + n
        acc.passed[kind] = acc.passed.get(kind, 0) + r.passed.get(kind, 0)
    acc.tokens += r.tokens
    acc.seconds += r.seconds
    acc.located.update(r.located)
    acc.repo_minutes.extend(r.repo_minutes)


@dataclass
class Recorded:
    """One arm's figures on one task, and the council's wall minutes for it (council arm only)."""

    result: ArmResult
    council_minutes: list[float] = field(default_factory=list)


class ResumeFile:
    """The JSONL file of one run's finished (arm, task) pairs, for the given settings."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path, self.settings = path, settings
        self.done: dict[tuple[str, str], Recorded] = {}
        self.ignored = 0
        if path.is_file():
            for line in path.read_text().splitlines():
                self._read(line)

    def _read(self, line: str) -> None:
        try:
            row = json.loads(line)
            if row.get("settings") != self.settings:
                self.ignored += 1
                return
            result = ArmResult(**row["result"])
            self.done[(row["arm"], row["task"])] = Recorded(result, list(row["council_minutes"]))
        except (ValueError, KeyError, TypeError):
            self.ignored += 1  # a line cut by a killed run, or not ours

    def finished(self, task_id: str, arms: list[str]) -> bool:
        return bool(arms) and all((arm, task_id) in self.done for arm in arms)

    def get(self, arm: str, task_id: str) -> Recorded:
        return self.done[(arm, task_id)]

    def add(self, arm: str, task_id: str, rec: Recorded) -> None:
        self.done[(arm, task_id)] = rec
        row = {
            "arm": arm,
            "task": task_id,
            "settings": self.settings,
            "result": asdict(rec.result),
            "council_minutes": rec.council_minutes,
        }
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
