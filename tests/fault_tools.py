"""Helpers of the fault-injection tests (tests/integration/test_faults_*.py, bench_chaos):
bounded waits (never a blind sleep), real processes found by their title, PO gate approvals."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

FSM_PATH = [
    ("BACKLOG", "DRAFT"),
    ("DRAFT", "DESIGN"),
    ("DESIGN", "BUILD"),
    ("BUILD", "TEST"),
    ("TEST", "DOCS"),
    ("DOCS", "DONE"),
]
GATES = ("scope", "design", "acceptance")


def until(predicate: Any, timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = predicate()
        except Exception:  # the thing polled may itself be restarting
            got = None
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def pids_titled(prefix: str) -> list[int]:
    """PIDs of processes whose command line starts with ``prefix`` (Ray names its workers
    ``ray::<Class>`` / ``ray::ServeReplica:<app>:<deployment>``). Use a unique prefix."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith(prefix):
            out.append(int(proc.name))
    return sorted(out)


def sigkill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def story(client: Any, stack: Any, story_id: str) -> dict[str, Any]:
    r = client.get(f"{stack.base_url}/stories/{story_id}", headers=stack.headers("viewer"))
    r.raise_for_status()
    return r.json()


def approve_until_done(client: Any, stack: Any, story_id: str, timeout: float = 300.0) -> dict:
    """Approve the PO gates until the story is done or parked elsewhere; fail after ``timeout``."""

    def step() -> dict[str, Any] | None:
        body = story(client, stack, story_id)
        if body["outcome"]:
            return body
        gate = (body["parked"] or {}).get("gate")
        if gate in GATES:
            client.post(
                f"{stack.base_url}/stories/{story_id}/approvals",
                json={"approved": True},
                headers=stack.headers(),
            )
        elif gate:
            return body
        return None

    return until(step, timeout, f"story {story_id} to finish", every=0.5)


def events(client: Any, stack: Any, story_id: str) -> list[dict[str, Any]]:
    """The story's timeline as the API serves it (the SSE stream, not followed)."""
    r = client.get(
        f"{stack.base_url}/stories/{story_id}/events",
        params={"follow": "false"},
        headers=stack.headers("viewer"),
    )
    r.raise_for_status()
    frames = [f for f in r.text.split("\n\n") if f.startswith("id:")]
    return [json.loads(f.split("data: ", 1)[1]) for f in frames]


def event_ids(client: Any, stack: Any, story_id: str) -> list[str]:
    return [e["id"] for e in events(client, stack, story_id)]


def approve_all_until_done(
    client: Any, stack: Any, story_ids: list[str], timeout: float = 600.0
) -> dict[str, dict[str, Any]]:
    """``approve_until_done`` for several stories at once (the PO of a batch); tolerates
    outages of the API while it polls (it just polls again)."""
    finished: dict[str, dict[str, Any]] = {}

    def step() -> bool:
        for sid in story_ids:
            if sid in finished:
                continue
            try:
                body = story(client, stack, sid)
                gate = (body["parked"] or {}).get("gate")
                if body["outcome"] or (gate and gate not in GATES):
                    finished[sid] = body
                elif gate:
                    client.post(
                        f"{stack.base_url}/stories/{sid}/approvals",
                        json={"approved": True},
                        headers=stack.headers(),
                    )
            except Exception:  # the API is down or restarting: poll again
                continue
        return len(finished) == len(story_ids)

    until(step, timeout, f"stories {story_ids} to finish", every=0.5)
    return finished


def assert_clean_finish(client: Any, stack: Any, story_id: str, seen_before: list[str]) -> None:
    """Done on the exact FSM path, every event seen before the fault still there, none twice."""
    body = story(client, stack, story_id)
    assert body["outcome"] == "done", (story_id, body["parked"], body["transitions"])
    assert [(t["from"], t["to"]) for t in body["transitions"]] == FSM_PATH, body["transitions"]
    after = events(client, stack, story_id)
    ids = [e["id"] for e in after]
    assert len(ids) == len(set(ids)), f"{story_id}: an event was stored twice"
    assert set(seen_before) <= set(ids), f"{story_id} lost: {set(seen_before) - set(ids)}"
    types = [e["type"] for e in after]
    assert types.count("story.transition") == 6 and types.count("story.done") == 1, types


# ---------------------------------------------------------------- a private `fleet up` stack


