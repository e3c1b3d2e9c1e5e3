"""The Ray job behind ``fleet submit``: run every story of ``$FLEET_BACKLOG`` through the gateway."""

from __future__ import annotations

import io
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from cluster.cli.gateway_client import Client, exit_code, follow


def main() -> int:
    from cluster.fleet_apps import gateway_url
    from fleet.settings import fleet_config
    from serve_apps.gateway.tokens import read_tokens

    backlog = json.loads(os.environ["FLEET_BACKLOG"])
    cfg = fleet_config()
    client = Client(
        os.environ.get("FLEET_GATEWAY_URL") or gateway_url(cfg), read_tokens(cfg.data_dir).get("po")
    )
    auto = bool(backlog.get("auto_approve", False))

    def one(story: dict) -> tuple[str, dict, int]:
        created = client.call("POST", "/stories", json=story)
        final = follow(client, created["id"], auto_approve=auto, timeout_s=3600, out=io.StringIO())
        return created["id"], final, exit_code(final)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, backlog["stories"]))
    for story_id, final, code in results:
        parked = (final.get("parked") or {}).get("gate")
        print(
            f"{story_id}: {final.get('outcome') or 'parked at ' + str(parked)} (state {final['state']}, exit {code})"
        )
    done = sum(1 for *_, code in results if code == 0)
    print(f"{done}/{len(results)} stories DONE")
    return 0 if done == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
