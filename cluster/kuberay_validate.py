"""Validate rendered manifests offline.

Custom resources are checked against the real KubeRay CRD ``openAPIV3Schema`` with ``jsonschema``
(plus the Kubernetes extensions that matter: int-or-string, list-type map/set, preserve-unknown-
fields, int32/int64 ranges) and then by semantic checks the CRD cannot express (replica bounds, GPU
limits on the GPU group, the Serve config inside ``serveConfigV2``). Core objects are checked with
``kubernetes-validate`` when it is installed. Every problem names its path, e.g.
``spec.workerGroupSpecs[1].replicas: -1 is less than the minimum of 0``.

Stricter than the API server on purpose: an unknown field is an error here, while the server would
silently prune it — a typo in a manifest should fail before it reaches a cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from cluster.kuberay import GPU_GROUP_LABEL
from fleet.errors import ConfigError, ResourceInvalid
from fleet.settings import env_name, settings

PLURALS = {"RayCluster": "rayclusters", "RayService": "rayservices", "RayJob": "rayjobs"}
_INT_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def crd_dir() -> Path:
    """The ``kuberay_crds`` setting, else ``cluster/crds/``, else ``../shared/kuberay-crds``."""
    configured = settings().kuberay_crds
    repo = Path(__file__).resolve().parents[1]
    candidates = (
        [configured]
        if configured
        else [repo / "cluster" / "crds", repo.parent / "shared" / "kuberay-crds"]
    )
    for path in candidates:
        if (path / "ray.io_rayclusters.yaml").is_file():
            return path
    raise ConfigError(
        file=str(candidates[0]),
        key="",
        problem="KubeRay CRD files (ray.io_rayclusters.yaml ...) not found; "
        f"set {env_name('kuberay_crds')}",
    )


def _k8s_schema(node: Any) -> Any:
    """Translate a structural OpenAPI v3 schema into plain JSON Schema (draft 7)."""
    if isinstance(node, list):
        return [_k8s_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _k8s_schema(v) for k, v in node.items()}
    if out.get("x-kubernetes-int-or-string") and "type" not in out and "anyOf" not in out:
        out["type"] = ["integer", "string"]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [*([out["type"]] if isinstance(out["type"], str) else out["type"]), "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if out.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    return out


def _list_map(validator: Any, list_type: Any, instance: Any, schema: dict) -> Iterator[Any]:
    """``x-kubernetes-list-type: map``: items must be unique by their map keys."""
    if list_type != "map" or not isinstance(instance, list):
        return
    keys = schema.get("x-kubernetes-list-map-keys", [])
    seen: set[tuple] = set()
    for item in instance:
        if isinstance(item, dict):
            key = tuple(str(item.get(k)) for k in keys)
            if key in seen:
                yield jsonschema.ValidationError(
                    f"duplicate entry with {dict(zip(keys, key, strict=True))}"
                )
            seen.add(key)


def _int_format(validator: Any, fmt: Any, instance: Any, schema: dict) -> Iterator[Any]:
    bounds = _INT_RANGE.get(fmt)
    if bounds and isinstance(instance, int) and not bounds[0] <= instance <= bounds[1]:
        yield jsonschema.ValidationError(f"{instance} does not fit in {fmt}")


_Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"x-kubernetes-list-type": _list_map, "format": _int_format}
)


@functools.cache
def crd_validator(kind: str) -> Any:
    """A cached validator for ``kind`` built from its CRD's served v1 schema."""
    if kind not in PLURALS:
        raise ConfigError(file="manifest", key="kind", problem=f"{kind!r} is not a KubeRay kind")
    path = crd_dir() / f"ray.io_{PLURALS[kind]}.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader either way
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = _k8s_schema(version["schema"]["openAPIV3Schema"])
    # The CRD leaves metadata open; the API server requires a DNS-1123 name.
    schema["properties"]["metadata"] = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                "maxLength": 63,
            },
            "namespace": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    schema["properties"]["apiVersion"] = {"const": "ray.io/v1"}
    schema["properties"]["kind"] = {"const": kind}
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return _Validator(schema)


