"""Cluster sandbox backend: one Kubernetes Job per TaskSpec, plus a deny-all-egress NetworkPolicy.

:func:`render` is a pure function (TaskSpec -> manifests) validated offline with
``kubernetes-validate`` in the tests. :class:`K8sJobSandbox` submits them with the
``kubernetes`` client, polls the Job, collects the pod's logs and the run's artifacts, and
deletes both objects.

The workspace: the supervisor and the Job pods share one PersistentVolumeClaim
(``workspace_claim``), mounted at the same path (``workspace_root``) in both, so the
command sees the workspace at the path the TaskSpec names and the artifacts it writes
(the JUnit report, coverage) are read back by the supervisor from that volume, with the
same no-links-out rules as the local backend.

Tested against the stand-in API server (``tests/integration/kube_standin.py``) playing the
kubelet; never against a real cluster (none on the development machine).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import re
import time
from typing import Any

from fleet.adapters.sandbox_io import collect_artifacts
from fleet.contracts import TaskResult, TaskSpec
from fleet.errors import InvalidInput, SandboxUnavailable

LABEL = "swe-fleet/sandbox-run"
DEFAULT_IMAGE = "python:3.11-slim"


def job_name(spec: TaskSpec | str) -> str:
    """A DNS-1123 name derived from the spec id (stable, <= 63 chars)."""
    spec_id = spec if isinstance(spec, str) else spec.id
    slug = re.sub(r"[^a-z0-9-]+", "-", spec_id.lower()).strip("-")[:40] or "run"
    return f"fleet-{slug}-{hashlib.sha1(spec_id.encode()).hexdigest()[:8]}"


def _container(
    spec: TaskSpec, *, uid: int, mounts: list[dict[str, Any]], workdir: str, image: str
) -> dict[str, Any]:
    """The Job's one container: the command, non-root, read-only root, no capabilities."""
    res = spec.resources
    limits = {
        "cpu": "1",
        "memory": f"{res.memory_mb}Mi",
        "ephemeral-storage": f"{res.file_size_mb * 4}Mi",
    }
    return {
        "name": "run",
        "image": spec.image or image,
        "command": list(spec.cmd),
        "env": [{"name": k, "value": v} for k, v in sorted(spec.env.items())],
        "workingDir": workdir,
        "resources": {
            "requests": {"cpu": "100m", "memory": f"{min(res.memory_mb, 128)}Mi"},
            "limits": limits,
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }


def render(
    spec: TaskSpec,
    *,
    namespace: str = "swe-fleet",
    uid: int = 65534,
    workspace_claim: str | None = None,
    workspace_root: str | None = None,
    image: str = DEFAULT_IMAGE,
) -> list[dict[str, Any]]:
    """The NetworkPolicy and Job that run ``spec`` (in apply order).

    With a ``workspace_claim`` the claim is mounted at ``workspace_root`` (``/workspace`` if
    unset) and the command starts in ``spec.workspace`` when it lies under that root.
    """
    name = job_name(spec)
    labels = {
        LABEL: name,
        "app.kubernetes.io/part-of": "swe-fleet",
        "swe-fleet/role": spec.context.role,
    }
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}
    ]
    workdir = "/tmp"
    if workspace_claim:
        root = (workspace_root or "/workspace").rstrip("/") or "/"
        mounts.append({"name": "workspace", "mountPath": root})
        volumes.append(
            {"name": "workspace", "persistentVolumeClaim": {"claimName": workspace_claim}}
        )
        workdir = spec.workspace if spec.workspace and _under(spec.workspace, root) else root
        if spec.cwd and spec.workspace:
            workdir = posixpath.join(workdir, _relative(spec.cwd))
    container = _container(spec, uid=uid, mounts=mounts, workdir=workdir, image=image)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, int(spec.timeout_s)),
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": uid, "fsGroup": uid},
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        # Both policy types with no rules: no ingress and no egress at all (not even DNS).
        "spec": {
            "podSelector": {"matchLabels": {LABEL: name}},
            "policyTypes": ["Ingress", "Egress"],
        },
    }
    return [policy, job]


def _relative(cwd: str) -> str:
    """``TaskSpec.cwd``: a relative path inside the workspace (no ``..``, not absolute)."""
    if posixpath.isabs(cwd) or ".." in cwd.split("/"):
        raise InvalidInput(
            what="TaskSpec", field="cwd", problem="must be a relative path inside the workspace"
        )
    return posixpath.normpath(cwd)


def _under(path: str | None, root: str) -> bool:
    if not path:
        return False
    norm = posixpath.normpath(path)
    return norm == root or norm.startswith(root.rstrip("/") + "/")


