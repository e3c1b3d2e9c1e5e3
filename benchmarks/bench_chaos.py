"""Chaos: stories (scripted models, every other part real) while a seeded schedule breaks parts.

Two parts, each with its own stack:

1. ``chaos_stack``: N stories on an in-process stack (its own local Ray, Redis+FalkorDB with its
   AOF on a small tmpfs, the real orchestrator, council, role agents, sandbox supervisor and
   workspace runner). The stories arrive ``--arrival-s`` apart (default 8 s) and a fault waits
   (up to 30 s) for a story in flight, so every fault of the schedule finds one. A PO thread
   approves the PO gates as they come (like ``fleet run --auto-approve``); an observer reads
   every story's timeline as it grows. Faults (``chaos_faults``), in a seeded order: Redis
   SIGKILLed and restarted on the same data dir after ``--redis-down-s`` (5 s) and once after
   ``--redis-long-s`` (60 s); Redis's disk filled until it refuses to store, kept full
   ``--disk-full-s`` (20 s), then freed (needs root for the tmpfs; ``--disk-mb 0``: no disk
   fault); every sandbox run that starts within ``--sandbox-kill-s`` (8 s) SIGKILLed from outside
   (a run lost twice is ``SandboxUnavailable``: the story pauses until the sandbox runs again);
   the orchestrator, the council, an agent and the sandbox supervisor killed (``ray.kill``: Ray
   restarts them); the model replica SIGKILLed (in every 5th story, ``--llm-every``,
   architect-1 calls a real SmolLM2-135M on Serve, ``local-smollm2``; every other call is
   scripted); a second Ray node, which hosts the fleet's actors (the actor-placement setting of
   ``fleet.settings``), SIGKILLed whole (its actors restart on the head). A fault "ends" when
   its cause is gone: Redis restarted, space freed, the runs killed, the actor or node killed.
2. ``chaos_head`` (``--no-head``: skipped): a private ``fleet up --model scripted`` stack,
   stories submitted and followed by real ``fleet run`` processes, then ``fleet down`` /
   ``fleet up`` under them; each follower's exit code is checked against docs/cli.md (0 DONE
   with ``--auto-approve``, 3 parked without it, 6 past a ``--timeout`` shorter than the
   restart, 2 following a story that does not exist).

RESULT stories_terminal_share: stories that reached ``story.done`` / the stories that should
    (part 1's N and part 2's ``--auto-approve`` ones) (goal 1.0)
RESULT events_lost: event ids seen that are not in the final timelines, plus every proposal,
    critique, ballot and evidence of a stored council result with no event of its own
    (``fleet.council.consistency.missing_events``) (goal 0)
RESULT events_duplicated: stream entries with an id seen before, plus FSM transitions beyond
    the exact path of a done story (goal 0)
RESULT cli_exit_codes_correct: followers whose exit code is docs/cli.md's for their path /
    followers (goal 1.0; -1 with ``--no-head``)
RESULT recovery_s_p95: p95 over (fault, affected story) of the time from the fault's end to the
    story's next event (part 2: from ``fleet up`` returning) (goal < 30 s)
RESULT recovery_s_p95_moving: the same over part 1's stories that were moving when the fault
    hit (an event in the 10 s before it) (informational)
RESULT recovery_s_p95_stored: part 1's, with each event's time taken from its Redis stream
    entry id instead of when the observer polled it (informational)
RESULT faults_without_stories: faults injected when no story was in flight (goal 0 for a
    valid run)
The diagnosis printed before the RESULT lines gives, per fault and per fault kind, the
recovery distribution, and the 20 slowest (fault, story) pairs with the story's last event
before the fault (what it was waiting on) and its next one. ``--phantom`` is the control: the
same schedule and measurement with nothing injected; ``--trace FILE`` writes every event seen
and the faults as JSON. Time on 2 shared cores: see benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_chaos.py [--stories 20] [--seed 7] [--timeout 1500]
        [--no-node] [--no-llm] [--no-head] [--arrival-s 4] [--phantom]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(Path(__file__).resolve().parent)]
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

FAULTS = ("redis", "orchestrator", "council", "agent", "sandbox", "redis_long", "node", "llm",
          "disk", "sandbox_run")  # fmt: skip


def results(chaos: dict[str, Any], head: dict[str, Any] | None) -> dict[str, float]:
    """The RESULT lines of both parts together."""
    from chaos_checks import p95_of

    head = head or {}
    should = chaos["stories"] + head.get("expected_done", 0)
    codes = head.get("codes", 0)
    return {
        "stories_terminal_share": round((chaos["done"] + head.get("done", 0)) / should, 3),
        "events_lost": chaos["events_lost"] + head.get("events_lost", 0),
        "events_duplicated": chaos["events_duplicated"] + head.get("events_duplicated", 0),
        "cli_exit_codes_correct": round(head["codes_correct"] / codes, 3) if codes else -1.0,
        "recovery_s_p95": p95_of(chaos["recovery"] + head.get("recovery", [])),
        "recovery_s_p95_moving": p95_of(chaos["moving"]),
        "recovery_s_p95_stored": p95_of(chaos["stored"]),
        "faults_without_stories": chaos["faults_without_stories"],
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--stories", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--timeout", type=float, default=1500.0)
    p.add_argument("--redis-down-s", type=float, default=5.0)
    p.add_argument("--redis-long-s", type=float, default=60.0, help="the long Redis outage")
    p.add_argument("--disk-mb", type=int, default=256, help="Redis's tmpfs (0: no disk fault)")
    p.add_argument("--disk-full-s", type=float, default=20.0)
    p.add_argument("--sandbox-kill-s", type=float, default=8.0,
                   help="every sandbox run starting within this window is SIGKILLed")  # fmt: skip
    p.add_argument("--gap-s", type=float, nargs=2, default=(8.0, 20.0))
    p.add_argument("--arrival-s", type=float, default=8.0,
                   help="seconds between story submissions (0: all at once)")  # fmt: skip
    p.add_argument("--no-node", dest="node", action="store_false", help="no worker node fault")
    p.add_argument("--no-llm", dest="llm", action="store_false",
                   help="no model replica (architect-1 and the llm fault left out)")  # fmt: skip
    p.add_argument("--llm-every", type=int, default=5,
                   help="every Nth story's architect calls the real model (the rest: scripted)")  # fmt: skip
    p.add_argument("--no-head", dest="head", action="store_false",
                   help="no head restart under `fleet run` followers (part 2)")  # fmt: skip
    p.add_argument("--head-stories", type=int, default=3, help="part 2's --auto-approve stories")
    p.add_argument("--head-after-s", type=float, default=8.0,
                   help="part 2: seconds after submission before the restart")  # fmt: skip
    p.add_argument("--trace", help="write every event seen and the faults to this JSON file")
    p.add_argument("--phantom", action="store_true",
                   help="control run: the same schedule measured, nothing injected")  # fmt: skip
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    from chaos_stack import Chaos

    args = parse(argv)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
    chaos = Chaos(args, tmp)
    try:
        part1 = chaos.run(list(FAULTS))
    finally:
        chaos.close()
    print(f"== part 1 took {time.monotonic() - started:.0f}s", flush=True)
    part2 = None
    if args.head and not args.phantom:
        from chaos_head import restart_under_followers

        t0 = time.monotonic()
        part2 = restart_under_followers(tmp / "head", stories=args.head_stories,
                                        after_s=args.head_after_s)  # fmt: skip
        print(f"== part 2 took {time.monotonic() - t0:.0f}s", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)  # kept when a part failed: its logs tell why
    print(f"== total {time.monotonic() - started:.0f}s", flush=True)
    for key, value in results(part1, part2).items():
        print(f"RESULT {key} {value}")


if __name__ == "__main__":
    main()
