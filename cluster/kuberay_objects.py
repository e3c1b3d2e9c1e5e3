"""Core Kubernetes objects that go with the KubeRay resources, and the full manifest set.

- a Namespace;
- ServiceAccount + Role + RoleBinding letting the sandbox supervisor (on the CPU workers) create,
  get, list, watch and delete Jobs and read their pods' logs — nothing else;
- a ServiceAccount for sandbox pods that mounts no token;
- a deny-all NetworkPolicy (no ingress, no egress) for every sandbox Job pod;
- a stable Service for the gateway in front of the RayService's serving pods.
"""

from __future__ import annotations

from typing import Any

import yaml

from cluster.kuberay import (
    SERVE_PORT,
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


def core_objects(cfg: ClusterConfig) -> list[Obj]:
    """Every core object, in apply order (namespace first)."""
    return [
        namespace(cfg),
        *supervisor_rbac(cfg),
        sandbox_runner_account(cfg),
        sandbox_network_policy(cfg),
        gateway_service(cfg),
    ]


# File name -> objects; `fleet cluster render` writes one YAML file each.
def manifests(cfg: ClusterConfig, models: ModelsConfig) -> dict[str, list[Obj]]:
    """Every manifest of the deployment, grouped by the file it is written to."""
    return {
        "00-core.yaml": core_objects(cfg),
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
