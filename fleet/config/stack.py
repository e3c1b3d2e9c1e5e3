"""Schema of fleet.yaml: the embedded stack (ports, data directory, limits)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from fleet.config.base import Schema

# ----------------------------------------------------------------------------- fleet.yaml


class Endpoint(Schema):
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)


class RayConfig(Schema):
    namespace: str = "swe-fleet"
    dashboard: Endpoint = Endpoint(port=8265)
    gcs_port: int = Field(6380, ge=1, le=65535)
    num_cpus: int = Field(4, ge=1, description="logical CPUs the local head advertises")
    object_store_memory: int = Field(200_000_000, gt=0)


class GraphConfig(Schema):
    backend: Literal["falkordb", "neo4j"] = "falkordb"
    name: str = Field("fleet", description="graph name (FalkorDB) or database (Neo4j)")
    neo4j_uri: str | None = None
    neo4j_user_env: str = "NEO4J_USER"
    neo4j_password_env: str = "NEO4J_PASSWORD"


class Limits(Schema):
    stream_maxlen: int = Field(100_000, gt=0, description="events kept per story stream (approximate trim)")
    session_ttl_s: int = Field(86_400, gt=0, description="TTL of session scratch keys")
    cache_ttl_s: int = Field(3_600, gt=0, description="TTL of cached context packs")
    max_build_attempts: int = Field(3, ge=1)
    max_body_bytes: int = Field(1_000_000, gt=0)


class LlmApp(Schema):
    """Where the model-serving Serve app lives on the shared Serve HTTP proxy (the gateway port)."""

    route_prefix: str = Field("/llm", description="Serve route prefix; base URL is http://gateway<prefix>/v1")
    model: str = Field("local-smollm2", description="models.yaml entry the embedded app serves")


class FleetConfig(Schema):
    data_dir: str = Field(description="where the local stack keeps data and pidfiles (~ expanded)")
    redis: Endpoint
    gateway: Endpoint
    llm: LlmApp = LlmApp()
    ray: RayConfig = RayConfig()
    graph: GraphConfig = GraphConfig()
    limits: Limits = Limits()
