"""Render the fleet's KubeRay custom resources (RayCluster, RayService, RayJob) from config.

Everything is a plain dict shaped exactly like the YAML a platform engineer would write; the
supporting core objects live in :mod:`cluster.kuberay_objects`, validation in
:mod:`cluster.kuberay_validate`. Inputs are ``config/cluster.yaml`` and ``config/models.yaml``.
"""

from __future__ import annotations

from typing import Any

import yaml

from fleet.config import ClusterConfig, ModelsConfig, VllmModel, WorkerGroup
from fleet.errors import ConfigError
from fleet.settings import env_name

API_VERSION = "ray.io/v1"
SERVE_PORT = 8000
DASHBOARD_PORT = 8265
# Custom Ray resource only CPU workers advertise: actors/builder.py prefers (softly) the nodes that
# have it, so the fleet's actors land on a CPU worker, not on the head or a GPU node, and move to
# a node that is left when their worker dies (see docs/faults.md).
CPU_WORKER_RESOURCE = "swe_fleet_cpu"
GPU_GROUP_LABEL = "swe-fleet.io/accelerator"
BACKLOG_MOUNT = "/app/backlog"  # the backlog ConfigMap on the RayJob's head
Obj = dict[str, Any]


def labels(cfg: ClusterConfig, component: str) -> dict[str, str]:
    """The labels every object of this deployment carries."""
    return {
        "app.kubernetes.io/name": "swe-fleet",
        "app.kubernetes.io/instance": cfg.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "swe-fleet",
    }


def meta(cfg: ClusterConfig, name: str, component: str) -> Obj:
    return {"name": name, "namespace": cfg.namespace, "labels": labels(cfg, component)}


def _env(cfg: ClusterConfig) -> list[Obj]:
    plain = [{"name": k, "value": v} for k, v in sorted(cfg.env.items())]
    plain.append({"name": "RAY_USAGE_STATS_ENABLED", "value": "0"})
    plain.append({"name": env_name("ray_namespace"), "value": cfg.ray_namespace})
    plain.append({"name": env_name("redis_url"), "value": cfg.redis_url})
    # actors/builder.py prefers the nodes advertising this resource for the fleet's actors
    plain.append({"name": env_name("actor_resource"), "value": CPU_WORKER_RESOURCE})
    refs = [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": r.secret, "key": r.key}}}
        for k, r in sorted(cfg.secrets.items())
    ]
    return plain + refs


