"""Core Kubernetes objects that go with the KubeRay resources, and the full manifest set.

- a Namespace;
- ServiceAccount + Role + RoleBinding letting the sandbox supervisor (on the CPU workers) create,
  get, list, watch and delete Jobs and read their pods' logs — nothing else;
- a ServiceAccount for sandbox pods that mounts no token;
- a deny-all NetworkPolicy (no ingress, no egress) for every sandbox Job pod;
- a stable Service for the gateway in front of the RayService's serving pods;
- the ReadWriteMany PersistentVolumeClaim holding the workspaces (CPU workers and sandbox pods);
- the ConfigMap with the backlog the RayJob's entrypoint runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cluster.kuberay import (
    SERVE_PORT,
    backlog_configmap_name,
    gateway_service_name,
    labels,
    meta,
    raycluster,
    rayjob,
    rayservice,
)
from fleet.config import ClusterConfig, ModelsConfig

Obj = dict[str, Any]


def namespace(cfg: ClusterConfig) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": cfg.namespace, "labels": labels(cfg, "namespace")},
    }


def supervisor_rbac(cfg: ClusterConfig) -> list[Obj]:
    """The sandbox supervisor may manage Jobs and read pod logs in its namespace only."""
    sa = cfg.sandbox.supervisor_service_account
    rules = [
        {
            "apiGroups": ["batch"],
            "resources": ["jobs"],
            "verbs": ["create", "get", "list", "watch", "delete"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {  # the k8s_job sandbox gives every run its own deny-all NetworkPolicy
            "apiGroups": ["networking.k8s.io"],
            "resources": ["networkpolicies"],
            "verbs": ["create", "get", "delete"],
        },
    ]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta(cfg, sa, "sandbox-supervisor"),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(cfg, sa, "sandbox-supervisor"),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(cfg, sa, "sandbox-supervisor"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": cfg.namespace}],
        },
    ]


def sandbox_runner_account(cfg: ClusterConfig) -> Obj:
    """Sandbox pods run as this account, which never gets an API token mounted."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(cfg, f"{cfg.name}-sandbox-runner", "sandbox"),
        "automountServiceAccountToken": False,
    }


def sandbox_network_policy(cfg: ClusterConfig) -> Obj:
    """Deny all ingress and egress for sandbox pods: listing both types with no rules denies all."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(cfg, f"{cfg.name}-sandbox-deny-all", "sandbox"),
        "spec": {
            "podSelector": {"matchLabels": dict(cfg.sandbox.pod_labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [],
        },
    }


def gateway_service(cfg: ClusterConfig) -> Obj:
    """A stable name for the gateway: selects this fleet's pods that KubeRay marks as serving."""
    selector = {"ray.io/serve": "true", "app.kubernetes.io/instance": cfg.name}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(cfg, gateway_service_name(cfg), "gateway"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [
                {"name": "http", "port": SERVE_PORT, "targetPort": SERVE_PORT, "protocol": "TCP"}
            ],
        },
    }


def workspace_claim(cfg: ClusterConfig) -> Obj:
    """Workspaces: written by the orchestrator's runner, read and written by sandbox Job pods."""
    sb = cfg.sandbox
    spec: Obj = {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": sb.workspace_size}},
    }
    if sb.storage_class:
        spec["storageClassName"] = sb.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(cfg, sb.workspace_claim, "workspaces"),
        "spec": spec,
    }


def backlog_configmap(cfg: ClusterConfig, backlog: str) -> Obj:
    """The backlog file the RayJob runs (``fleet backlog /app/backlog/backlog.yaml``)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(cfg, backlog_configmap_name(cfg), "backlog"),
        "data": {"backlog.yaml": backlog},
    }


def core_objects(cfg: ClusterConfig, backlog: str | None = None) -> list[Obj]:
    """Every core object, in apply order (namespace first)."""
    objs = [
        namespace(cfg),
        *supervisor_rbac(cfg),
        sandbox_runner_account(cfg),
        sandbox_network_policy(cfg),
        gateway_service(cfg),
        workspace_claim(cfg),
    ]
    if backlog is not None:
        objs.append(backlog_configmap(cfg, backlog))
    return objs


# File name -> objects; `fleet cluster render` writes one YAML file each.
def manifests(
    cfg: ClusterConfig, models: ModelsConfig, backlog: str | None = None
) -> dict[str, list[Obj]]:
    """Every manifest of the deployment, grouped by the file it is written to.

    ``backlog``: the text of the backlog file the RayJob runs (its ConfigMap); see
    :func:`read_backlog`.
    """
    return {
        "00-core.yaml": core_objects(cfg, backlog),
        "10-rayservice.yaml": [rayservice(cfg, models)],
        "20-raycluster.yaml": [raycluster(cfg)],
        "30-rayjob.yaml": [rayjob(cfg)],
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (serveConfigV2, runtimeEnvYAML) as readable ``|`` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(objs: list[Obj]) -> str:
    """A multi-document YAML stream, keys in rendering order."""
    return yaml.dump_all(objs, Dumper=_Dumper, sort_keys=False)


def read_backlog(cfg: ClusterConfig, config_dir: Path) -> str:
    """The text of ``job.backlog`` (relative to the directory of cluster.yaml), checked like
    ``fleet backlog`` checks it, so a broken backlog fails at render time, not in the job."""
    from cluster.cli.jobs import load_backlog

    path = Path(cfg.job.backlog)
    path = path if path.is_absolute() else config_dir / path
    load_backlog(str(path), resolve_paths=False)
    return path.read_text()
