"""The Kubernetes Job backend, rendered and validated offline (no cluster on this machine)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from fleet.adapters.k8s_job_sandbox import job_name, render
from fleet.contracts import Resources, RunContext, TaskSpec

SPEC = TaskSpec(
    id="Story-1:T2/run#3",
    cmd=("python", "-m", "pytest", "-q"),
    env={"PYTHONHASHSEED": "0"},
    image="ghcr.io/example/runner:1",
    timeout_s=120,
    resources=Resources(memory_mb=256, cpu_seconds=60),
    context=RunContext(story_id="s1", task_id="t2", role="qa", phase="test"),
)


@pytest.mark.parametrize("claim", [None, "ws-claim"])
def test_rendered_objects_validate_against_kubernetes_schemas(claim):
    for obj in render(SPEC, workspace_claim=claim):
        kubernetes_validate.validate(obj, "1.30.0", strict=True)


def test_job_is_locked_down():
    policy, job = render(SPEC)
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert job["spec"]["activeDeadlineSeconds"] == 120 and job["spec"]["backoffLimit"] == 0
    assert pod["automountServiceAccountToken"] is False
    assert c["command"] == ["python", "-m", "pytest", "-q"]  # an argv, no shell
    sc = c["securityContext"]
    assert (
        sc["runAsNonRoot"]
        and sc["readOnlyRootFilesystem"]
        and sc["capabilities"] == {"drop": ["ALL"]}
    )
    assert sc["allowPrivilegeEscalation"] is False and sc["runAsUser"] == 65534
    assert c["resources"]["limits"]["memory"] == "256Mi" and "requests" in c["resources"]
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "egress" not in policy["spec"] and "ingress" not in policy["spec"]  # deny all
    assert (
        policy["spec"]["podSelector"]["matchLabels"].items()
        <= job["spec"]["template"]["metadata"]["labels"].items()
    )


def test_invalid_object_is_caught_by_the_validator():
    _, job = render(SPEC)
    job["spec"]["activeDeadlineSeconds"] = "soon"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, "1.30.0", strict=True)


def test_job_names_are_dns_safe():
    name = job_name(SPEC)
    assert len(name) <= 63 and name == name.lower() and "/" not in name and "#" not in name


# --------------------------------------------------------------------------- against the API
# The real `kubernetes` client against the stand-in API server (tests/integration/kube_standin.py)
# with a stand-in kubelet that runs each Job's command as a local process. What this cannot show:
# a real kubelet's isolation (securityContext, NetworkPolicy, read-only root are not enforced),
# image pulls, or a real ReadWriteMany volume (the "claim" is a local directory both sides see).

NS = "swe-fleet"
PASSING = "def test_one():\n    assert 1 + 1 == 2\n\n\ndef test_two():\n    assert 'a' in 'abc'\n"


@pytest.fixture
def kube():
    from kube_standin import KubeletStandIn, KubeStandIn
    from kubernetes import client

    api = KubeStandIn().start()
    kubelet = KubeletStandIn(api).start()
    conf = client.Configuration()
    conf.host = api.url
    yield api, kubelet, client.ApiClient(conf)
    kubelet.stop()
    api.stop()


def _sandbox(api_client, root):
    from fleet.adapters.k8s_job_sandbox import K8sJobSandbox

    return K8sJobSandbox(
        namespace=NS,
        api_client=api_client,
        workspace_claim="fleet-workspaces",
        workspace_root=str(root),
        image="ghcr.io/swe-ai-fleet/fleet:test",
        poll_s=0.1,
    )


def _pytest_spec(ws, name="run-1", timeout_s=60.0):
    import sys

    return TaskSpec(
        id=name,
        cmd=(
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--junitxml=.fleet/junit.xml",
        ),
        workspace=str(ws),
        timeout_s=timeout_s,
        artifacts=(".fleet/junit.xml",),
        context=RunContext(story_id="s1", task_id="t1", role="runner", phase="test"),
    )


def test_job_runs_in_the_workspace_and_the_junit_report_comes_back(kube, tmp_path):
    from fleet.workspace import parse_junit

    api, kubelet, api_client = kube
    ws = tmp_path / "ws-1"
    (ws / ".fleet").mkdir(parents=True)
    (ws / "test_ok.py").write_text(PASSING)
    result = _sandbox(api_client, tmp_path).run(_pytest_spec(ws))
    assert result.status == "passed" and result.exit_code == 0 and result.backend == "k8s-job"
    assert "2 passed" in result.stdout  # the pod's log
    assert parse_junit(result.artifacts[".fleet/junit.xml"])[:2] == (2, 0)
    pod = kubelet.ran[0]
    assert pod["containers"][0]["workingDir"] == str(ws)
    assert {"name": "workspace", "mountPath": str(tmp_path)} in pod["containers"][0]["volumeMounts"]
    claim = next(v for v in pod["volumes"] if v["name"] == "workspace")
    assert claim["persistentVolumeClaim"]["claimName"] == "fleet-workspaces"
    assert pod["containers"][0]["image"] == "ghcr.io/swe-ai-fleet/fleet:test"
    # the Job and its NetworkPolicy are gone afterwards
    assert not api.objects.get(("apis/batch/v1", NS, "jobs"))
    assert not api.objects.get(("apis/networking.k8s.io/v1", NS, "networkpolicies"))


def test_failing_tests_are_a_failed_result_with_their_report(kube, tmp_path):
    from fleet.workspace import parse_junit

    _, _, api_client = kube
    ws = tmp_path / "ws-2"
    (ws / ".fleet").mkdir(parents=True)
    (ws / "test_bad.py").write_text("def test_bad():\n    assert 1 == 2\n")
    result = _sandbox(api_client, tmp_path).run(_pytest_spec(ws, "run-2"))
    assert result.status == "failed" and result.exit_code == 1
    passed, failed, names = parse_junit(result.artifacts[".fleet/junit.xml"])
    assert (passed, failed) == (0, 1) and any("test_bad" in n for n in names)


def test_deadline_is_a_timeout(kube, tmp_path):
    _, _, api_client = kube
    spec = TaskSpec(id="run-3", cmd=("sleep", "30"), timeout_s=1)
    result = _sandbox(api_client, tmp_path).run(spec)
    assert result.status == "timeout" and result.limit_hit == "wall_clock"


def test_workspace_outside_the_claim_cannot_run(kube, tmp_path):
    from fleet.adapters.k8s_job_sandbox import K8sJobSandbox
    from fleet.errors import SandboxUnavailable

    _, _, api_client = kube
    with pytest.raises(SandboxUnavailable, match="not under workspace_root"):
        _sandbox(api_client, tmp_path / "root").run(_pytest_spec(tmp_path / "elsewhere"))
    bare = K8sJobSandbox(namespace=NS, api_client=api_client)
    with pytest.raises(SandboxUnavailable, match="workspace_claim"):
        bare.run(_pytest_spec(tmp_path))


def test_workspace_runner_on_k8s_jobs_reports_the_tests(kube, tmp_path):
    """The real workspace runner (clone, apply, build/test/lint, gate) with every step a Job."""
    from cluster.cli.stories import sample_repo
    from fleet.adapters.workspace import WorkspaceRunner

    _, kubelet, api_client = kube
    repo = sample_repo(str(tmp_path / "src"))
    runner = WorkspaceRunner(_sandbox(api_client, tmp_path), root=tmp_path / "workspaces")
    outcome = runner.execute(
        str(repo),
        {"tests/test_extra.py": PASSING},
        branch="fleet/k8s",
        context=RunContext(story_id="s1", task_id="t1", role="developer", phase="build"),
    )
    assert outcome.report is not None and outcome.report.build_ok
    assert outcome.report.unit_passed >= 2 and outcome.report.unit_failed == 0  # from the JUnit
    assert outcome.report.coverage is not None  # coverage.json came back too
    assert len(kubelet.ran) >= 3  # build, test, coverage, lint: each its own Job


def test_supervisor_selects_k8s_job_from_config(kube, tmp_path, monkeypatch):
    """`sandbox.backend: k8s_job` through the registry, with credentials from a kubeconfig."""
    import yaml

    from actors.sandbox import SandboxSupervisor

    api, _, _ = kube
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "standin", "cluster": {"server": api.url}}],
        "users": [{"name": "me", "user": {"token": "unused"}}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "me"}}],
        "current-context": "standin",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    ws = tmp_path / "ws-9"
    (ws / ".fleet").mkdir(parents=True)
    (ws / "test_ok.py").write_text(PASSING)
    sup = SandboxSupervisor(
        sandbox={
            "backend": "k8s_job",
            "k8s_job": {
                "namespace": NS,
                "workspace_claim": "c",
                "workspace_root": str(tmp_path),
                "poll_s": 0.1,
            },
        }
    )
    health = sup.check_health()
    assert health["ok"] and health["backend"] == "audited:k8s-job"
    spec = _pytest_spec(ws, "run-9")
    # what policy.yaml lets the runner role run in the test phase: pytest under coverage
    spec = spec.model_copy(update={"cmd": (spec.cmd[0], "-m", "coverage", "run", *spec.cmd[1:])})
    result = sup.run(spec)
    assert result.status == "passed" and "2 passed" in result.stdout
    assert result.artifacts[".fleet/junit.xml"].startswith("<?xml")


def test_cwd_is_a_directory_inside_the_workspace(tmp_path):
    from fleet.errors import InvalidInput

    spec = SPEC.model_copy(update={"workspace": str(tmp_path / "ws"), "cwd": "repo"})
    _, job = render(spec, workspace_claim="c", workspace_root=str(tmp_path))
    assert job["spec"]["template"]["spec"]["containers"][0]["workingDir"] == f"{tmp_path}/ws/repo"
    for bad in ("../etc", "/etc"):
        with pytest.raises(InvalidInput, match="relative path inside the workspace"):
            render(spec.model_copy(update={"cwd": bad}), workspace_claim="c", workspace_root="/")