def _resources(cpu: str, memory: str, extra: dict[str, str] | None = None) -> Obj:
    amounts = {"cpu": cpu, "memory": memory, **(extra or {})}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _container(cfg: ClusterConfig, name: str, image: str, resources: Obj, ports: list[Obj]) -> Obj:
    c: Obj = {
        "name": name,
        "image": image,
        "imagePullPolicy": cfg.image_pull_policy,
        "env": _env(cfg),
        "resources": resources,
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if ports:
        c["ports"] = ports
    return c


def head_group(cfg: ClusterConfig) -> Obj:
    ports = [
        {"containerPort": 6379, "name": "gcs-server"},
        {"containerPort": DASHBOARD_PORT, "name": "dashboard"},
        {"containerPort": 10001, "name": "client"},
        {"containerPort": SERVE_PORT, "name": "serve"},
    ]
    container = _container(
        cfg, "ray-head", cfg.image, _resources(cfg.head.cpu, cfg.head.memory), ports
    )
    return {
        "serviceType": cfg.head.service_type,
        # num-cpus 0: the head runs GCS, dashboard and the Serve controller, never agent work.
        "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
        "template": {
            "metadata": {"labels": labels(cfg, "ray-head")},
            "spec": {"containers": [container]},
        },
    }


def _group(group: WorkerGroup, *, replicas: int, min_replicas: int) -> Obj:
    return {
        "groupName": group.name,
        "replicas": replicas,
        "minReplicas": min_replicas,
        "maxReplicas": group.max_replicas,
    }


def cpu_group(cfg: ClusterConfig, *, for_job: bool = False) -> Obj:
    g = cfg.cpu_workers
    # A job cluster starts with no workers and lets the autoscaler add them.
    out = _group(
        g, replicas=0 if for_job else g.replicas, min_replicas=0 if for_job else g.min_replicas
    )
    container = _container(cfg, "ray-worker", cfg.image, _resources(g.cpu, g.memory), [])
    spec: Obj = {
        "serviceAccountName": cfg.sandbox.supervisor_service_account,
        "containers": [container],
    }
    if not for_job:  # the orchestrator's workspaces, shared with the sandbox Job pods
        sb = cfg.sandbox
        container["volumeMounts"] = [{"name": "workspaces", "mountPath": sb.workspace_root}]
        spec["volumes"] = [
            {"name": "workspaces", "persistentVolumeClaim": {"claimName": sb.workspace_claim}}
        ]
    if g.node_selector:
        spec["nodeSelector"] = dict(g.node_selector)
    if g.tolerations:
        spec["tolerations"] = [t.model_dump(exclude_none=True) for t in g.tolerations]
    out["rayStartParams"] = {"resources": f'"{{\\"{CPU_WORKER_RESOURCE}\\": 1000}}"'}
    out["template"] = {"metadata": {"labels": labels(cfg, "ray-cpu-worker")}, "spec": spec}
    return out


def gpu_group(cfg: ClusterConfig) -> Obj:
    g = cfg.gpu_workers
    out = _group(g, replicas=g.replicas, min_replicas=g.min_replicas)
    gpu = {g.gpu_resource: str(g.gpus)}
    container = _container(
        cfg, "ray-worker", cfg.gpu_image or cfg.image, _resources(g.cpu, g.memory, gpu), []
    )
    pod_labels = labels(cfg, "ray-gpu-worker")
    pod_labels[GPU_GROUP_LABEL] = g.accelerator_type or "gpu"
    spec: Obj = {"containers": [container], "automountServiceAccountToken": False}
    if g.node_selector:
        spec["nodeSelector"] = dict(g.node_selector)
    if g.tolerations:
        spec["tolerations"] = [t.model_dump(exclude_none=True) for t in g.tolerations]
    out["rayStartParams"] = {}
    out["template"] = {"metadata": {"labels": pod_labels}, "spec": spec}
    return out


def cluster_spec(cfg: ClusterConfig, *, with_gpus: bool = True, for_job: bool = False) -> Obj:
    """The ``RayClusterSpec`` shared by RayCluster, RayService and RayJob."""
    spec: Obj = {
        "rayVersion": cfg.ray_version,
        "enableInTreeAutoscaling": cfg.autoscaling.enabled,
        "headGroupSpec": head_group(cfg),
        "workerGroupSpecs": [cpu_group(cfg, for_job=for_job)]
        + ([gpu_group(cfg)] if with_gpus else []),
    }
    auth: Obj = {"mode": cfg.ray_auth.mode}
    if cfg.ray_auth.secret:
        auth["secretName"] = cfg.ray_auth.secret
    spec["authOptions"] = auth
    if cfg.autoscaling.enabled:
        spec["autoscalerOptions"] = {
            "upscalingMode": "Default",
            "idleTimeoutSeconds": cfg.autoscaling.idle_timeout_s,
        }
    ft = cfg.gcs_fault_tolerance
    if ft is not None and not for_job:
        opts: Obj = {"redisAddress": ft.redis_address}
        if ft.password is not None:
            ref = {"name": ft.password.secret, "key": ft.password.key}
            opts["redisPassword"] = {"valueFrom": {"secretKeyRef": ref}}
        spec["gcsFaultToleranceOptions"] = opts
    return spec


def vllm_models(cfg: ClusterConfig, models: ModelsConfig) -> list[tuple[str, VllmModel]]:
    """The vLLM models the llm app serves; unknown or non-vLLM names are config errors."""
    out = []
    for i, name in enumerate(cfg.serve.llm.models):
        key = f"serve.llm.models[{i}]"
        spec = models.models.get(name)
        if spec is None:
            valid = ", ".join(n for n, m in models.models.items() if isinstance(m, VllmModel))
            raise ConfigError(
                file="cluster.yaml",
                key=key,
                problem=f"unknown model {name!r}; vllm models: {valid}",
            )
        if not isinstance(spec, VllmModel):
            raise ConfigError(
                file="cluster.yaml", key=key, problem=f"model {name!r} is {spec.backend}, not vllm"
            )
        want = cfg.gpu_workers.accelerator_type
        if spec.accelerator_type and want and spec.accelerator_type != want:
            raise ConfigError(
                file="cluster.yaml",
                key=key,
                problem=f"model {name!r} wants accelerator {spec.accelerator_type} but gpu_workers has {want}",
            )
        out.append((name, spec))
    return out


def llm_routes(cfg: ClusterConfig, models: ModelsConfig) -> list[tuple[str, str]]:
    """``(model, route prefix)`` of each served vLLM model's llm app, in ``serve.llm.models``
    order: the first at the llm route prefix, any further one at ``<prefix>/<model>``."""
    prefix = cfg.serve.llm.route_prefix
    return [
        (name, prefix if i == 0 else f"{prefix.rstrip('/')}/{name}")
        for i, (name, _) in enumerate(vllm_models(cfg, models))
    ]


def fleet_settings(cfg: ClusterConfig, models: ModelsConfig) -> Obj:
    """The orchestrator's settings (``actors.settings.OrchestratorSettings``) on the cluster.

    The gateway app's start-up creates the orchestrator with them when it is not running, so
    the Serve config alone brings up the whole fleet (orchestrator, council, agents, sandbox).
    """
    routes = llm_routes(cfg, models)
    model, role_models = served_routing(models, [name for name, _ in routes])
    sb = cfg.sandbox
    k8s = {
        "namespace": cfg.namespace,
        "image": cfg.image,
        "workspace_claim": sb.workspace_claim,
        "workspace_root": sb.workspace_root,
    }
    return {
        "redis_url": cfg.redis_url,
        "namespace": cfg.ray_namespace,
        "graph": cfg.graph.model_dump(mode="json"),
        "sandbox": {"backend": sb.backend, "k8s_job": k8s},
        "model": model,
        "role_models": role_models,
        # each served model at its own llm app (the route serve_config deploys it at)
        "llm_base_url": {n: f"{gateway_url(cfg)}{r.rstrip('/')}/v1" for n, r in routes},
        "members": list(cfg.orchestrator.members),
        "rounds": cfg.orchestrator.rounds,
        "settle_on_pass": cfg.orchestrator.settle_on_pass,
        "qa_examples": cfg.orchestrator.qa_examples,
        "debug_rounds": cfg.orchestrator.debug_rounds,
        "distinguish": cfg.orchestrator.distinguish,
        "resample_failing": cfg.orchestrator.resample_failing,
        "critique": cfg.orchestrator.critique,
        "data_dir": cfg.orchestrator.data_dir,
    }


def served_routing(models: ModelsConfig, served: list[str]) -> tuple[str, dict[str, str]]:
    """models.yaml's routing kept to the models the cluster serves: the default model (routing's
    ``default`` choice if served, else the first served model) and each role's first served
    choice. A role none of whose choices is served gets the default."""

    def first(names: list[str]) -> str | None:
        return next((n for n in names if n in served), None)

    default = first(list(models.routing.get("default", []))) or served[0]
    roles = {
        role: name
        for role, names in models.routing.items()
        if role != "default" and (name := first(list(names))) and name != default
    }
    return default, roles


def serve_config(cfg: ClusterConfig, models: ModelsConfig) -> Obj:
    """The multi-application Serve config that becomes ``serveConfigV2``.

    The llm app builder (``serve_apps.llm:app_builder``) serves one models.yaml entry per app and
    turns it into a ``ray.serve.llm`` ``LLMConfig``: the first model answers at the llm route
    prefix, any further one at ``<prefix>/<model>``.
    """
    llm = cfg.serve.llm
    apps: list[Obj] = [
        {
            "name": "gateway",
            "import_path": cfg.serve.gateway.import_path,
            "route_prefix": cfg.serve.gateway.route_prefix,
            "args": {
                "redis_url": cfg.redis_url,
                "namespace": cfg.ray_namespace,
                "graph": cfg.graph.model_dump(mode="json"),
                "fleet": fleet_settings(cfg, models),
            },
        }
    ]
    for i, (name, route) in enumerate(llm_routes(cfg, models)):
        apps.append(
            {
                "name": "llm" if i == 0 else f"llm-{name}",
                "import_path": llm.import_path,
                "route_prefix": route,
                "args": {"model": name},
            }
        )
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": SERVE_PORT},
        "applications": apps,
    }


