"""KubeRay manifests: rendered from config, validated against the real CRD schemas, broken ones named.

No cluster here: validation is offline (``jsonschema`` over the KubeRay CRDs' openAPIV3Schema,
``kubernetes-validate`` for core objects).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from cluster import kuberay_validate as kv
from cluster.cli import main
from cluster.kuberay import rayservice, serve_config
from cluster.kuberay_objects import manifests
from fleet import config
from fleet.config import ClusterConfig
from fleet.errors import ConfigError, ResourceInvalid

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def cfg() -> ClusterConfig:
    return config.load("cluster.yaml")


@pytest.fixture(scope="module")
def models():
    return config.load("models.yaml")


@pytest.fixture(scope="module")
def rendered(cfg, models) -> dict[str, list[dict]]:
    return manifests(cfg, models)


def _raw() -> dict:
    return yaml.safe_load((CONFIG / "cluster.yaml").read_text())


def _parse(raw: dict) -> ClusterConfig:
    return config.parse("cluster.yaml", yaml.safe_dump(raw), ClusterConfig)


# ----------------------------------------------------------------------------- happy path


@pytest.mark.slow  # the Kubernetes schemas take seconds to load: kept out of `make test-unit`
def test_every_rendered_manifest_validates(rendered):
    objs = [o for fs in rendered.values() for o in fs]
    kinds = sorted(o["kind"] for o in objs)
    assert kinds == sorted(
        [
            "Namespace",
            "ServiceAccount",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "NetworkPolicy",
            "Service",
            "RayService",
            "RayCluster",
            "RayJob",
        ]
    )
    assert {f"{o['kind']}/{o['metadata']['name']}": kv.problems(o) for o in objs} == {
        f"{o['kind']}/{o['metadata']['name']}": [] for o in objs
    }


def test_cluster_shape_follows_config(cfg, rendered):
    spec = rendered["10-rayservice.yaml"][0]["spec"]["rayClusterConfig"]
    assert spec["rayVersion"] == "2.60.0"
    head = spec["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"
    assert "nvidia.com/gpu" not in head["template"]["spec"]["containers"][0]["resources"]["limits"]
    cpu, gpu = spec["workerGroupSpecs"]
    assert cpu["groupName"] == "cpu" and cpu["template"]["spec"]["serviceAccountName"] == (
        cfg.sandbox.supervisor_service_account
    )
    limits = gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"
    assert gpu["template"]["spec"]["nodeSelector"] == {
        "cloud.google.com/gke-accelerator": "nvidia-l4"
    }
    assert gpu["template"]["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert (gpu["minReplicas"], gpu["replicas"], gpu["maxReplicas"]) == (1, 1, 4)
    assert spec["gcsFaultToleranceOptions"]["redisPassword"]["valueFrom"]["secretKeyRef"] == {
        "name": "fleet-redis",
        "key": "password",
    }
    env = {e["name"]: e for e in head["template"]["spec"]["containers"][0]["env"]}
    assert env["HF_TOKEN"] == {
        "name": "HF_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "fleet-model-tokens", "key": "hf-token"}},
    }
    assert spec["authOptions"] == {"mode": "token", "secretName": "fleet-ray-auth"}


def test_serve_config_deploys_gateway_and_llm(cfg, models):
    apps = {a["name"]: a for a in serve_config(cfg, models)["applications"]}
    assert apps["gateway"]["import_path"] == "serve_apps.gateway:build_app"
    assert apps["gateway"]["route_prefix"] == "/"
    assert apps["llm"]["route_prefix"] == "/llm"
    assert apps["llm"]["args"] == {"model": "vllm-qwen"}
    from serve_apps.gateway.app import GatewayArgs

    gw = GatewayArgs.model_validate(apps["gateway"]["args"])  # the gateway accepts what we render
    assert gw.redis_url == cfg.redis_url and gw.namespace == cfg.ray_namespace
    text = rayservice(cfg, models)["spec"]["serveConfigV2"]
    assert yaml.safe_load(text)["applications"][1]["import_path"] == cfg.serve.llm.import_path


@pytest.mark.slow  # imports ray.serve.llm (seconds): kept out of `make test-unit`
def test_llm_app_config_is_a_valid_ray_serve_llm_config(cfg, models):
    """The llm app turns each served models.yaml entry into a real ray.serve.llm LLMConfig."""
    from ray.llm._internal.serve.core.configs.llm_config import LLMConfig

    from serve_apps.llm.vllm import llm_config_dict

    for name in cfg.serve.llm.models:
        rendered = llm_config_dict(models.models[name])
        # the prefix-aware router class imports vLLM to validate: checked without it in
        # tests/serve/test_vllm_prefix_routing.py
        rendered["deployment_config"].pop("request_router_config")
        conf = LLMConfig(**rendered)
        assert conf.accelerator_type == cfg.gpu_workers.accelerator_type
        assert conf.deployment_config["autoscaling_config"]["max_replicas"] == 4


def test_sandbox_policy_and_rbac(rendered):
    core = {f"{o['kind']}/{o['metadata']['name']}": o for o in rendered["00-core.yaml"]}
    policy = core["NetworkPolicy/swe-fleet-sandbox-deny-all"]["spec"]
    assert policy["egress"] == [] and "Egress" in policy["policyTypes"]
    assert policy["podSelector"]["matchLabels"] == {"swe-fleet.io/sandbox": "true"}
    rules = core["Role/swe-fleet-sandbox-supervisor"]["rules"]
    jobs = next(r for r in rules if r["resources"] == ["jobs"])
    assert set(jobs["verbs"]) >= {"create", "get", "delete"} and jobs["apiGroups"] == ["batch"]
    assert any(r["resources"] == ["pods/log"] for r in rules)
    assert core["ServiceAccount/swe-fleet-sandbox-runner"]["automountServiceAccountToken"] is False


# ----------------------------------------------------------------------------- broken config


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (lambda r: r["gpu_workers"].pop("gpus"), "gpu_workers.gpus", "GPU limit"),
        (lambda r: r["gpu_workers"].update(gpus=0), "gpu_workers.gpus", "GPU limit"),
        (
            lambda r: r["cpu_workers"].update(replicas=-1),
            "cpu_workers.replicas",
            "greater than or equal to 0",
        ),
        (lambda r: r["gpu_workers"].update(gpu_count=2), "gpu_workers.gpu_count", "Extra inputs"),
        (lambda r: r.update(replicas=3), "replicas", "Extra inputs"),
        (
            lambda r: r["cpu_workers"].update(min_replicas=7),
            "cpu_workers",
            "min_replicas 7 > max_replicas 6",
        ),
        (
            lambda r: r["secrets"].update(HF_TOKEN="hf_abcdefghijklmnopqrstuvwxyz"),
            "secrets.HF_TOKEN",
            "inline",
        ),
        (
            lambda r: r["secrets"].update(X={"secret": "s", "key": "k", "value": "v"}),
            "secrets.X.value",
            "Extra",
        ),
        (lambda r: r["env"].update(GITHUB_TOKEN="x"), "env", "looks like a secret"),
        (
            lambda r: r["env"].update(URL="https://u:sk-abcdefghijklmnopqrstu@x"),
            "env",
            "inline credential",
        ),
        (
            lambda r: r["gcs_fault_tolerance"].update(password="hunter2"),
            "gcs_fault_tolerance.password",
            "inline",
        ),
        (
            lambda r: r.update(redis_url="redis://:hunter2@graph:6379"),
            "redis_url",
            "inline credential",
        ),
    ],
)
def test_broken_config_names_the_field(mutate, key, words):
    raw = _raw()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        _parse(raw)
    assert err.value.key == key
    assert words in str(err.value)


def test_unknown_or_wrong_model_names_the_field(models):
    raw = _raw()
    raw["serve"]["llm"]["models"] = ["vllm-qwen", "nope"]
    with pytest.raises(ConfigError, match=r"unknown model 'nope'; vllm models: vllm-qwen") as err:
        manifests(_parse(raw), models)
    assert err.value.key == "serve.llm.models[1]"
    raw["serve"]["llm"]["models"] = ["local-smollm2"]
    with pytest.raises(ConfigError, match="is llamacpp, not vllm"):
        manifests(_parse(raw), models)
    raw["serve"]["llm"]["models"] = ["vllm-qwen"]
    raw["gpu_workers"]["accelerator_type"] = "A100"
    with pytest.raises(ConfigError, match="wants accelerator L4 but gpu_workers has A100"):
        manifests(_parse(raw), models)


# ----------------------------------------------------------------------------- broken manifests


def _group(obj: dict, i: int) -> dict:
    return obj["spec"]["rayClusterConfig"]["workerGroupSpecs"][i]


def test_schema_violations_name_the_path(rendered):
    obj = copy.deepcopy(rendered["10-rayservice.yaml"][0])
    _group(obj, 1)["replicas"] = -1
    _group(obj, 0)["replicas"] = "two"
    _group(obj, 0)["groupNmae"] = "typo"
    obj["spec"]["rayClusterConfig"]["rayVersion"] = 2
    _group(obj, 1)["template"]["spec"]["containers"][0]["resources"]["limits"].pop("nvidia.com/gpu")
    found = kv.problems(obj)
    assert (
        "spec.rayClusterConfig.workerGroupSpecs[1].replicas: -1 is less than the minimum of 0"
        in found
    )
    assert (
        "spec.rayClusterConfig.workerGroupSpecs[0].replicas: 'two' is not of type 'integer'"
        in found
    )
    assert any(
        p.startswith("spec.rayClusterConfig.workerGroupSpecs[0]: ") and "'groupNmae'" in p
        for p in found
    )
    assert "spec.rayClusterConfig.rayVersion: 2 is not of type 'string'" in found
    assert (
        "spec.rayClusterConfig.workerGroupSpecs[1].template.spec.containers[0].resources.limits: "
        "GPU group has no GPU limit" in found
    )
    with pytest.raises(ResourceInvalid) as err:
        kv.validate(obj)
    assert err.value.kind == "RayService" and len(err.value.problems) == len(found)


@pytest.mark.slow  # loads the CRD schemas (seconds): kept out of `make test-unit`
def test_crd_extensions_are_honoured(rendered):
    obj = copy.deepcopy(rendered["20-raycluster.yaml"][0])
    container = obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    container["resources"]["limits"]["cpu"] = 2  # int-or-string: an int is fine
    assert kv.problems(obj) == []
    container["resources"]["limits"]["cpu"] = ["2"]
    obj["spec"]["workerGroupSpecs"][0]["maxReplicas"] = 2**31
    containers = obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    containers.append(copy.deepcopy(containers[0]))  # list-type map keyed by name
    found = kv.problems(obj)
    assert any(
        p.startswith("spec.headGroupSpec.template.spec.containers[0].resources.limits.cpu")
        for p in found
    )
    assert "spec.workerGroupSpecs[0].maxReplicas: 2147483648 does not fit in int32" in found
    assert any("duplicate entry with {'name': 'ray-head'}" in p for p in found)


def test_semantic_checks_beyond_the_schema(rendered):
    obj = copy.deepcopy(rendered["10-rayservice.yaml"][0])
    _group(obj, 0).update(minReplicas=5, replicas=2, maxReplicas=3)
    obj["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = "4"
    conf = yaml.safe_load(obj["spec"]["serveConfigV2"])
    conf["applications"][1]["route_prefix"] = "/"
    obj["spec"]["serveConfigV2"] = yaml.safe_dump(conf)
    found = kv.problems(obj)
    assert (
        "spec.rayClusterConfig.workerGroupSpecs[0]: need minReplicas <= replicas <= maxReplicas, got 5 <= 2 <= 3"
        in found
    )
    assert (
        "spec.rayClusterConfig.headGroupSpec.rayStartParams.num-cpus: the head must advertise 0 CPUs"
        in found
    )
    assert "spec.serveConfigV2.applications[1].route_prefix: duplicate '/'" in found


def test_core_object_violation_names_the_path(rendered):
    svc = copy.deepcopy(next(o for o in rendered["00-core.yaml"] if o["kind"] == "Service"))
    svc["spec"]["ports"][0]["port"] = "eighty"
    found = kv.problems(svc)
    assert len(found) == 1 and found[0].startswith("spec.ports[0].port: 'eighty'")


# ----------------------------------------------------------------------------- CLI


@pytest.mark.slow  # loads the CRD schemas (seconds): kept out of `make test-unit`
def test_cli_render_writes_valid_files(tmp_path, capsys):
    assert main(["cluster", "render", "--out", str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["00-core.yaml", "10-rayservice.yaml", "20-raycluster.yaml", "30-rayjob.yaml"]
    for path in tmp_path.iterdir():
        for obj in yaml.safe_load_all(path.read_text()):
            assert kv.problems(obj) == [], path.name
    (job,) = yaml.safe_load_all((tmp_path / "30-rayjob.yaml").read_text())
    assert job["spec"]["shutdownAfterJobFinishes"] is True
    assert "RayService/swe-fleet" in capsys.readouterr().out


def test_cli_render_broken_config_exits_with_the_field(tmp_path, capsys):
    cfg_dir = tmp_path / "config"
    shutil.copytree(CONFIG, cfg_dir)
    raw = _raw()
    raw["gpu_workers"].pop("gpus")
    (cfg_dir / "cluster.yaml").write_text(yaml.safe_dump(raw))
    assert (
        main(["cluster", "render", "--config-dir", str(cfg_dir), "--out", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err
    assert "gpu_workers.gpus" in err and "GPU limit" in err
    assert not (tmp_path / "o").exists()


def test_containerfile_matches_the_cluster_config(cfg):
    text = (CONFIG.parent / "cluster" / "Containerfile").read_text()
    assert f"ARG RAY_VERSION={cfg.ray_version}" in text
    assert "FROM rayproject/ray:${RAY_VERSION}-${PYTHON_TAG}-gpu AS base-gpu" in text
    assert ".[gpu]" in text and "COPY --chown=ray:users config/ /app/config/" in text
    pyproject = (CONFIG.parent / "pyproject.toml").read_text()
    assert f'"ray[serve,default]=={cfg.ray_version}"' in pyproject
    env = {
        e["name"]: e.get("value")
        for e in manifests(cfg, config.load("models.yaml"))["10-rayservice.yaml"][0]["spec"][
            "rayClusterConfig"
        ]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["FLEET_CONFIG_DIR"] == "/app/config"  # where the image puts config/