def private_stack_env(tmp: Path) -> dict[str, str]:
    """Environment for the real CLI on a private stack: free ports, its own data dir and Ray
    token (the head has token auth on, so the test's RAY_AUTH_MODE=disabled is dropped)."""
    from cluster.graphserver import free_port

    drop = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "FLEET_PO_TOKEN", "FLEET_VIEWER_TOKEN")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"FLEET_DATA_DIR": str(tmp / "data"), "RAY_AUTH_TOKEN_PATH": str(tmp / "ray_token")})
    for var in ("FLEET_REDIS_PORT", "FLEET_RAY_GCS_PORT", "FLEET_DASHBOARD_PORT"):
        env[var] = str(free_port())
    env["FLEET_GATEWAY_PORT"] = str(free_port())
    return env


def fleet_cli(env: dict[str, str], *argv: str, timeout: float = 400) -> tuple[int, str]:
    """Run ``fleet ARGV`` in its own process (its own Ray driver, as a user's shell would)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "cluster.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


# ---------------------------------------------------------------- a second Ray node


class WorkerNode:
    """A second Ray node on this machine joining a running head: ``ray start --block`` in a
    session of its own (so every process of the node - raylet, agents, the workers it starts -
    is found by session id and can be SIGKILLed together), loopback only, 0 CPUs and
    ``{resource: amount}`` (only actors that ask for it, or prefer it, land there)."""

    def __init__(self, gcs_address: str, temp_dir: Path, *, resource: str, amount: float = 4):
        self.gcs_address, self.temp_dir = gcs_address, temp_dir
        self.resource, self.amount = resource, amount
        self.proc: Any = None
        self.node_id: str | None = None

    def start(self, ray_mod: Any, timeout: float = 180.0) -> str:
        import subprocess

        from cluster.graphserver import free_port
        from cluster.rayhead import ray_cli

        self.temp_dir.mkdir(parents=True, exist_ok=True)
        ports = {
            "--dashboard-agent-listen-port": free_port(),
            "--dashboard-agent-grpc-port": free_port(),
            "--metrics-export-port": free_port(),
            "--runtime-env-agent-port": free_port(),
        }
        cmd = [
            ray_cli(),
            "start",
            "--address",
            self.gcs_address,
            "--node-ip-address",
            "127.0.0.1",
            "--num-cpus",
            "0",
            "--resources",
            json.dumps({self.resource: self.amount}),
            "--object-store-memory",
            "80000000",
            "--temp-dir",
            str(self.temp_dir),
            "--disable-usage-stats",
            "--block",
            *[str(a) for kv in ports.items() for a in kv],
        ]
        with (self.temp_dir / "ray-start.log").open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.node_id = until(lambda: self._alive(ray_mod), timeout, "the worker node to join")
        return self.node_id

    def _alive(self, ray_mod: Any) -> str | None:
        if self.proc.poll() is not None:
            tail = (self.temp_dir / "ray-start.log").read_text()[-2000:]
            raise AssertionError(f"ray start exited {self.proc.returncode}: {tail}")
        for n in ray_mod.nodes():
            if n["Alive"] and n["Resources"].get(self.resource):
                return str(n["NodeID"])
        return None

    def pids(self) -> set[int]:
        from cluster import proctree

        return proctree.members(self.proc.pid) if self.proc else set()

    def kill(self, ray_mod: Any, timeout: float = 90.0) -> set[int]:
        """SIGKILL every process of the node at once; wait until the head declares it dead."""
        victims = self.pids()
        self.kill_now(victims)
        self.wait_dead(ray_mod, timeout)
        return victims

    def kill_now(self, victims: set[int] | None = None) -> float:
        """SIGKILL every process of the node; return when they are gone (monotonic time of the kill)."""
        import contextlib

        from cluster import proctree

        victims = self.pids() if victims is None else victims
        killed_at = time.monotonic()
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                sigkill(pid)
        until(lambda: not [p for p in victims if proctree.alive(p)], 30, "the node's processes")
        self.proc.wait(timeout=10)
        return killed_at

    def wait_dead(self, ray_mod: Any, timeout: float = 90.0) -> float:
        """Wait until the head's GCS declares the node dead (its health checks fail)."""

        def dead() -> bool:
            return not any(n["Alive"] for n in ray_mod.nodes() if n["NodeID"] == self.node_id)

        until(dead, timeout, "the head to declare the worker node dead")
        return time.monotonic()

    def stop(self) -> None:
        from cluster import proctree

        if self.proc is not None and self.proc.poll() is None:
            proctree.stop_session(self.proc.pid, grace=10)
