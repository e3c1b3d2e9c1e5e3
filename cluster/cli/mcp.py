"""``fleet mcp``: the fleet as an MCP server on stdio, for local MCP clients (editors, assistants).

The tools call a running gateway (``fleet up``) over HTTP with the po token (``--token``,
the ``po_token`` setting or ``<data_dir>/tokens.json``), so they act exactly as the REST API
allows.
stdout carries the protocol: nothing else is printed there.
"""

from __future__ import annotations

import argparse
import logging
import sys

from fleet.errors import UserError
from fleet.settings import env_name


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``mcp`` to the ``fleet`` command."""
    p = sub.add_parser(
        "mcp",
        help="serve the fleet over MCP on stdio (tools: stories, gates, reports, diffs)",
        description=__doc__,
    )
    p.add_argument("--url", help="gateway URL (default: from config/fleet.yaml)")
    p.add_argument(
        "--token",
        help=f"gateway token (default: {env_name('po_token')} or the tokens file; po acts)",
    )
    p.set_defaults(func=_serve)


def quiet_logs() -> None:
    """Warnings and errors only, one plain line each on stderr. Set before the MCP server is
    built: its own logging set-up (a rich handler at INFO, so one boxed line per HTTP call
    to the gateway) does nothing once the root logger has a handler."""
    logging.basicConfig(
        level=logging.WARNING,
        format="fleet mcp: %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from cluster.fleet_apps import gateway_url
    from fleet.config import fleet_config
    from serve_apps.gateway.mcp_server import build_mcp, over_http
    from serve_apps.gateway.tokens import read_tokens

    cfg = fleet_config()
    tokens = read_tokens(cfg.data_dir)
    token = args.token or tokens.get("po") or tokens.get("viewer")
    if not token:
        raise UserError(
            f"no gateway token: pass --token, set {env_name('po_token')}, or run `fleet up` "
            "(it writes the tokens file)"
        )
    quiet_logs()
    server = build_mcp(over_http(args.url or gateway_url(cfg), token))
    asyncio.run(server.run_stdio_async())
    return 0
