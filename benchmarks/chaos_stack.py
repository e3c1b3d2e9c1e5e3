"""The in-process stack ``bench_chaos.py`` runs its stories on, and its fault schedule.

Its own local Ray (``address="local"``), its own Redis+FalkorDB (AOF) on a small tmpfs (so the
disk can fill up), the real orchestrator, council, role agents, sandbox supervisor (bubblewrap)
and workspace runner; optionally a second Ray node hosting the fleet's actors and a real model
replica on Serve. Threads: the PO approving gates, an observer reading every timeline as it
grows, the stories arriving. ``inject`` applies one fault of ``chaos_faults`` and records it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import threading
import time
from pathlib import Path
from typing import Any

import chaos_checks
import chaos_faults
from chaos_faults import LLM_APP, Disk

GATES = ("scope", "design", "acceptance")
NODE_RESOURCE = "chaos_worker"
LLM_MODEL = "local-smollm2"  # the fastest real model to load again


class Chaos:
    def __init__(self, args: argparse.Namespace, data: Path) -> None:
        import ray

        from actors.orchestrator import spawn_orchestrator
        from actors.wiring import OrchestratorSettings
        from cluster.cli.stories import sample_repo
        from cluster.graphserver import GraphServer, free_port
        from fleet.adapters.redis_events import RedisEventLog

        self.args, self.data, self.ray = args, data, ray
        self.disk = Disk(data / "disk", args.disk_mb) if args.disk_mb else None
        graph = data / "disk" / "graph" if self.disk and self.disk.mounted else data / "graph"
        self.server = GraphServer(data_dir=graph, port=free_port())
        self.server.start()
        try:
            from cluster.rayhead import NODE_HEALTH

            ray.init(
                address="local",
                num_cpus=4,
                include_dashboard=False,
                log_to_driver=False,
                _system_config=dict(NODE_HEALTH),  # as `fleet up` starts its head
            )
        except Exception:  # an overloaded machine: the head timed out; leave no server behind
            self.server.stop()
            if self.disk is not None:
                self.disk.unmount()
            raise
        self.node = None
        if args.node:  # the fleet's actors prefer it (soft): they restart on the head when it dies
            from fault_tools import WorkerNode

            from actors.builder import PLACEMENT_ENV

            gcs = ray.get_runtime_context().gcs_address
            self.node = WorkerNode(gcs, data / "node", resource=NODE_RESOURCE)
            self.node.start(ray)
            os.environ[PLACEMENT_ENV] = NODE_RESOURCE
        self.prefix, self.ns = "chaos", "swe-fleet-chaos"
        members: tuple[str, ...] = ("developer-1", "qa-1")
        real: dict[str, Any] = {}
        if args.llm:  # architect-1 of every --llm-every-th story calls the model replica on Serve
            members += ("architect-1",)  # (the others' is scripted); the llm fault kills it
            real = {"llm_base_url": self.deploy_llm()}
        self.settings = OrchestratorSettings(
            redis_url=self.server.url,
            prefix=self.prefix,
            graph="chaos",
            namespace=self.ns,
            model="scripted",
            members=members,
            rounds=1,
            phase_timeout_s=60.0,
            data_dir=str(data / "fleet"),
            **real,
        )
        self.orch_name = "orchestrator-chaos"
        self.orch = spawn_orchestrator(self.settings, name=self.orch_name, namespace=self.ns)
        ray.get(self.orch.check_health.remote())
        self.log = RedisEventLog(self.server.url, prefix=self.prefix)
        self.repo = str(sample_repo(str(data)))
        self.ids = [f"chaos-{i:02d}" for i in range(args.stories)]
        self.seen: dict[str, set[str]] = collections.defaultdict(set)
        self.last_event: dict[str, list[float]] = collections.defaultdict(list)  # arrival times
        # (stored at, wall seconds from the stream entry id: Redis's own clock; type, actor)
        self.events: dict[str, list[tuple[float, str, str]]] = collections.defaultdict(list)
        self.faults: list[dict[str, Any]] = []
        self.submitted: list[str] = []
        self.trace: list[dict[str, Any]] = []  # every event seen (--trace)
        self.stop = threading.Event()

    def deploy_llm(self) -> str:
        """Serve's proxy on a free loopback port and the real model's app; its OpenAI base URL."""
        from ray import serve

        from cluster.graphserver import free_port
        from fleet.config import load
        from serve_apps.llm import deploy_llm

        serve.start(http_options={"host": "127.0.0.1", "port": free_port()})
        return str(deploy_llm(load("models.yaml"), LLM_MODEL, route_prefix=f"/{LLM_APP}",
                              app_name=LLM_APP))  # fmt: skip

    # ------------------------------------------------------------------ helpers
    def call(self, method: str, *args: Any) -> Any:
        """An orchestrator call that tolerates its restart and storage outages."""
        try:
            handle = self.ray.get_actor(self.orch_name, namespace=self.ns)
            return self.ray.get(getattr(handle, method).remote(*args), timeout=30)
        except Exception:
            return None

    def terminal(self) -> set[str]:
        done = set()
        for sid in self.ids:
            try:
                if any(e.type == "story.done" for _, e in self.log.read(sid)):
                    done.add(sid)
            except Exception:
                pass
        return done

    # ------------------------------------------------------------------ threads
    def po(self) -> None:
        from fleet.orchestrator import commands

        while not self.stop.wait(0.5):
            for sid in self.ids:
                try:
                    view = commands.load_view(self.log, sid)
                except Exception:
                    continue
                if view.parked and view.parked.gate in GATES and not view.done:
                    self.call("approve", sid, None, True, "po", "")

    def observe(self) -> None:
        after: dict[str, str] = {}
        while not self.stop.wait(0.3):
            for sid in self.ids:
                try:
                    got = self.log.read(sid, after=after.get(sid, "0"))
                except Exception:
                    continue
                now = time.monotonic()
                for entry, event in got:
                    after[sid] = entry
                    self.seen[sid].add(event.id)
                    self.last_event[sid].append(now)
                    stored = int(entry.split("-", 1)[0]) / 1000
                    self.events[sid].append((stored, event.type, event.actor))
                    if self.args.trace:
                        self.trace.append(
                            {"story": sid, "stored": stored, "at_ms": event.at_ms,
                             "type": event.type, "actor": event.actor, "argv": event.data.get("argv"),
                             "dur": getattr(event.payload, "duration_s", None)}
                        )  # fmt: skip

    def arrive(self, story: dict[str, Any]) -> None:
        """Submit the stories ``--arrival-s`` apart (0: all at once), so that the later faults
        of the schedule still find stories in flight on a fast machine."""
        for i, sid in enumerate(self.ids):
            if i and self.stop.wait(self.args.arrival_s):
                return
            real = self.args.llm and i % self.args.llm_every == 0
            story = {**story, "models": {"architect": LLM_MODEL} if real else {}}
            # as a client would: retry a submit that met a fault until the story exists
            while self.call("submit", {**story, "id": sid, "repo": self.repo}) is None:
                if self.exists(sid) or self.stop.wait(1.0):
                    break
            self.submitted.append(sid)

    def exists(self, sid: str) -> bool:
        try:
            return bool(self.log.read(sid))
        except Exception:
            return False

    def in_flight(self) -> list[str]:
        done = self.terminal()
        return [s for s in list(self.submitted) if s not in done]

    def await_flight(self, timeout: float = 30.0) -> None:
        """Until a story is in flight (a fault on no story measures nothing), or all arrived."""
        deadline = time.monotonic() + timeout
        while not self.in_flight() and len(self.submitted) < len(self.ids):
            if time.monotonic() > deadline:
                return
            time.sleep(0.2)

    def actor(self, name: str, timeout: float = 600.0) -> Any:
        """The named actor once it exists (the sandbox supervisor appears at the first build)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.ray.get_actor(name, namespace=self.ns)
            except ValueError:
                time.sleep(0.5)
        return None

    def inject(self, kind: str) -> None:
        """Fault ``kind`` (or, with ``--phantom``, the same instant with nothing injected)."""
        self.await_flight()
        affected = self.in_flight()
        start, wall = time.monotonic(), time.time()
        end = time.monotonic() if self.args.phantom else chaos_faults.inject(self, kind)
        if end is None:
            return
        moving = [s for s in affected if any(start - 10 <= t for t in self.last_event[s])]
        self.faults.append({"kind": kind, "start": start, "end": end, "wall_start": wall,
                            "wall_end": wall + (end - start), "affected": affected,
                            "moving": moving})  # fmt: skip
        print(f"  fault {kind}: {end - start:.1f}s, {len(affected)} stories in flight", flush=True)

    def run(self, faults: list[str]) -> dict[str, Any]:
        rng = random.Random(self.args.seed)
        rng.shuffle(faults)
        for t in (threading.Thread(target=self.po), threading.Thread(target=self.observe)):
            t.daemon = True
            t.start()
        from fleet.orchestrator.sample import SAMPLE_STORY

        started = time.monotonic()
        arrivals = threading.Thread(target=self.arrive, args=(SAMPLE_STORY,), daemon=True)
        arrivals.start()  # stories keep arriving while the faults are injected
        for kind in faults:
            time.sleep(rng.uniform(*self.args.gap_s))  # the schedule: seeded gaps between faults
            self.inject(kind)
        deadline = started + self.args.timeout
        while len(self.terminal()) < len(self.ids) and time.monotonic() < deadline:
            time.sleep(1.0)
        wall = time.monotonic() - started
        time.sleep(1.0)  # let the observer read the last events
        self.stop.set()
        return self.measure(wall)

    def measure(self, wall: float) -> dict[str, Any]:
        lost = duplicated = 0
        for sid in self.ids:
            events = [e for _, e in self.log.read(sid)]
            missing, twice, gaps = chaos_checks.timeline_faults(events, self.seen[sid])
            lost, duplicated = lost + missing, duplicated + twice
            for gap in gaps:
                print(f"  council event never stored: {sid} {gap}")
        recovery, moving = chaos_checks.recoveries(self.faults, self.last_event)
        stored = chaos_checks.diagnose(self.faults, self.events)
        if self.args.trace:
            Path(self.args.trace).write_text(
                json.dumps({"faults": self.faults, "events": self.trace}, indent=0)
            )
        done = len(self.terminal())
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        print(f"benchmark process CPU (driver, PO, observer): {cpu.ru_utime + cpu.ru_stime:.0f}s")
        idle = [f["kind"] for f in self.faults if not f["affected"]]
        print(f"stories: {done}/{len(self.ids)} done in {wall:.0f}s; faults: {len(self.faults)}")
        if idle:  # a fault that hit no story measures nothing: lower --arrival-s or --gap-s
            print(f"faults that found no story in flight: {', '.join(idle)}")
        return {
            "done": done, "stories": len(self.ids), "events_lost": lost,
            "events_duplicated": duplicated, "recovery": recovery, "moving": moving,
            "stored": stored, "faults_without_stories": len(idle),
        }  # fmt: skip

    def close(self) -> None:
        self.stop.set()
        try:
            if self.node is not None:
                self.node.stop()
            self.ray.shutdown()
        finally:
            self.server.stop()
            if self.disk is not None:
                self.disk.free()
                self.disk.unmount()
