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