def path_of(parts: Any) -> str:
    """``['spec', 'workerGroupSpecs', 1, 'replicas']`` -> ``spec.workerGroupSpecs[1].replicas``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def schema_problems(obj: dict) -> list[str]:
    """Every CRD-schema violation of a KubeRay custom resource, each naming its path."""
    errors = sorted(
        crd_validator(obj.get("kind", "")).iter_errors(obj), key=lambda e: list(e.absolute_path)
    )
    return [f"{path_of(e.absolute_path)}: {_short(e)}" for e in errors]


def _short(err: Any) -> str:
    msg = err.message
    return msg if len(msg) < 300 else msg[:300] + "..."


def _cluster_specs(obj: dict) -> Iterator[tuple[str, dict]]:
    spec = obj.get("spec") or {}
    key = {"RayCluster": None, "RayService": "rayClusterConfig", "RayJob": "rayClusterSpec"}[
        obj["kind"]
    ]
    inner = spec if key is None else spec.get(key)
    if isinstance(inner, dict):
        yield ("spec" if key is None else f"spec.{key}"), inner


def semantic_problems(obj: dict) -> list[str]:
    """Checks the CRD cannot express: replica bounds, GPU limits, the Serve config."""
    problems: list[str] = []
    for where, spec in _cluster_specs(obj):
        if spec.get("headGroupSpec", {}).get("rayStartParams", {}).get("num-cpus") != "0":
            problems.append(
                f"{where}.headGroupSpec.rayStartParams.num-cpus: the head must advertise 0 CPUs"
            )
        for i, group in enumerate(spec.get("workerGroupSpecs") or []):
            problems += _group_problems(f"{where}.workerGroupSpecs[{i}]", group)
    if obj.get("kind") == "RayService":
        problems += _serve_problems(obj.get("spec", {}).get("serveConfigV2"))
    return problems


def _group_problems(where: str, group: dict) -> list[str]:
    out = []
    lo, n, hi = group.get("minReplicas", 0), group.get("replicas", 0), group.get("maxReplicas", 0)
    for field, value in (("minReplicas", lo), ("replicas", n), ("maxReplicas", hi)):
        if isinstance(value, int) and value < 0:
            out.append(f"{where}.{field}: {value} is less than the minimum of 0")
    if all(isinstance(v, int) for v in (lo, n, hi)) and not lo <= n <= hi:
        out.append(f"{where}: need minReplicas <= replicas <= maxReplicas, got {lo} <= {n} <= {hi}")
    template = group.get("template") or {}
    pod_labels = (template.get("metadata") or {}).get("labels") or {}
    if GPU_GROUP_LABEL in pod_labels:
        containers = (template.get("spec") or {}).get("containers") or []
        limits = ((containers[0] if containers else {}).get("resources") or {}).get("limits") or {}
        if not any(k.endswith("/gpu") and str(v) not in ("0", "") for k, v in limits.items()):
            out.append(
                f"{where}.template.spec.containers[0].resources.limits: GPU group has no GPU limit"
            )
    return out


def _serve_problems(text: Any) -> list[str]:
    where = "spec.serveConfigV2"
    try:
        conf = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError as exc:
        return [f"{where}: not YAML: {exc}"]
    apps = conf.get("applications") if isinstance(conf, dict) else None
    if not isinstance(apps, list) or not apps:
        return [f"{where}.applications: at least one application is required"]
    out, names, prefixes = [], set(), set()
    for i, app in enumerate(apps):
        for field in ("name", "import_path", "route_prefix"):
            if not isinstance(app.get(field), str) or not app.get(field):
                out.append(f"{where}.applications[{i}].{field}: required")
        if app.get("name") in names:
            out.append(f"{where}.applications[{i}].name: duplicate {app.get('name')!r}")
        if app.get("route_prefix") in prefixes:
            out.append(
                f"{where}.applications[{i}].route_prefix: duplicate {app.get('route_prefix')!r}"
            )
        names.add(app.get("name"))
        prefixes.add(app.get("route_prefix"))
    return out


def core_problems(obj: dict, k8s_version: str | None = None) -> list[str]:
    """Problems of a core object (Service, Role, ...) per ``kubernetes-validate``, strict mode."""
    try:
        import kubernetes_validate
    except ImportError:  # a runtime image without the dev extra: CRs are still validated
        return []
    version = k8s_version or kubernetes_validate.latest_version()
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{path_of(exc.absolute_path)}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"kind: {exc}"]
    return []


def problems(obj: dict) -> list[str]:
    """All problems of one manifest (custom resource or core object)."""
    if obj.get("kind") in PLURALS:
        return schema_problems(obj) + semantic_problems(obj)
    return core_problems(obj)


def validate(obj: dict) -> dict:
    """Return ``obj`` unchanged or raise :class:`ResourceInvalid` listing every problem."""
    found = problems(obj)
    if found:
        name = str((obj.get("metadata") or {}).get("name", "?"))
        raise ResourceInvalid(kind=str(obj.get("kind", "?")), name=name, problems=found)
    return obj
