"""The ``fleet`` command. Each command group lives in its own module of this package exposing
``register(subparsers)``; each registered command sets ``func(args) -> int``.

==================  ===========================================================
``stack``           ``fleet up | status | down``: the local stack
``kube``            ``fleet cluster ...``: the fleet on a KubeRay cluster
``reports``         ``fleet export | report``: the timeline and the report
``stories``         ``fleet run | follow | stories | show | approve | demo``
``jobs``            ``fleet submit | jobs``: backlogs as Ray jobs
``gateway_client``  the HTTP client of the gateway those commands share (following a story)
``progress``        the progress line of each followed event
``outcome``         the end of a followed story: outcome line, exit code, report
==================  ===========================================================
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from fleet.context.masking import install_log_redaction
from fleet.context.redact import redact
from fleet.errors import ConfigError, FleetError
from fleet.settings import env_name, settings

# Command-group modules, in help order. Add a module here when it lands.
COMMAND_MODULES = (
    "cluster.cli.stack",
    "cluster.cli.kube",
    "cluster.cli.reports",
    "cluster.cli.stories",
    "cluster.cli.mcp",
    "cluster.cli.backlog",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet", description="SWE AI Fleet: a Ray-native multi-agent software team."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    install_log_redaction()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FleetError as exc:
        print(
            f"fleet {args.command}: error: {redact(str(exc))[0]}", file=sys.stderr
        )  # e.g. a URL's password
        # the fleet away (no answer, 502/503/504) is no usage error: exit 1, as for the unexpected
        return 1 if getattr(exc, "outage", False) else 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a stack trace for the user; the debug setting shows it
        if _debug():
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:500]
        print(
            f"fleet {args.command}: unexpected {type(exc).__name__}: {redact(first)[0]}\n"
            f"  (set {env_name('debug')}=1 for the full traceback; `fleet status` shows what runs and where its logs are)",
            file=sys.stderr,
        )
        return 1


def _debug() -> bool:
    """The debug setting; a broken environment (a bad port...) must not hide the first error."""
    try:
        return settings().debug
    except ConfigError:
        return False
