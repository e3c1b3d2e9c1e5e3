"""Schema of cluster.yaml: the KubeRay deployment (secrets by reference only)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from fleet.config.base import Schema
from fleet.config.stack import GraphConfig
from fleet.settings import env_name

# ----------------------------------------------------------------------------- cluster.yaml

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_QUANTITY = r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# Shapes of real credentials (OpenAI, Hugging Face, GitHub, Slack, AWS, JWT/PEM): never inline.
_CREDENTIAL = r"(://[^/\s:@]*:[^/\s@]+@|sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.|-----BEGIN)"
_SECRETISH_NAME = r"(TOKEN|PASSWORD|PASSWD|SECRET|API_KEY|APIKEY|CREDENTIAL|PRIVATE_KEY)"


def _no_credential(value: str, where: str) -> str:
    if re.search(_CREDENTIAL, value):
        raise ValueError(
            f"{where} looks like an inline credential; reference a Kubernetes Secret instead"
        )
    return value


class SecretRef(Schema):
    """A key in a Kubernetes Secret; the value itself never appears in config."""

    secret: str = Field(
        pattern=_DNS_LABEL, max_length=253, description="Secret name in the namespace"
    )
    key: str = Field(
        pattern=r"^[-._a-zA-Z0-9]+$", max_length=253, description="data key inside the Secret"
    )

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
    """A pod toleration, so worker pods may land on tainted nodes (e.g. a GPU pool)."""

    key: str = Field(description="taint key, e.g. nvidia.com/gpu")
    operator: Literal["Exists", "Equal"] = Field("Exists", description="Exists ignores value")
    value: str | None = Field(None, description="taint value when operator is Equal")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="taint effect to tolerate; None tolerates every effect"
    )


class HeadSpec(Schema):
    """The Ray head: GCS, dashboard, Serve controller. It advertises num-cpus 0 so no agent work lands on it."""

    cpu: str = Field(
        "2", pattern=_QUANTITY, description="CPU request and limit (Kubernetes quantity)"
    )
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
        None,
        validate_default=True,
        description="GPUs per pod (the gpu_resource limit); required, >= 1",
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

    mode: Literal["token", "disabled"] = Field(
        "token", description="token keeps Ray's ports authenticated"
    )
    secret: str | None = Field(
        None,
        pattern=_DNS_LABEL,
        description="Secret with key auth_token; None: the operator generates one",
    )


class Autoscaling(Schema):
    """The KubeRay in-tree Ray autoscaler."""

    enabled: bool = Field(True, description="KubeRay in-tree autoscaler (enableInTreeAutoscaling)")
    idle_timeout_s: int = Field(300, ge=0, description="seconds before an idle worker is removed")


class GcsFaultTolerance(Schema):
    """External Redis that keeps the GCS state when the head restarts."""

    redis_address: str = Field(
        pattern=r"^[^\s:]+:[0-9]{1,5}$", description="host:port of the Redis"
    )
    password: SecretRef | None = Field(None, description="Secret key holding the Redis password")


class ServeAppSpec(Schema):
    """One Ray Serve application of the RayService: its builder and HTTP route."""

    import_path: str = Field(
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="module:builder"
    )
    route_prefix: str = Field(pattern=r"^/", description="HTTP route prefix on the Serve proxy")


class LlmAppSpec(ServeAppSpec):
    """The model-serving Serve application and the vLLM models it serves."""

    models: tuple[str, ...] = Field(
        min_length=1, description="vllm models from models.yaml to serve"
    )


class ServeSpec(Schema):
    """The RayService's Serve applications: the gateway and the model app."""

    gateway: ServeAppSpec = Field(description="the REST/SSE gateway app")
    llm: LlmAppSpec = Field(description="the model-serving app (ray.serve.llm vLLM configs)")


class BatchJobSpec(Schema):
    """The batch RayJob: a backlog run on its own job cluster."""

    name: str = Field("backlog", pattern=_DNS_LABEL, description="suffix of the RayJob name")
    backlog: str = Field(
        "../cluster/backlog.yaml",
        description="backlog file (relative to the config directory) the renderer ships in a "
        "ConfigMap mounted at /app/backlog on the job's head; the entrypoint runs it",
    )
    entrypoint: str = Field(
        "fleet backlog /app/backlog/backlog.yaml",
        min_length=1,
        description="command the RayJob runs (a `fleet` command: `fleet backlog FILE` runs a "
        f"backlog through the gateway at ${env_name('gateway_url')})",
    )
    ttl_seconds_after_finished: int = Field(600, ge=0, description="keep the job cluster this long")
    active_deadline_seconds: int | None = Field(None, gt=0, description="kill the job after this")


