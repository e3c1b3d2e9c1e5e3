"""The gateway + orchestrator on the real test cluster, shared by tests/serve and tests/integration.

``start_stack`` deploys a fresh orchestrator actor (unique name and event-log prefix,
so tests never see each other's stories) and the gateway Serve app on a free port.
``doubles_factory`` swaps the council and the workspace runner for small doubles driven
by markers in the story title, for tests about orchestration itself:
``[fail]`` every build's tests fail; ``[fix]`` the first attempt fails, later ones pass;
``[slow]`` every council takes 1 s.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from fleet.coach import score_story
from fleet.config import load
from fleet.contracts import Deliberation, Proposal, WorkspaceReport
from fleet.orchestrator.planning import plan_from_criteria
from fleet.orchestrator.services import Services, summary_docs
from fleet.rigor import evaluate

PASSING = WorkspaceReport(build_ok=True, unit_passed=4, coverage=85.0)
FAILING = WorkspaceReport(build_ok=True, unit_passed=1, unit_failed=3, coverage=20.0)


class DoubleCouncil:
    def deliberate(self, story, task, *, deliberation_id, attempt, findings):
        if "[slow]" in story.title:
            time.sleep(1.0)
        p = Proposal(
            id=f"{deliberation_id}.p1",
            deliberation_id=deliberation_id,
            author="developer-1",
            role="developer",
            content=f"change for {task.description}",
        )
        return Deliberation(
            id=deliberation_id,
            story_id=story.id,
            task_id=task.id,
            rounds=1,
            members=("developer-1",),
            proposals=(p,),
            winner=p.id,
        )


class DoubleExecutor:
    def execute(self, story, task, winner, *, attempt):
        if "[fail]" in story.title or ("[fix]" in story.title and attempt == 0):
            return FAILING
        return PASSING


def doubles_factory(settings: Any, log: Any) -> Services:
    return Services(
        score=score_story,
        plan=plan_from_criteria,
        council=DoubleCouncil(),
        executor=DoubleExecutor(),
        gate=partial(evaluate, config=load("rigor.yaml")),
        document=summary_docs,
    )


GOOD_STORY = {
    "title": "Add a slugify helper to the text utilities",
    "description": "As a blog author I want titles turned into URL slugs so that links are readable.",
    "acceptance_criteria": [
        "slugify('Hello World') returns 'hello-world'",
        "slugify removes characters that are not letters, digits or dashes",
    ],
    "rigor": "L1",
}


@dataclass
class Stack:
    base_url: str
    tokens: dict[str, str]
    name: str
    namespace: str
    prefix: str
    redis_url: str
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, role: str = "po") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def serve_port(ray_mod: Any) -> int:
    """Start Serve's proxy once per cluster on a free loopback port."""
    from ray import serve

    from cluster.graphserver import free_port

    port = getattr(serve_port, "port", None)
    if port is None:
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        # Serve keeps the first proxy's options: read back the port actually in use.
        from serve_apps.llm.app import proxy_address

        port = proxy_address()[1]
        serve_port.port = port  # type: ignore[attr-defined]
    return port


def start_stack(
    ray_mod: Any,
    redis_url: str,
    *,
    factory: Any = doubles_factory,
    app: str | None = None,
    **settings: Any,
) -> Stack:
    import fleet_stack
    from ray import cloudpickle, serve

    from actors.orchestrator import spawn_orchestrator
    from actors.wiring import OrchestratorSettings
    from serve_apps.gateway import build_app

    cloudpickle.register_pickle_by_value(fleet_stack)
    port = serve_port(ray_mod)
    suffix = uuid.uuid4().hex[:8]
    name, namespace, prefix = f"orchestrator-{suffix}", "swe-fleet-test", f"t{suffix}"
    cfg = OrchestratorSettings(
        redis_url=redis_url, prefix=prefix, graph=f"g{suffix}", namespace=namespace, **settings
    )
    actor = spawn_orchestrator(cfg, name=name, namespace=namespace, services_factory=factory)
    ray_mod.get(actor.check_health.remote())
    tokens = {"po": f"po-{suffix}", "viewer": f"viewer-{suffix}"}
    # Named principals beside the po/viewer tokens: two POs and an admin (story ownership tests).
    named = {"alice": "po", "bob": "po", "admin": "admin"}
    principals = [{"name": n, "role": r, "token": f"{n}-{suffix}"} for n, r in named.items()]
    args = {
        "redis_url": redis_url,
        "prefix": prefix,
        "graph": f"g{suffix}",
        "orchestrator": name,
        "namespace": namespace,
        "tokens": tokens,
        "principals": principals,
        "max_body_bytes": 20_000,
    }
    serve.run(build_app(args), name=app or f"gw-{suffix}", route_prefix=f"/{suffix}")
    tokens |= {p["name"]: p["token"] for p in principals}
    return Stack(f"http://127.0.0.1:{port}/{suffix}", tokens, name, namespace, prefix, redis_url)


def stop_stack(ray_mod: Any, stack: Stack) -> None:
    from ray import serve

    suffix = stack.base_url.rsplit("/", 1)[1]
    serve.delete(f"gw-{suffix}")
    # The orchestrator and every detached actor it created for this stack (council, agents,
    # context, sandbox supervisor, workspace executor: their names carry the suffix). Left
    # running, they piled up over the suite (~150-220 MB each, ~5 per stack).
    from ray.util import list_named_actors

    for actor in list_named_actors(all_namespaces=True):
        if actor["namespace"] == stack.namespace and suffix in actor["name"]:
            with contextlib.suppress(ValueError):
                ray_mod.kill(ray_mod.get_actor(actor["name"], actor["namespace"]), no_restart=True)


def wait_for(
    client: Any, stack: Stack, story_id: str, predicate: Any, timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(
            f"{stack.base_url}/stories/{story_id}", headers=stack.headers("viewer")
        ).json()
        if predicate(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"story {story_id} never matched; last: {body}")


def council_that_votes(tmp: Any) -> str:
    """A copy of ``config/`` whose council always asks for ballots (``distinguish`` off), for
    ``FLEET_CONFIG_DIR``. With distinguishing inputs on, the evidence decides the sample story
    (its candidates pass and behave alike) and no vote is cast: tests of the vote metrics need
    one. Returns the directory."""
    import shutil
    from pathlib import Path

    import yaml

    from fleet.config import config_dir

    dest = Path(tmp) / "config"
    shutil.copytree(config_dir(), dest)
    fleet_yaml = dest / "fleet.yaml"
    cfg = yaml.safe_load(fleet_yaml.read_text())
    cfg["council"]["distinguish"] = False
    fleet_yaml.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(dest)
