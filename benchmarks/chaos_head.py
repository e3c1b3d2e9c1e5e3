"""The head-restart part of ``bench_chaos.py``: `fleet down` / `fleet up` under `fleet run`.

A private `fleet up --model scripted` stack (own ports, data dir, Ray token; every part real
except the chat model). Stories are submitted by the real CLI, each followed by its own
`fleet run` process, as a user's shell would: ``--auto-approve`` ones (docs/cli.md: exit 0,
DONE), one without it (exit 3, parked at the scope gate) and one with a ``--timeout`` shorter
than the restart (exit 6). With them in flight the stack goes down and comes back up; then
`fleet follow` of a story that does not exist must exit 2 (the gateway's own 404). Every
follower's exit code is checked against those; every event seen before the restart must still
be there, none stored twice, and every council's stored result must have its events.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import chaos_checks

DEADLINE_S = 900.0  # a follower's --timeout (its story finishes well within it when all is well)
SHORT_S = 10.0  # past the restart's start: that follower's deadline falls while it is away


def _cli(env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cluster.cli", *argv],
                            env={**env, "PYTHONUNBUFFERED": "1"}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def _run_argv(repo: str, *extra: str) -> list[str]:
    from fleet.orchestrator.sample import SAMPLE_STORY as S

    criteria = [a for c in S["acceptance_criteria"] for a in ("--criteria", c)]
    return ["run", "--repo", repo, "--title", S["title"], "--description", S["description"],
            *criteria, *extra]  # fmt: skip


class Followers:
    """The `fleet run` processes, each with the exit code docs/cli.md gives its path."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[str], int]] = []
        self.output: dict[str, str] = {}

    def start(self, env: dict[str, str], label: str, argv: list[str], expect: int) -> None:
        self.procs.append((label, _cli(env, *argv), expect))

    def wait(self, timeout: float) -> list[tuple[str, int | None, int]]:
        deadline, out = time.monotonic() + timeout, []
        for label, proc, expect in self.procs:
            try:
                text, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                text, _ = proc.communicate()
            self.output[label] = text
            out.append((label, proc.returncode, expect))
        return out

    def story_ids(self) -> dict[str, str]:
        """label -> the story id a follower printed (``submitted <id> to ...``)."""
        ids = {}
        for label, text in self.output.items():
            for line in text.splitlines():
                if line.startswith("submitted "):
                    ids[label] = line.split()[1]
        return ids


def _timeline(client: Any, api: Any, sid: str) -> list[Any]:
    from fault_tools import events

    from fleet.contracts import FleetEvent

    return [FleetEvent.model_validate(e) for e in events(client, api, sid)]


def _known(client: Any, api: Any) -> list[str]:
    """Story ids the gateway knows (empty while it is away)."""
    try:
        r = client.get(f"{api.base_url}/stories", headers=api.headers("viewer"))
    except Exception:  # refused, reset, timed out: away
        return []
    return [s["id"] for s in r.json()["stories"]] if r.is_success else []


def restart_under_followers(tmp: Path, *, stories: int, after_s: float) -> dict[str, Any]:
    """The whole part; figures for ``bench_chaos``'s RESULT lines."""
    import httpx
    from fault_tools import fleet_cli, private_stack_env
    from fleet_stack import Stack

    from cluster.cli.stories import sample_repo
    from fleet.settings import settings

    env = private_stack_env(tmp)
    rc, out = fleet_cli(env, "up", "--model", "scripted")
    if rc != 0:
        print(f"  head: fleet up failed ({rc}): {out[-600:]}", flush=True)
        return {"error": "fleet up failed"}
    try:
        s = settings(env)  # the private stack's data dir and gateway port
        tokens = json.loads((Path(str(s.data_dir)) / "tokens.json").read_text())
        api = Stack(f"http://127.0.0.1:{s.gateway_port}", tokens, "", "", "", "")
        repo = str(sample_repo(str(tmp / "repo")))
        followers = Followers()
        for i in range(stories):
            argv = _run_argv(repo, "--auto-approve", "--timeout", str(DEADLINE_S))
            followers.start(env, f"auto-{i}", argv, 0)
        followers.start(env, "no-approve", _run_argv(repo, "--timeout", str(DEADLINE_S)), 3)
        short = str(after_s + SHORT_S)  # its deadline falls while the stack is down or coming up
        followers.start(env, "short", _run_argv(repo, "--auto-approve", "--timeout", short), 6)
        with httpx.Client(timeout=30.0) as client:
            return _restart(env, api, client, followers, after_s=after_s)
    finally:
        rc, out = fleet_cli(env, "down")
        if rc != 0:
            print(f"  head: fleet down failed ({rc}): {out[-400:]}", flush=True)


def _restart(env: dict[str, str], api: Any, client: Any, followers: Followers, *,
             after_s: float) -> dict[str, Any]:  # fmt: skip
    from fault_tools import fleet_cli

    deadline = time.monotonic() + 180  # every follower's story submitted (slow under load)
    while len(_known(client, api)) < len(followers.procs) and time.monotonic() < deadline:
        time.sleep(1.0)
    time.sleep(after_s)  # the stories get going: scored, planned, some in their council
    ids = _known(client, api)
    seen = {sid: [e.id for e in _timeline(client, api, sid)] for sid in ids}
    start = time.monotonic()
    for step in ("down", "up"):
        rc, out = fleet_cli(env, step, *(("--model", "scripted") if step == "up" else ()))
        print(f"  head: fleet {step} -> {rc}", flush=True)
    end, wall_end = time.monotonic(), time.time()
    print(f"  head: restarted in {end - start:.0f}s with {len(ids)} stories in flight", flush=True)
    missing = _cli(env, "follow", "no-such-story", "--timeout", "60")
    codes = followers.wait(DEADLINE_S + 60)
    text, _ = missing.communicate(timeout=120)
    codes.append(("unknown-story", missing.returncode, 2))
    for label, got, expect in codes:
        mark = "ok" if got == expect else "WRONG"
        print(f"  head: fleet {label}: exit {got} (docs/cli.md: {expect}) {mark}", flush=True)
        if got != expect:
            print("    " + (followers.output.get(label) or text)[-600:].replace("\n", "\n    "))
    lost = duplicated = 0
    recovery = []
    for sid in _known(client, api):
        events = _timeline(client, api, sid)
        gone, twice, gaps = chaos_checks.timeline_faults(events, seen.get(sid, []))
        lost, duplicated = lost + gone, duplicated + twice
        for gap in gaps:
            print(f"  head: council event never stored: {sid} {gap}")
        after = [e.at_ms / 1000 - wall_end for e in events if e.at_ms / 1000 >= wall_end]
        if sid in seen and after:
            recovery.append(min(after))
    done = sum(code == 0 for _, code, _ in codes)
    return {
        "codes_correct": sum(got == expect for _, got, expect in codes), "codes": len(codes),
        "events_lost": lost, "events_duplicated": duplicated, "recovery": recovery,
        "done": done, "expected_done": sum(expect == 0 for *_, expect in codes),
    }  # fmt: skip
