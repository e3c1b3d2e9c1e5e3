"""``fleet export`` (events + usage ledger to Parquet) and ``fleet report`` (a story's report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleet.config import load
from fleet.errors import NotFound


def _log(args: argparse.Namespace):  # noqa: ANN202 - adapter type stays out of the CLI signature
    from fleet.adapters import registry

    cfg = load("fleet.yaml")
    url = args.url or f"redis://{cfg.redis.host}:{cfg.redis.port}/0"
    return (
        registry.event_log(
            url,
            limits=cfg.limits,
            archive_dir=Path(cfg.data_dir).expanduser() / "archive",
        ),
        cfg,
        url,
    )


def _export(args: argparse.Namespace) -> int:
    from fleet.adapters.event_archive import export

    log, _, _ = _log(args)
    stories = [args.story] if args.story else log.stories()
    if args.story and not log.exists(args.story):
        raise NotFound(what="story", id=args.story)
    rows = [row for sid in stories for row in log.read(sid)]  # archived events included
    counts = export(rows, args.out)
    print(
        f"wrote {counts['events']} events and {counts['usage']} usage records of {len(stories)} "
        f"stor{'y' if len(stories) == 1 else 'ies'} to {Path(args.out).expanduser()}/(events|usage).parquet"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from fleet.adapters import registry
    from fleet.memory import build_report, report_markdown

    log, cfg, url = _log(args)
    report = build_report(log, registry.decision_graph(cfg.graph, redis_url=url), args.story)
    print(report.model_dump_json(indent=2) if args.json else report_markdown(report), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export`` and ``report`` to the ``fleet`` command."""
    p = sub.add_parser(
        "export", help="write events and the usage ledger to Parquet (archive included)"
    )
    p.add_argument("--story", help="one story id (default: every story)")
    p.add_argument(
        "--out", default="fleet-export", help="output directory (default: ./fleet-export)"
    )
    p.add_argument("--url", help="Redis URL (default: from config/fleet.yaml)")
    p.set_defaults(func=_export)
    r = sub.add_parser(
        "report", help="print a story's technical report (Markdown, or JSON with --json)"
    )
    r.add_argument("story", help="story id")
    r.add_argument("--json", action="store_true", help="the JSON model instead of Markdown")
    r.add_argument("--url", help="Redis/FalkorDB URL (default: from config/fleet.yaml)")
    r.set_defaults(func=_report)
