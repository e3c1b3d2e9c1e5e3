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
        description="graph store; the local stack runs FalkorDB (Neo4j is not wired here yet)",
    )
    name: str = Field("fleet", description="graph name (FalkorDB) or database (Neo4j)")
    neo4j_uri: str | None = Field(None, description="neo4j:// or bolt:// URI when backend is neo4j")
    neo4j_user_env: str = Field("NEO4J_USER", description="env var holding the Neo4j user name")
    neo4j_password_env: str = Field(
        "NEO4J_PASSWORD", description="env var holding the Neo4j password"
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
    model: str = Field("local-qwen-coder", description="models.yaml entry the embedded app serves")


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
    limits: Limits = Field(Limits(), description="retention, TTL and size limits")
