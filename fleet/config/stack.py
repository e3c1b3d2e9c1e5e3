"""Schema of fleet.yaml: the embedded stack (ports, data directory, limits)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from fleet.config.base import Schema

# ----------------------------------------------------------------------------- fleet.yaml


class Endpoint(Schema):
    """A host and TCP port a local service listens on."""

    host: str = Field(
        "127.0.0.1", description="address to bind and connect to (loopback by default)"
    )
    port: int = Field(ge=1, le=65535, description="TCP port")


class RayConfig(Schema):
    """The local Ray head that ``fleet up`` starts: namespace, ports and resources."""

    namespace: str = Field("swe-fleet", description="Ray namespace of the fleet's named actors")
    dashboard: Endpoint = Field(
        Endpoint(port=8265), description="Ray dashboard and job API address"
    )
    gcs_port: int = Field(
        6380, ge=1, le=65535, description="port of the Ray GCS (the head's address)"
    )
    num_cpus: int = Field(4, ge=1, description="logical CPUs the local head advertises")
    object_store_memory: int = Field(
        200_000_000, gt=0, description="bytes of the head's object store"
    )


class GraphConfig(Schema):
    """The decision graph store: FalkorDB in the local Redis, or Neo4j."""

    backend: Literal["falkordb", "neo4j"] = Field(
        "falkordb",
        description="graph store, built by fleet/adapters/registry.py: falkordb (in the Redis at "
        "redis_url, what `fleet up` runs) or neo4j (at neo4j_uri)",
    )
    name: str = Field("fleet", description="graph name (FalkorDB) or database (Neo4j)")
    neo4j_uri: str | None = Field(None, description="neo4j:// or bolt:// URI when backend is neo4j")
    neo4j_user_env: str = Field("NEO4J_USER", description="env var holding the Neo4j user name")
    neo4j_password_env: str = Field(
        "NEO4J_PASSWORD", description="env var holding the Neo4j password"
    )


class K8sJobSandboxConfig(Schema):
    """Where the ``k8s_job`` sandbox backend creates its Jobs and how they see the workspace."""

    namespace: str = Field("swe-fleet", description="Kubernetes namespace of the sandbox Jobs")
    image: str | None = Field(
        None, description="image of a run's container when its TaskSpec names none (fleet image)"
    )
    workspace_claim: str | None = Field(
        None, description="PersistentVolumeClaim holding the workspaces, shared with the supervisor"
    )
    workspace_root: str | None = Field(
        None,
        description="where that claim is mounted in the supervisor's pod; Job pods mount it at "
        "the same path, so workspace paths and artifacts (e.g. the JUnit report) match",
    )
    poll_s: float = Field(1.0, gt=0, description="seconds between Job status polls")


class SandboxConfig(Schema):
    """The sandbox backend the sandbox supervisor runs every TaskSpec on."""

    backend: Literal["bwrap", "k8s_job"] = Field(
        "bwrap",
        description="bwrap: bubblewrap on this machine; k8s_job: one Kubernetes Job per run",
    )
    k8s_job: K8sJobSandboxConfig = Field(
        K8sJobSandboxConfig(), description="options of the k8s_job backend"
    )


class Limits(Schema):
    """Retention, TTL and size limits of the local stack."""

    stream_maxlen: int = Field(
        100_000, gt=0, description="events kept per story stream (approximate trim)"
    )
    session_ttl_s: int = Field(86_400, gt=0, description="TTL of session scratch keys")
    max_body_bytes: int = Field(
        1_000_000, gt=0, description="largest request body the gateway accepts (413 above)"
    )


class LlmApp(Schema):
    """Where the model-serving Serve app lives on the shared Serve HTTP proxy (the gateway port)."""

    route_prefix: str = Field(
        "/llm", description="Serve route prefix; base URL is http://gateway<prefix>/v1"
    )
    model: str = Field(
        "local-qwen-coder",
        description="models.yaml entry the embedded app serves when the routing names no llama.cpp "
        "model (otherwise it serves every one the routing names, one engine each at one URL)",
    )


class CouncilSpec(Schema):
    """Who sits on the councils and how they decide: the story path's (``fleet up`` / ``fleet
    demo``) and the one the benchmark's ``council`` arm measures (``benchmarks/council_arms.py``
    reads this block of ``config/fleet.yaml``)."""

    members: tuple[str, ...] = Field(
        ("developer-1", "developer-2", "developer-3", "qa-1", "architect-1"),
        min_length=1,
        description="council members (role-number; developers propose patches, e.g. developer-1..3; "
        "devops-1/data-1 join by themselves when a task touches their areas)",
    )
    rounds: int = Field(1, ge=0, le=10, description="critique/revise rounds per council")
    settle_on_pass: bool = Field(
        True,
        description="patch councils also stop when a candidate passes the whole evidence suite "
        "(critique and revision only while none does); False: only on a supermajority",
    )
    qa_examples: bool = Field(
        True,
        description="patch councils: the QA members write their own examples of the task's "
        "functions, advisory evidence tests that rank the passing candidates and fail none",
    )
    debug_rounds: int = Field(
        0,
        ge=0,
        le=5,
        description="patch councils: each developer fixes its own failing candidate from its test "
        "output up to this many times before the council compares (0: no debugging)",
    )
    distinguish: bool = Field(
        True,
        description="patch councils: passing candidates that differ are run on QA's distinguishing "
        "inputs; ballots only where the evidence cannot decide, critiques only once a candidate "
        "passes",
    )
    resample_failing: bool = Field(
        False,
        description="patch councils: while no candidate passes the whole evidence suite, each "
        "developer proposes afresh (hot, a new seed) at the revise step instead of revising its "
        "failing candidate (off as measured: docs/council.md 4c)",
    )
    critique: bool = Field(
        False,
        description="patch councils with distinguish: true: critics review the candidates once one "
        "passes the whole evidence suite; false: no critiques, each reviser works from the test "
        "results and the differing outputs it already reads (off as measured: docs/council.md 4d)",
    )


class DeliveryConfig(Schema):
    """Where a story's opt-in push (``Story.push``) may go besides the repository's own remotes."""

    push_urls: tuple[str, ...] = Field(
        (),
        description="URL prefixes a story may push to although the repository has no such "
        "remote (a prefix ending in / or :, or an exact URL: https://git.example.com/team/); "
        "empty: only the repository's own remotes",
    )
    push_private: bool = Field(
        False,
        description="allow pushing to special-purpose addresses (loopback, private, link-local, "
        "shared 100.64.0.0/10 and the rest of the IANA registries): an internal git server",
    )


class FleetConfig(Schema):
    """Schema of fleet.yaml: the embedded single-machine stack (ports, data directory, limits)."""

    data_dir: str = Field(description="where the local stack keeps data and pidfiles (~ expanded)")
    redis: Endpoint = Field(
        description="the local Redis + FalkorDB server (event timeline and graph)"
    )
    gateway: Endpoint = Field(
        description="the Serve HTTP proxy: the REST/SSE gateway at / and the model app"
    )
    llm: LlmApp = Field(LlmApp(), description="the model-serving app on the gateway port")
    ray: RayConfig = Field(RayConfig(), description="the local Ray head")
    graph: GraphConfig = Field(GraphConfig(), description="the decision graph store")
    sandbox: SandboxConfig = Field(SandboxConfig(), description="the sandbox backend")
    limits: Limits = Field(Limits(), description="retention, TTL and size limits")
    council: CouncilSpec = Field(CouncilSpec(), description="the councils' members and rounds")
    delivery: DeliveryConfig = Field(
        DeliveryConfig(), description="where delivered branches may be pushed"
    )
