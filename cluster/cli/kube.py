"""``fleet cluster render | apply | status | delete``: the fleet on a KubeRay cluster.

``render`` needs no cluster: it validates every manifest (CRD schemas, semantic checks,
kubernetes-validate) and writes them. ``apply``/``status``/``delete`` use the kubeconfig
(``$KUBECONFIG``, ``~/.kube/config``, or the in-cluster service account).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cluster import kuberay_validate
from cluster.kuberay_client import KubeRayClient, load_api_client, phase
from cluster.kuberay_objects import manifests, read_backlog, to_yaml
from fleet import config
from fleet.config import ClusterConfig
from fleet.errors import NotFound, ResourceInvalid

CR_KINDS = ("RayService", "RayCluster", "RayJob")


def _rendered(args: argparse.Namespace) -> tuple[ClusterConfig, dict[str, list[dict]]]:
    """Load config, render every manifest, and validate all of them (all problems at once)."""
    directory = Path(args.config_dir) if args.config_dir else config.config_dir()
    cfg: ClusterConfig = config.load("cluster.yaml", directory)
    backlog = read_backlog(cfg, directory)
    files = manifests(cfg, config.load("models.yaml", directory), backlog)
    problems = [
        f"{obj['kind']}/{obj['metadata']['name']}: {p}"
        for objs in files.values()
        for obj in objs
        for p in kuberay_validate.problems(obj)
    ]
    if problems:
        raise ResourceInvalid(kind="manifest set", name=cfg.name, problems=problems)
    return cfg, files


def _render(args: argparse.Namespace) -> int:
    _, files = _rendered(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for fname, objs in files.items():
        (out / fname).write_text(to_yaml(objs))
        kinds = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objs)
        print(f"wrote {out / fname}: {kinds}")
    print(
        "validated: custom resources against the KubeRay CRD schemas; core objects with kubernetes-validate"
    )
    return 0


def _client(args: argparse.Namespace, cfg: ClusterConfig) -> KubeRayClient:
    api = load_api_client(config_file=args.kubeconfig, context=args.context)
    return KubeRayClient(api, namespace=cfg.namespace)


def _apply(args: argparse.Namespace) -> int:
    cfg, files = _rendered(args)
    kube = _client(args, cfg)
    wanted = (
        {"RayService"}
        | ({"RayJob"} if args.job else set())
        | ({"RayCluster"} if args.raycluster else set())
    )
    for objs in files.values():
        for obj in objs:
            if obj["kind"] in CR_KINDS and obj["kind"] not in wanted:
                continue
            action = kube.apply_any(obj)
            print(f"{obj['kind']}/{obj['metadata']['name']} {action}")
    if args.wait:
        obj = kube.wait_for("RayService", cfg.name, until=("ready",), timeout_s=args.timeout)
        print(f"RayService/{cfg.name} {phase('RayService', obj)}")
    return 0


def _status(args: argparse.Namespace) -> int:
    cfg, _ = _rendered(args)
    kube = _client(args, cfg)
    selector = f"app.kubernetes.io/instance={cfg.name}"
    found = 0
    for kind in CR_KINDS:
        for obj in kube.list(kind, label_selector=selector):
            found += 1
            st = obj.get("status") or {}
            detail = st.get("state") or st.get("serviceStatus") or st.get("jobStatus") or ""
            print(f"{kind}/{obj['metadata']['name']}: {phase(kind, obj)} {detail}".rstrip())
    if not found:
        print(f"no KubeRay resources labelled {selector} in namespace {cfg.namespace}")
        return 1
    return 0


def _delete(args: argparse.Namespace) -> int:
    cfg, files = _rendered(args)
    kube = _client(args, cfg)
    # Custom resources first (reverse apply order); core objects only with --all.
    objs = [o for fs in reversed(list(files.values())) for o in fs]
    for obj in objs:
        # Never the namespace, nor the workspaces claim (its data outlives a redeploy).
        keep = ("Namespace", "PersistentVolumeClaim")
        if obj["kind"] in keep or (obj["kind"] not in CR_KINDS and not args.all):
            continue
        try:
            kube.delete_any(obj)
            print(f"{obj['kind']}/{obj['metadata']['name']} deleted")
        except NotFound:
            print(f"{obj['kind']}/{obj['metadata']['name']} not found (nothing to delete)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cluster render|apply|status|delete`` to the ``fleet`` command."""
    text = "render, apply, inspect or delete the fleet on a KubeRay cluster"
    group = subparsers.add_parser("cluster", help=text, description=text)
    sub = group.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    actions = (
        ("render", _render, "validate and write the manifests (no cluster needed)"),
        ("apply", _apply, "apply core objects + RayService (and RayJob/RayCluster if asked)"),
        ("status", _status, "show the fleet's KubeRay resources and their phase"),
        ("delete", _delete, "delete the fleet's KubeRay resources (--all: core objects too)"),
    )
    for name, func, help_text in actions:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config-dir", help="directory with cluster.yaml and models.yaml")
        p.set_defaults(func=func)
        if name == "render":
            p.add_argument(
                "--out", default="build/kuberay", help="output directory (default %(default)s)"
            )
            continue
        p.add_argument(
            "--kubeconfig", help="kubeconfig file (default $KUBECONFIG or ~/.kube/config)"
        )
        p.add_argument("--context", help="kubeconfig context")
        if name == "apply":
            p.add_argument("--job", action="store_true", help="also submit the backlog RayJob")
            p.add_argument(
                "--raycluster", action="store_true", help="also create the standalone RayCluster"
            )
            p.add_argument("--wait", action="store_true", help="wait until the RayService is ready")
            p.add_argument("--timeout", type=float, default=1800.0, help="seconds for --wait")
        if name == "delete":
            p.add_argument(
                "--all",
                action="store_true",
                help="also delete RBAC, policies, Service and backlog ConfigMap (never the "
                "namespace or the workspaces claim)",
            )
    from cluster.rehearse import register as register_rehearse  # `fleet cluster rehearse`

    register_rehearse(sub, render=_rendered)
