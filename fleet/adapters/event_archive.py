"""Parquet archive of events that leave a story stream's retention window, and exports.

Layout: ``<root>/story=<id>/day=<YYYY-MM-DD>/part-<first entry id>.parquet`` (UTC day of
the event). A part is named by its first entry, so re-archiving after a crash between
"file written" and "stream trimmed" overwrites the same file instead of duplicating;
readers de-duplicate on entry id as a second guard.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.parquet as pq

from fleet.contracts import FleetEvent, UsageRecord

SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("event_id", pa.string()),
        ("story_id", pa.string()),
        ("type", pa.string()),
        ("at_ms", pa.int64()),
        ("actor", pa.string()),
        ("json", pa.string()),
    ]
)
USAGE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("story_id", pa.string()),
        ("at_ms", pa.int64()),
        ("role", pa.string()),
        ("model", pa.string()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("latency_ms", pa.float64()),
        ("cost", pa.float64()),
    ]
)


def entry_key(entry_id: str) -> tuple[int, int]:
    """Stream entry ids ('ms-seq') as sortable integers."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _day(at_ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at_ms / 1000))


def _table(rows: list[tuple[str, FleetEvent]]) -> pa.Table:
    cols: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for entry, ev in rows:
        for name, value in (
            ("entry_id", entry),
            ("event_id", ev.id),
            ("story_id", ev.story_id),
            ("type", ev.type),
            ("at_ms", ev.at_ms),
            ("actor", ev.actor),
            ("json", ev.model_dump_json()),
        ):
            cols[name].append(value)
    return pa.table(cols, schema=SCHEMA)


def _write_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)  # readers never see a half-written part


class ParquetArchive:
    """Archived events of every story under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    def _story_dir(self, story_id: str) -> Path:
        return self.root / f"story={quote(story_id, safe='')}"

    def write(self, story_id: str, rows: list[tuple[str, FleetEvent]]) -> list[Path]:
        """Archive ``rows`` (entry id, event), one part per UTC day; returns the files written."""
        by_day: dict[str, list[tuple[str, FleetEvent]]] = {}
        for entry, ev in rows:
            by_day.setdefault(_day(ev.at_ms), []).append((entry, ev))
        paths = []
        for day, part in sorted(by_day.items()):
            path = self._story_dir(story_id) / f"day={day}" / f"part-{part[0][0]}.parquet"
            _write_atomic(_table(part), path)
            paths.append(path)
        return paths

    def read(self, story_id: str) -> list[tuple[str, FleetEvent]]:
        """Every archived event of a story, oldest first, de-duplicated on entry id."""
        seen: dict[str, FleetEvent] = {}
        for path in sorted(self._story_dir(story_id).glob("day=*/part-*.parquet")):
            table = pq.read_table(path, columns=["entry_id", "json"])
            for entry, raw in zip(
                table.column("entry_id").to_pylist(), table.column("json").to_pylist(), strict=True
            ):
                if entry not in seen:
                    seen[entry] = FleetEvent.model_validate_json(raw)
        return sorted(seen.items(), key=lambda item: entry_key(item[0]))

    def count(self, story_id: str) -> int:
        return len(self.read(story_id))

    def stories(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(unquote(p.name.removeprefix("story=")) for p in self.root.glob("story=*"))


def export(rows: Iterable[tuple[str, FleetEvent]], out_dir: str | Path) -> dict[str, int]:
    """Write ``events.parquet`` and ``usage.parquet`` (the model usage ledger) into ``out_dir``."""
    rows = list(rows)
    out = Path(out_dir).expanduser()
    _write_atomic(_table(rows), out / "events.parquet")
    usage: dict[str, list[Any]] = {name: [] for name in USAGE_SCHEMA.names}
    n_usage = 0
    for _, ev in rows:
        if isinstance(ev.payload, UsageRecord):
            u = ev.payload
            for name, value in (
                ("event_id", ev.id),
                ("story_id", ev.story_id),
                ("at_ms", ev.at_ms),
                ("role", u.role),
                ("model", u.model),
                ("prompt_tokens", u.prompt_tokens),
                ("completion_tokens", u.completion_tokens),
                ("latency_ms", u.latency_ms),
                ("cost", u.cost),
            ):
                usage[name].append(value)
            n_usage += 1
    _write_atomic(pa.table(usage, schema=USAGE_SCHEMA), out / "usage.parquet")
    return {"events": len(rows), "usage": n_usage}