class K8sJobSandbox:
    """``fleet.ports.Sandbox`` on Kubernetes Jobs (needs a cluster and credentials)."""

    name = "k8s-job"

    def __init__(
        self,
        *,
        namespace: str = "swe-fleet",
        api_client: Any = None,
        workspace_claim: str | None = None,
        workspace_root: str | None = None,
        image: str | None = None,
        poll_s: float = 1.0,
    ) -> None:
        try:
            from kubernetes import client, config
        except ImportError as exc:  # pragma: no cover - kubernetes is a dependency
            raise SandboxUnavailable(
                backend=self.name, reason=f"kubernetes client missing: {exc}"
            ) from None
        if api_client is None:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                try:
                    # $KUBECONFIG read now (the client reads it once, at import)
                    config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
                except (config.ConfigException, OSError) as exc:
                    raise SandboxUnavailable(
                        backend=self.name, reason=f"no cluster credentials: {exc}"
                    ) from None
        self._batch = client.BatchV1Api(api_client)
        self._core = client.CoreV1Api(api_client)
        self._net = client.NetworkingV1Api(api_client)
        self.namespace = namespace
        self.workspace_claim = workspace_claim
        self.workspace_root = workspace_root
        self.image = image or DEFAULT_IMAGE
        self.poll_s = poll_s

    def check(self) -> None:
        """Raise :class:`SandboxUnavailable` unless the API server answers for the namespace."""
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.list_namespaced_job(self.namespace, limit=1)
        except ApiException as exc:
            raise SandboxUnavailable(
                backend=self.name, reason=f"API {exc.status}: {exc.reason}"
            ) from None
        except OSError as exc:  # urllib3 wraps refused connections in OSError subclasses
            raise SandboxUnavailable(backend=self.name, reason=str(exc)) from None

    def _workspace_problem(self, spec: TaskSpec) -> str | None:
        if not spec.workspace:
            return None
        if not self.workspace_claim:
            return "a workspace run needs sandbox.k8s_job.workspace_claim (a shared volume)"
        if not _under(spec.workspace, (self.workspace_root or "/workspace").rstrip("/")):
            return f"workspace {spec.workspace} is not under workspace_root {self.workspace_root}"
        if spec.cwd:  # the volume is shared: check here that the start dir is no link
            here = spec.workspace
            for part in _relative(spec.cwd).split("/"):
                here = os.path.join(here, part)
                if os.path.islink(here) or not os.path.isdir(here):
                    raise InvalidInput(
                        what="TaskSpec",
                        field="cwd",
                        problem=f"{spec.cwd!r} is not a plain directory",
                    )
        return None

    def run(self, spec: TaskSpec) -> TaskResult:
        """Create NetworkPolicy + Job, wait for it, collect logs, delete both."""
        from kubernetes.client.exceptions import ApiException

        if spec.network or spec.expose:
            raise SandboxUnavailable(
                backend=self.name,
                reason="network access and host directories (a target's environment) are "
                "supported by the bwrap backend only",
            )
        problem = self._workspace_problem(spec)
        if problem:
            raise SandboxUnavailable(backend=self.name, reason=problem)
        policy, job = render(
            spec,
            namespace=self.namespace,
            workspace_claim=self.workspace_claim,
            workspace_root=self.workspace_root,
            image=self.image,
        )
        name = job["metadata"]["name"]
        started = time.monotonic()
        try:
            self._net.create_namespaced_network_policy(self.namespace, policy)
            self._batch.create_namespaced_job(self.namespace, job)
            status, code = self._wait(name, spec.timeout_s + 30)
            logs = self._logs(name, spec.resources.output_bytes)
        except ApiException as exc:
            raise SandboxUnavailable(
                backend=self.name, reason=f"API {exc.status}: {exc.reason}"
            ) from None
        except OSError as exc:
            raise SandboxUnavailable(backend=self.name, reason=str(exc)) from None
        finally:
            self._cleanup(name)
        cap = spec.resources.output_bytes
        # The Job wrote its reports into the shared workspace volume: read them back here.
        artifacts = collect_artifacts(spec.workspace, spec.artifacts, cap) if spec.workspace else {}
        return TaskResult(
            spec_id=spec.id,
            status=status,
            exit_code=code,
            stdout=logs[: spec.resources.output_bytes],
            stdout_truncated=len(logs) > spec.resources.output_bytes,
            duration_s=round(time.monotonic() - started, 3),
            limit_hit="wall_clock" if status == "timeout" else None,
            artifacts=artifacts,
            backend=self.name,
        )

    def _wait(self, name: str, limit_s: float) -> tuple[str, int | None]:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            st = self._batch.read_namespaced_job_status(name, self.namespace).status
            if st is None:  # not picked up by the job controller yet
                time.sleep(self.poll_s)
                continue
            if st.succeeded:
                return "passed", 0
            if st.failed:
                reasons = {c.reason for c in (st.conditions or [])}
                return (
                    ("timeout", None)
                    if "DeadlineExceeded" in reasons
                    else ("failed", self._exit_code(name))
                )
            time.sleep(self.poll_s)
        return "timeout", None

    def _pod(self, name: str) -> Any:
        pods = self._core.list_namespaced_pod(
            self.namespace, label_selector=f"{LABEL}={name}"
        ).items
        return pods[0] if pods else None

    def _exit_code(self, name: str) -> int | None:
        pod = self._pod(name)
        for cs in (pod.status.container_statuses or []) if pod else []:
            if cs.state and cs.state.terminated:
                return int(cs.state.terminated.exit_code)
        return None

    def _logs(self, name: str, cap: int) -> str:
        pod = self._pod(name)
        if pod is None:
            return ""
        return str(
            self._core.read_namespaced_pod_log(
                pod.metadata.name, self.namespace, limit_bytes=cap + 1
            )
        )

    def cancel(self, spec_id: str) -> bool:
        """Delete the Job running ``spec_id`` (its pod goes with it); True if it existed."""
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.read_namespaced_job_status(job_name(spec_id), self.namespace)
        except ApiException:
            return False
        self._cleanup(job_name(spec_id))
        return True

    def _cleanup(self, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        for delete in (
            lambda: self._batch.delete_namespaced_job(
                name, self.namespace, propagation_policy="Foreground"
            ),
            lambda: self._net.delete_namespaced_network_policy(name, self.namespace),
        ):
            with contextlib.suppress(ApiException):
                delete()