def raycluster(cfg: ClusterConfig) -> Obj:
    """A standalone RayCluster (interactive use, `ray job submit`) with the same groups."""
    return {
        "apiVersion": API_VERSION,
        "kind": "RayCluster",
        "metadata": meta(cfg, f"{cfg.name}-raycluster", "raycluster"),
        "spec": cluster_spec(cfg),
    }


def rayservice(cfg: ClusterConfig, models: ModelsConfig) -> Obj:
    """The long-running fleet: its cluster plus the gateway and llm Serve apps."""
    text = yaml.safe_dump(serve_config(cfg, models), sort_keys=False)
    return {
        "apiVersion": API_VERSION,
        "kind": "RayService",
        "metadata": meta(cfg, cfg.name, "rayservice"),
        "spec": {"serveConfigV2": text, "rayClusterConfig": cluster_spec(cfg)},
    }


def rayjob(cfg: ClusterConfig) -> Obj:
    """A batch backlog run on its own short-lived CPU cluster; it talks to the gateway over HTTP."""
    job = cfg.job
    spec: Obj = {
        "entrypoint": job.entrypoint,
        "submissionMode": "K8sJobMode",
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": job.ttl_seconds_after_finished,
        "runtimeEnvYAML": yaml.safe_dump(
            {"env_vars": {env_name("gateway_url"): gateway_url(cfg)}}, sort_keys=True
        ),
        "rayClusterSpec": _with_backlog(cfg, cluster_spec(cfg, with_gpus=False, for_job=True)),
    }
    if job.active_deadline_seconds:
        spec["activeDeadlineSeconds"] = job.active_deadline_seconds
    return {
        "apiVersion": API_VERSION,
        "kind": "RayJob",
        "metadata": meta(cfg, f"{cfg.name}-{job.name}", "rayjob"),
        "spec": spec,
    }


def backlog_configmap_name(cfg: ClusterConfig) -> str:
    return f"{cfg.name}-{cfg.job.name}"


def _with_backlog(cfg: ClusterConfig, spec: Obj) -> Obj:
    """The job's head mounts the backlog ConfigMap at ``BACKLOG_MOUNT`` (the entrypoint reads it)."""
    pod = spec["headGroupSpec"]["template"]["spec"]
    pod["volumes"] = [{"name": "backlog", "configMap": {"name": backlog_configmap_name(cfg)}}]
    for c in pod["containers"]:
        c["volumeMounts"] = [{"name": "backlog", "mountPath": BACKLOG_MOUNT, "readOnly": True}]
    return spec


def gateway_service_name(cfg: ClusterConfig) -> str:
    return f"{cfg.name}-gateway"


def gateway_url(cfg: ClusterConfig) -> str:
    return f"http://{gateway_service_name(cfg)}.{cfg.namespace}.svc.cluster.local:{SERVE_PORT}"