class SandboxK8sSpec(Schema):
    """Sandbox runs as Kubernetes Jobs: deny-all egress, no service-account token."""

    backend: Literal["bwrap", "k8s_job"] = Field(
        "k8s_job", description="sandbox backend of the supervisor on the cluster (fleet.yaml's)"
    )
    workspace_claim: str = Field(
        "swe-fleet-workspaces",
        pattern=_DNS_LABEL,
        description="ReadWriteMany PersistentVolumeClaim (rendered) holding the workspaces",
    )
    workspace_size: str = Field("50Gi", pattern=_QUANTITY, description="size of that claim")
    storage_class: str | None = Field(None, description="storageClassName of the claim")
    workspace_root: str = Field(
        "/data",
        pattern=r"^/",
        description="where the claim is mounted on CPU workers and in sandbox Job pods",
    )
    supervisor_service_account: str = Field(
        "swe-fleet-sandbox-supervisor", pattern=_DNS_LABEL, description="SA of the CPU workers"
    )
    pod_labels: dict[str, str] = Field(
        default_factory=lambda: {"swe-fleet.io/sandbox": "true"},
        description="labels every sandbox Job pod carries (the NetworkPolicy selects them)",
    )


class OrchestratorSpec(Schema):
    """The orchestrator the gateway's start-up creates (its settings go into the Serve config)."""

    members: tuple[str, ...] = Field(
        ("developer-1", "qa-1", "architect-1"), min_length=1, description="council members"
    )
    rounds: int = Field(1, ge=0, description="critique/revise rounds per council")
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
        description="patch councils: how many times each developer fixes its own failing "
        "candidate from its test output before the council compares (0: no debugging)",
    )
    distinguish: bool = Field(
        True,
        description="patch councils: passing candidates that differ run on QA's distinguishing "
        "inputs, ballots are asked only where the evidence cannot decide, and critiques only once "
        "a candidate passes",
    )
    resample_failing: bool = Field(
        False,
        description="patch councils: while no candidate passes the whole evidence suite, each "
        "developer proposes afresh (hot, a new seed) at the revise step instead of revising its "
        "failing candidate",
    )
    critique: bool = Field(
        False,
        description="patch councils with distinguish: true: critics review the candidates once one "
        "passes the whole evidence suite; false: no critiques (revisions work from the evidence)",
    )
    data_dir: str = Field(
        "/data/swe-fleet",
        pattern=r"^/",
        description="workspaces and archives (under sandbox.workspace_root, on the shared claim)",
    )


class ClusterConfig(Schema):
    """A KubeRay deployment of the fleet (rendered by ``fleet cluster render``)."""

    name: str = Field(pattern=_DNS_LABEL, max_length=40, description="RayService/RayCluster name")
    namespace: str = Field(pattern=_DNS_LABEL, max_length=63, description="Kubernetes namespace")
    image: str = Field(
        min_length=1, description="fleet image (CPU variant) for head and CPU workers"
    )
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
    gcs_fault_tolerance: GcsFaultTolerance | None = Field(
        None, description="external Redis for GCS FT"
    )
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict, description="env var -> Secret key (model tokens, PO API tokens)"
    )
    env: dict[str, str] = Field(default_factory=dict, description="plain, non-secret env vars")
    redis_url: str = Field(
        pattern=r"^rediss?://",
        description="Redis + FalkorDB (timeline and graph) the gateway and actors use",
    )
    serve: ServeSpec = Field(description="Serve applications of the RayService")
    job: BatchJobSpec = Field(description="the batch RayJob (backlog run)")
    sandbox: SandboxK8sSpec = Field(SandboxK8sSpec(), description="sandbox Jobs on the cluster")
    graph: GraphConfig = Field(
        GraphConfig(), description="decision graph (falkordb: in the Redis at redis_url)"
    )
    orchestrator: OrchestratorSpec = Field(
        OrchestratorSpec(), description="the orchestrator the Serve config brings up"
    )

    @field_validator("redis_url")
    @classmethod
    def _url_not_secret(cls, url: str) -> str:
        return _no_credential(url, "redis_url")

    @field_validator("env")
    @classmethod
    def _env_not_secret(cls, env: dict[str, str]) -> dict[str, str]:
        for name, value in env.items():
            if re.search(_SECRETISH_NAME, name.upper()):
                raise ValueError(
                    f"env {name} looks like a secret; move it to secrets: {{secret, key}}"
                )
            _no_credential(value, f"env {name}")
        return env

    @model_validator(mode="after")
    def _distinct_groups(self) -> ClusterConfig:
        if self.cpu_workers.name == self.gpu_workers.name:
            raise ValueError(
                f"cpu_workers and gpu_workers share the name {self.cpu_workers.name!r}"
            )
        if self.serve.gateway.route_prefix == self.serve.llm.route_prefix:
            raise ValueError("serve.gateway and serve.llm need different route prefixes")
        return self
