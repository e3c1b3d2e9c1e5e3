"""Run a backlog of stories through a gateway: the work behind ``fleet backlog`` and ``fleet submit``.

``fleet submit`` ships the backlog to a Ray job in the ``backlog`` setting (JSON) and runs this
module; the RayJob that ``fleet cluster render`` writes runs ``fleet backlog FILE`` on its own head. Either
way every story is created through the gateway, followed concurrently (PO gates approved when the
backlog says ``auto_approve``), and the exit code is 0 only when every story is DONE.
"""

from __future__ import annotations

import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cluster.cli.gateway_client import Client, exit_code, follow
from fleet.errors import UserError
from fleet.settings import env_name, settings


def gateway_and_token(url: str | None = None) -> tuple[str, str | None]:
    """The gateway URL (argument, the ``gateway_url`` setting, fleet.yaml) and the PO token
    (the ``po_token`` setting — a Secret on the cluster — or the local tokens file)."""
    from cluster.fleet_apps import gateway_url
    from fleet.config import fleet_config
    from serve_apps.gateway.tokens import read_tokens

    cfg = fleet_config()
    return (
        url or settings().gateway_url or gateway_url(cfg),
        read_tokens(cfg.data_dir).get("po"),
    )


def run_backlog(
    backlog: dict[str, Any], url: str, token: str | None, *, timeout_s: float = 3600.0
) -> int:
    """Create, follow and report every story of ``backlog``; 0 when all of them are DONE."""
    client = Client(url, token)
    auto = bool(backlog.get("auto_approve", False))

    def one(story: dict) -> tuple[str, dict, int]:
        created = client.call("POST", "/stories", json=story)
        final = follow(
            client, created["id"], auto_approve=auto, timeout_s=timeout_s, out=io.StringIO()
        )
        return created["id"], final, exit_code(final)

    print(f"running {len(backlog['stories'])} stories through {url}", flush=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, backlog["stories"]))
    for story_id, final, code in results:
        parked = (final.get("parked") or {}).get("gate")
        outcome = final.get("outcome") or f"parked at {parked}"
        print(f"{story_id}: {outcome} (state {final['state']}, exit {code})")
    done = sum(1 for *_, code in results if code == 0)
    print(f"{done}/{len(results)} stories DONE")
    return 0 if done == len(results) else 1


def main() -> int:
    url, token = gateway_and_token()
    backlog = settings().backlog
    if backlog is None:
        raise UserError(f"no backlog: {env_name('backlog')} is not set (`fleet submit` sets it)")
    return run_backlog(json.loads(backlog), url, token)


if __name__ == "__main__":
    sys.exit(main())
