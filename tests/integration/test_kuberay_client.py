"""The KubeRay client and ``fleet cluster apply|status|delete`` against a stand-in API server.

The stand-in (``kube_standin.py``) is a real HTTP server on loopback speaking the Kubernetes REST
paths with real Status errors; the client is the real ``kubernetes`` client. What this cannot show:
a real API server's admission, a real KubeRay operator (statuses here are scripted).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from kube_standin import KubeStandIn
from kubernetes import client

from cluster.cli import main
from cluster.kuberay import rayjob, rayservice
from cluster.kuberay_client import KubeRayClient, phase
from cluster.kuberay_objects import manifests
from fleet import config
from fleet.errors import ClusterError, NotFound, ResourceConflict, ResourceInvalid

NS = "swe-fleet"


@pytest.fixture(scope="module")
def standin():
    server = KubeStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kube(standin) -> KubeRayClient:
    conf = client.Configuration()
    conf.host = standin.url
    return KubeRayClient(client.ApiClient(conf), namespace=NS)


@pytest.fixture(scope="module")
def cfg():
    return config.load("cluster.yaml")


@pytest.fixture(scope="module")
def models():
    return config.load("models.yaml")


def _named(obj: dict, name: str) -> dict:
    out = copy.deepcopy(obj)
    out["metadata"]["name"] = name
    return out


def test_create_status_delete(kube, standin, cfg, models):
    svc = _named(rayservice(cfg, models), "svc-lifecycle")
    created = kube.create(svc)
    assert created["metadata"]["namespace"] == NS and created["metadata"]["resourceVersion"]
    standin.script_status(
        "rayservices",
        "svc-lifecycle",
        [
            {"serviceStatus": ""},
            {"conditions": [{"type": "Ready", "status": "False"}]},
            {"conditions": [{"type": "Ready", "status": "True"}], "serviceStatus": "Running"},
        ],
    )
    sleeps: list[float] = []
    ready = kube.wait_for(
        "RayService", "svc-lifecycle", until=("ready",), poll_s=0.5, sleep=sleeps.append
    )
    assert phase("RayService", ready) == "ready" and sleeps == [0.5, 0.5]
    names = [
        o["metadata"]["name"]
        for o in kube.list("RayService", label_selector="app.kubernetes.io/instance=swe-fleet")
    ]
    assert "svc-lifecycle" in names
    assert kube.list("RayService", label_selector="app.kubernetes.io/instance=other") == []
    patched = kube.patch("RayService", "svc-lifecycle", {"metadata": {"labels": {"team": "a"}}})
    assert patched["metadata"]["labels"]["team"] == "a"
    assert patched["metadata"]["labels"]["app.kubernetes.io/name"] == "swe-fleet"
    kube.delete("RayService", "svc-lifecycle")
    with pytest.raises(NotFound, match=r"RayService 'swe-fleet/svc-lifecycle' not found"):
        kube.get("RayService", "svc-lifecycle")
    assert (
        "DELETE",
        f"/apis/ray.io/v1/namespaces/{NS}/rayservices/svc-lifecycle",
    ) in standin.requests


def test_rayjob_phases_and_timeout(kube, standin, cfg):
    job = _named(rayjob(cfg), "job-phases")
    kube.create(job)
    standin.script_status(
        "rayjobs",
        "job-phases",
        [
            {"jobDeploymentStatus": "Initializing"},
            {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"},
            {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"},
        ],
    )
    with pytest.raises(ClusterError, match="timed out after 0s waiting for RayJob job-phases"):
        kube.wait_for("RayJob", "job-phases", timeout_s=0, sleep=lambda s: None)
    assert phase("RayJob", kube.get("RayJob", "job-phases")) == "running"
    done = kube.wait_for("RayJob", "job-phases", poll_s=0, sleep=lambda s: None)
    assert phase("RayJob", done) == "succeeded"
    standin.script_status(
        "rayjobs", "job-phases", [{"jobDeploymentStatus": "Failed", "jobStatus": "FAILED"}]
    )
    assert phase("RayJob", kube.wait_for("RayJob", "job-phases", poll_s=0)) == "failed"
    kube.delete("RayJob", "job-phases")


def test_error_mapping_404_409_422(kube, cfg, models):
    with pytest.raises(NotFound):
        kube.delete("RayCluster", "never-created")
    svc = _named(rayservice(cfg, models), "svc-conflict")
    kube.create(svc)
    with pytest.raises(ResourceConflict, match=r'rayservices.ray.io "svc-conflict" already exists'):
        kube.create(svc)
    bad = copy.deepcopy(svc)
    bad["metadata"]["name"] = "svc-invalid"
    bad["spec"]["rayClusterConfig"]["workerGroupSpecs"][1]["replicas"] = "two"
    with pytest.raises(ResourceInvalid) as err:
        kube.create(bad)
    assert (
        "spec.rayClusterConfig.workerGroupSpecs[1].replicas: 'two' is not of type 'integer'"
        in str(err.value)
    )
    assert err.value.kind == "RayService" and err.value.name == "svc-invalid"
    with pytest.raises(ResourceInvalid, match="metadata.name: Invalid value"):
        kube.create(_named(svc, "Bad_Name"))
    kube.delete("RayService", "svc-conflict")


def test_apply_creates_then_updates(kube, standin, cfg, models):
    svc = _named(rayservice(cfg, models), "svc-apply")
    assert kube.apply(svc) == "created"
    changed = copy.deepcopy(svc)
    changed["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["maxReplicas"] = 9
    assert kube.apply(changed) == "updated"
    got = kube.get("RayService", "svc-apply")
    assert got["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["maxReplicas"] == 9
    core = manifests(cfg, models)["00-core.yaml"]
    assert [kube.apply_core(o) for o in core] == ["created"] * len(core)
    assert kube.apply_core(core[-1]) == "updated"
    for obj in reversed(core):
        kube.delete_any(obj)
    with pytest.raises(NotFound):
        kube.delete_core("NetworkPolicy", "swe-fleet-sandbox-deny-all")
    kube.delete("RayService", "svc-apply")


def test_unreachable_server_is_a_clear_error():
    from cluster.graphserver import free_port

    conf = client.Configuration()
    conf.host = f"http://127.0.0.1:{free_port()}"
    conf.retries = 0
    kube = KubeRayClient(client.ApiClient(conf), namespace=NS)
    with pytest.raises(ClusterError, match="cannot connect"):
        kube.get("RayCluster", "x")


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def kubeconfig(tmp_path, standin) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: standin, cluster: {{server: '{standin.url}'}}}}]\n"
        "users: [{name: tester, user: {username: tester, password: not-a-secret}}]\n"
        "contexts: [{name: standin, context: {cluster: standin, user: tester}}]\n"
        "current-context: standin\n"
    )
    return path


def test_cli_apply_status_delete(kubeconfig, standin, cfg, capsys):
    assert main(["cluster", "apply", "--kubeconfig", str(kubeconfig), "--job"]) == 0
    out = capsys.readouterr().out
    assert "RayService/swe-fleet created" in out and "RayJob/swe-fleet-backlog created" in out
    assert "NetworkPolicy/swe-fleet-sandbox-deny-all created" in out
    assert "RayCluster/" not in out  # only with --raycluster
    assert "swe-fleet" in standin.objects[("apis/ray.io/v1", NS, "rayservices")]
    standin.script_status("rayservices", "swe-fleet", [{"serviceStatus": "Running"}])
    assert main(["cluster", "status", "--kubeconfig", str(kubeconfig)]) == 0
    out = capsys.readouterr().out
    assert (
        "RayService/swe-fleet: ready Running" in out and "RayJob/swe-fleet-backlog: pending" in out
    )
    assert (
        main(["cluster", "apply", "--kubeconfig", str(kubeconfig), "--wait", "--timeout", "5"]) == 0
    )
    assert "RayService/swe-fleet updated" in capsys.readouterr().out
    assert main(["cluster", "delete", "--kubeconfig", str(kubeconfig), "--all"]) == 0
    out = capsys.readouterr().out
    assert (
        "RayService/swe-fleet deleted" in out and "RayCluster/swe-fleet-raycluster not found" in out
    )
    assert standin.objects[("apis/ray.io/v1", NS, "rayservices")].get("swe-fleet") is None
    assert standin.objects[("apis/networking.k8s.io/v1", NS, "networkpolicies")] == {}
    assert main(["cluster", "status", "--kubeconfig", str(kubeconfig)]) == 1


def test_cli_without_a_cluster_fails_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["cluster", "status"]) == 2
    err = capsys.readouterr().err
    assert "no usable kubeconfig" in err and "set KUBECONFIG or pass --kubeconfig" in err
