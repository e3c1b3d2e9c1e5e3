"""A small KubeRay client over ``kubernetes.client.CustomObjectsApi`` (group ray.io, version v1).

There is no KubeRay client on PyPI; this covers what the fleet needs: create/get/list/patch/
delete/apply and wait-for-status of RayCluster/RayService/RayJob, plus apply/delete of the core
objects that go with them. Kubernetes API errors become fleet errors: 404 -> NotFound,
409 -> ResourceConflict, 422 -> ResourceInvalid (with the server's message), anything else or no
connection -> ClusterError.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import urllib3
from kubernetes import client, config

from cluster.kuberay_validate import PLURALS
from fleet.errors import ClusterError, NotFound, ResourceConflict, ResourceInvalid, UnknownName

GROUP, VERSION = "ray.io", "v1"
MERGE = "application/merge-patch+json"
TIMEOUT = (5, 30)  # connect, read seconds: fail fast when no cluster answers
# kind -> (API class, method suffix, namespaced)
CORE = {
    "Namespace": (client.CoreV1Api, "namespace", False),
    "ServiceAccount": (client.CoreV1Api, "namespaced_service_account", True),
    "Service": (client.CoreV1Api, "namespaced_service", True),
    "Role": (client.RbacAuthorizationV1Api, "namespaced_role", True),
    "RoleBinding": (client.RbacAuthorizationV1Api, "namespaced_role_binding", True),
    "NetworkPolicy": (client.NetworkingV1Api, "namespaced_network_policy", True),
}
Obj = dict[str, Any]


def load_api_client(
    *, config_file: str | None = None, context: str | None = None
) -> client.ApiClient:
    """An API client from the kubeconfig (``$KUBECONFIG``/``~/.kube/config``) or in-cluster config."""
    conf = client.Configuration()
    try:
        config.load_kube_config(config_file=config_file, context=context, client_configuration=conf)
    except (config.ConfigException, OSError, TypeError) as kube_err:
        try:
            config.load_incluster_config(client_configuration=conf)
        except config.ConfigException:
            raise ClusterError(
                server="(not configured)",
                reason=f"no usable kubeconfig ({kube_err}) and not running inside a cluster; "
                "set KUBECONFIG or pass --kubeconfig",
            ) from None
    conf.retries = 1
    return client.ApiClient(conf)


def phase(kind: str, obj: Obj) -> str:
    """Coarse state of a KubeRay resource: pending, running, ready, succeeded or failed."""
    st = obj.get("status") or {}
    if kind == "RayCluster":
        return {"ready": "ready", "failed": "failed"}.get(st.get("state", ""), "pending")
    if kind == "RayService":
        ready = [c for c in st.get("conditions") or [] if c.get("type") == "Ready"]
        if (ready and ready[0].get("status") == "True") or st.get("serviceStatus") == "Running":
            return "ready"
        return "pending"
    deploy, job = st.get("jobDeploymentStatus", ""), st.get("jobStatus", "")
    if deploy == "Failed" or job in ("FAILED", "STOPPED"):
        return "failed"
    if job == "SUCCEEDED":
        return "succeeded"
    return "running" if deploy == "Running" else "pending"


class KubeRayClient:
    """Namespaced access to the fleet's KubeRay resources and core objects."""

    def __init__(self, api: client.ApiClient, *, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.server = api.configuration.host

    # ---------------------------------------------------------------- custom resources

    def create(self, obj: Obj) -> Obj:
        kind, name = _kind_name(obj)
        with self._errors(kind, name):
            found = self.custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, _plural(kind), obj, _request_timeout=TIMEOUT
            )
        return cast(Obj, found)

    def get(self, kind: str, name: str) -> Obj:
        with self._errors(kind, name):
            found = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, _plural(kind), name, _request_timeout=TIMEOUT
            )
        return cast(Obj, found)

    def list(self, kind: str, *, label_selector: str | None = None) -> list[Obj]:
        with self._errors(kind, "*"):
            out = self.custom.list_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                _plural(kind),
                label_selector=label_selector,
                _request_timeout=TIMEOUT,
            )
        return list(cast(Obj, out).get("items") or [])

    def patch(self, kind: str, name: str, patch: Obj) -> Obj:
        """JSON merge patch (RFC 7386)."""
        with self._errors(kind, name):
            found = self.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                _plural(kind),
                name,
                patch,
                _content_type=MERGE,
                _request_timeout=TIMEOUT,
            )
        return cast(Obj, found)

    def delete(self, kind: str, name: str) -> None:
        with self._errors(kind, name):
            self.custom.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, _plural(kind), name, _request_timeout=TIMEOUT
            )

    def apply(self, obj: Obj) -> str:
        """Create, or replace the existing object's spec; returns ``created`` or ``updated``."""
        kind, name = _kind_name(obj)
        try:
            self.create(obj)
            return "created"
        except ResourceConflict:
            current = self.get(kind, name)
        body = dict(
            obj,
            metadata=dict(obj["metadata"], resourceVersion=current["metadata"]["resourceVersion"]),
        )
        with self._errors(kind, name):
            self.custom.replace_namespaced_custom_object(
                GROUP, VERSION, self.namespace, _plural(kind), name, body, _request_timeout=TIMEOUT
            )
        return "updated"

    def wait_for(
        self,
        kind: str,
        name: str,
        *,
        until: tuple[str, ...] = ("ready", "succeeded", "failed"),
        timeout_s: float = 900.0,
        poll_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Obj:
        """Poll until :func:`phase` is one of ``until``; ClusterError on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            obj = self.get(kind, name)
            current = phase(kind, obj)
            if current in until:
                return obj
            if time.monotonic() >= deadline:
                raise ClusterError(
                    server=self.server,
                    reason=f"timed out after {timeout_s:g}s waiting for {kind} {name} to be "
                    f"{'/'.join(until)}; last phase {current}, status {json.dumps(obj.get('status'))}",
                )
            sleep(poll_s)

    # ---------------------------------------------------------------- core objects

    def apply_core(self, obj: Obj) -> str:
        """Create a core object, or merge-patch it when it exists."""
        kind, name = _kind_name(obj)
        api, suffix, namespaced = _core(kind)
        ns = (self.namespace,) if namespaced else ()
        api = api(self.api)
        try:
            with self._errors(kind, name):
                getattr(api, f"create_{suffix}")(*ns, obj, _request_timeout=TIMEOUT)
            return "created"
        except ResourceConflict:
            with self._errors(kind, name):
                getattr(api, f"patch_{suffix}")(
                    name, *ns, obj, _content_type=MERGE, _request_timeout=TIMEOUT
                )
            return "updated"

    def delete_core(self, kind: str, name: str) -> None:
        api, suffix, namespaced = _core(kind)
        ns = (self.namespace,) if namespaced else ()
        with self._errors(kind, name):
            getattr(api(self.api), f"delete_{suffix}")(name, *ns, _request_timeout=TIMEOUT)

    def apply_any(self, obj: Obj) -> str:
        return self.apply(obj) if obj.get("kind") in PLURALS else self.apply_core(obj)

    def delete_any(self, obj: Obj) -> None:
        kind, name = _kind_name(obj)
        (self.delete if kind in PLURALS else self.delete_core)(kind, name)

    # ---------------------------------------------------------------- errors

    @contextlib.contextmanager
    def _errors(self, kind: str, name: str) -> Iterator[None]:
        try:
            yield
        except client.ApiException as exc:
            raise _mapped(exc, kind, name, self.namespace, self.server) from None
        except urllib3.exceptions.HTTPError as exc:
            raise ClusterError(server=self.server, reason=f"cannot connect: {exc}") from None


def _mapped(
    exc: client.ApiException, kind: str, name: str, namespace: str, server: str
) -> Exception:
    message = exc.reason or ""
    with contextlib.suppress(ValueError, TypeError):
        message = json.loads(exc.body or "{}").get("message") or message
    if exc.status == 404:
        return NotFound(what=kind, id=f"{namespace}/{name}")
    if exc.status == 409:
        return ResourceConflict(kind=kind, name=name, reason=message)
    if exc.status == 422:
        detail = message.split(" is invalid: ", 1)[-1]
        return ResourceInvalid(kind=kind, name=name, problems=[detail])
    return ClusterError(server=server, reason=f"HTTP {exc.status} {exc.reason}: {message}")


def _kind_name(obj: Obj) -> tuple[str, str]:
    return str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))


def _plural(kind: str) -> str:
    if kind not in PLURALS:
        raise UnknownName(what="KubeRay kind", name=kind, valid=list(PLURALS))
    return PLURALS[kind]


def _core(kind: str) -> tuple[Any, str, bool]:
    if kind not in CORE:
        raise UnknownName(what="core kind", name=kind, valid=list(CORE))
    return CORE[kind]
