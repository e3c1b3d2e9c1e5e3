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
from cluster.kuberay import gateway_url, rayservice, serve_config
from cluster.kuberay_objects import manifests, read_backlog
from cluster.rehearse import localize
from fleet import config
from fleet.adapters.model_registry import RoleModels
from fleet.config import ClusterConfig, ModelsConfig
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
    return manifests(cfg, models, read_backlog(cfg, CONFIG))


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
            "PersistentVolumeClaim",
            "ConfigMap",
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


def test_rayjob_entrypoint_is_a_fleet_command_and_its_backlog_is_mounted(rendered):
    """The RayJob runs `fleet backlog FILE`; FILE is in the ConfigMap the renderer emits."""
    import shlex

    from cluster.cli import build_parser
    from cluster.cli.jobs import load_backlog

    job = rendered["30-rayjob.yaml"][0]
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[0] == "fleet"
    parsed = build_parser().parse_args(argv[1:])  # SystemExit (exit 2) if the CLI rejects it
    assert parsed.command == "backlog" and callable(parsed.func)
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    mount = head["containers"][0]["volumeMounts"][0]
    volume = next(v for v in head["volumes"] if v["name"] == mount["name"])
    assert parsed.backlog.startswith(mount["mountPath"] + "/")
    cms = [o for o in rendered["00-core.yaml"] if o["kind"] == "ConfigMap"]
    cm = next(o for o in cms if o["metadata"]["name"] == volume["configMap"]["name"])
    key = parsed.backlog[len(mount["mountPath"]) + 1 :]
    path = Path(__file__).parent / "_backlog.yaml"
    try:
        path.write_text(cm["data"][key])
        assert load_backlog(str(path), resolve_paths=False)["stories"][0]["title"]
    finally:
        path.unlink(missing_ok=True)


def test_serve_config_brings_up_the_orchestrator(cfg, models):
    """The gateway app carries the orchestrator's settings: its start-up creates the fleet."""
    from actors.settings import OrchestratorSettings
    from serve_apps.gateway.app import GatewayArgs

    apps = {a["name"]: a for a in serve_config(cfg, models)["applications"]}
    args = GatewayArgs.model_validate(apps["gateway"]["args"])
    settings = OrchestratorSettings.model_validate(args.fleet)
    assert settings.redis_url == cfg.redis_url and settings.namespace == cfg.ray_namespace
    assert settings.sandbox.backend == "k8s_job"
    assert settings.sandbox.k8s_job.workspace_claim == cfg.sandbox.workspace_claim
    assert settings.data_dir.startswith(cfg.sandbox.workspace_root + "/")
    assert settings.llm_base_url == {"vllm-qwen": f"{gateway_url(cfg)}/llm/v1"}
    assert settings.model == apps["llm"]["args"]["model"]


def test_the_council_settings_of_cluster_yaml_reach_the_orchestrator():
    """Debugging and distinguishing inputs are cluster.yaml settings, not fixed defaults."""
    from actors.settings import OrchestratorSettings
    from serve_apps.gateway.app import GatewayArgs

    raw = _raw()
    raw["orchestrator"] |= {
        "debug_rounds": 3, "distinguish": False, "resample_failing": True, "critique": True,
    }  # fmt: skip
    apps = {
        a["name"]: a for a in serve_config(_parse(raw), config.load("models.yaml"))["applications"]
    }
    settings = OrchestratorSettings.model_validate(
        GatewayArgs.model_validate(apps["gateway"]["args"]).fleet
    )
    assert settings.debug_rounds == 3 and settings.distinguish is False
    assert settings.resample_failing is True and settings.critique is True  # not the defaults


def _two_served() -> tuple[ClusterConfig, ModelsConfig]:
    """cluster.yaml serving two vLLM models; models.yaml routing the QA to the second."""
    raw = _raw()
    raw["serve"]["llm"]["models"] = ["vllm-qwen", "vllm-coder-7b"]
    mraw = yaml.safe_load((CONFIG / "models.yaml").read_text())
    mraw["models"]["vllm-coder-7b"] = {**mraw["models"]["vllm-qwen"], "model_id": "coder-7b"}
    mraw["routing"]["qa"] = ["vllm-coder-7b"]
    return _parse(raw), config.parse("models.yaml", yaml.safe_dump(mraw), ModelsConfig)


def test_each_served_model_is_reached_at_its_own_llm_app():
    """A role routed to the second served model talks to that model's app, not the first's."""
    from actors.settings import OrchestratorSettings

    cfg, models = _two_served()
    apps = serve_config(cfg, models)["applications"]
    routes = {a["args"]["model"]: a["route_prefix"] for a in apps if a["name"] != "gateway"}
    assert routes == {"vllm-qwen": "/llm", "vllm-coder-7b": "/llm/vllm-coder-7b"}
    settings = OrchestratorSettings.model_validate(apps[0]["args"]["fleet"])
    assert settings.llm_base_url == {n: f"{gateway_url(cfg)}{r}/v1" for n, r in routes.items()}

    # the QA's routing reaches the orchestrator (the first served model is every other role's)
    assert (settings.model, settings.role_models) == ("vllm-qwen", {"qa": "vllm-coder-7b"})
    model = settings.role_models.get("qa") or settings.model  # as the council spawns its agents
    ((name, chat),) = RoleModels(
        models, "qa", model=model, llm_base_url=settings.llm_base_url
    ).chain
    assert name == "vllm-coder-7b"
    assert (chat.base_url, chat.model_id) == (
        f"{gateway_url(cfg)}/llm/vllm-coder-7b/v1",
        "coder-7b",
    )


def test_rehearsal_sends_every_model_to_the_one_local_llm_app():
    """`fleet cluster rehearse` keeps one llm app: every model name leads to it."""
    from actors.settings import OrchestratorSettings

    cfg, models = _two_served()
    local, changes = localize(
        serve_config(cfg, models),
        redis_url="redis://127.0.0.1:1",
        port=8123,
        data_dir="/tmp/rehearsal",
        llm_model="local-smollm2",
    )
    assert [a["name"] for a in local["applications"]] == ["gateway", "llm"]
    assert "applications[llm-vllm-coder-7b]: removed (one local model here)" in changes
    fleet = OrchestratorSettings.model_validate(local["applications"][0]["args"]["fleet"])
    url = "http://127.0.0.1:8123/llm/v1"
    assert fleet.llm_base_url == dict.fromkeys(["vllm-qwen", "vllm-coder-7b", "local-smollm2"], url)
    assert fleet.role_models == {}  # the QA's vLLM model is not here: the local one answers
    assert "applications[gateway].args.fleet.role_models: {'qa': 'vllm-coder-7b'} -> {}" in changes
    ((_, chat),) = RoleModels(
        models, "qa", model=fleet.model, llm_base_url=fleet.llm_base_url
    ).chain
    assert (chat.base_url, chat.name) == (url, "local-smollm2")


def test_backlog_repos_are_git_urls_or_paths_the_image_ships():
    """A local `repo` in the shipped backlog must be a git repository the Containerfile builds."""
    containerfile = (CONFIG.parent / "cluster" / "Containerfile").read_text()
    backlog = yaml.safe_load((CONFIG.parent / "cluster" / "backlog.yaml").read_text())
    for story in backlog["stories"]:
        repo = story["repo"]
        if "://" in repo:
            continue
        assert f"COPY --chown=ray:users tests/fixtures/sample_repo/ {repo}/" in containerfile
        assert f"git -C {repo} init" in containerfile
        assert (CONFIG.parent / "tests" / "fixtures" / "sample_repo").is_dir()
