"""``fleet backlog FILE``: run a backlog of stories through a gateway, here and now.

What the RayJob rendered by ``fleet cluster render`` runs on its head (the backlog mounted from
a ConfigMap); anywhere else it is ``fleet submit`` without the Ray job around it. The file format
is ``fleet submit``'s (see :mod:`cluster.cli.jobs`).
"""

from __future__ import annotations

import argparse

from fleet.settings import env_name


def _backlog(args: argparse.Namespace) -> int:
    from cluster.backlog_job import gateway_and_token, run_backlog
    from cluster.cli.jobs import load_backlog

    backlog = load_backlog(args.backlog)
    url, token = gateway_and_token(args.url)
    return run_backlog(backlog, url, token, timeout_s=args.timeout)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``backlog`` to the ``fleet`` command."""
    text = "run every story of a backlog file through the gateway and follow them to the end"
    p = subparsers.add_parser("backlog", help=text, description=text)
    p.add_argument("backlog", help="BACKLOG.yaml (format: see `fleet submit`)")
    p.add_argument(
        "--url", help=f"gateway URL (default ${env_name('gateway_url')}, else fleet.yaml)"
    )
    p.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds per story (default %(default)s)"
    )
    p.set_defaults(func=_backlog)
