"""Every file in config/ loads; broken files fail with the file, the key and the problem."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fleet.config import SCHEMAS, config_dir, fleet_config, load, load_all
from fleet.errors import ConfigError, UnknownName
from fleet.settings import ENV_OVERRIDES

REPO_CONFIG = config_dir()


def test_every_config_file_has_a_schema_and_loads():
    on_disk = {p.name for p in REPO_CONFIG.glob("*.yaml")}
    assert on_disk == set(SCHEMAS)
    loaded = load_all()
    assert set(loaded) == set(SCHEMAS)
    for name, model in loaded.items():
        assert isinstance(model, SCHEMAS[name])


def test_unknown_config_file_name():
    with pytest.raises(UnknownName, match="unknown config file 'nope.yaml'"):
        load("nope.yaml")


@pytest.fixture
def cfg_dir(tmp_path) -> Path:
    for p in REPO_CONFIG.glob("*.yaml"):
        shutil.copy(p, tmp_path / p.name)
    return tmp_path


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def broken(directory: Path, name: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        load_all(directory)
    err = exc.value
    assert err.file.endswith(name) and name in str(err)
    return err


def test_malformed_yaml_names_file_and_line(cfg_dir):
    edit(cfg_dir, "roles.yaml", "roles:", "roles: [unclosed\n  oops: {")
    err = broken(cfg_dir, "roles.yaml")
    assert re.search(r"line \d+, column \d+", err.key)
    assert err.problem.startswith("malformed YAML")
    assert re.search(r"roles\.yaml: line \d+, column \d+: malformed YAML", str(err))


def test_top_level_must_be_a_mapping(cfg_dir):
    (cfg_dir / "policy.yaml").write_text("- just\n- a list\n")
    err = broken(cfg_dir, "policy.yaml")
    assert "expected a mapping" in err.problem


def test_unknown_key_names_the_key_path(cfg_dir):
    edit(cfg_dir, "fleet.yaml", "gcs_port: 6380", "gcs_port: 6380\n  gsc_port: 1")
    err = broken(cfg_dir, "fleet.yaml")
    assert err.key == "ray.gsc_port"
    assert "Extra inputs are not permitted" in err.problem


def test_wrong_type_names_key_and_problem(cfg_dir):
    edit(
        cfg_dir,
        "fleet.yaml",
        "redis: {host: 127.0.0.1, port: 6390}",
        "redis: {host: 127.0.0.1, port: lots}",
    )
    err = broken(cfg_dir, "fleet.yaml")
    assert err.key == "redis.port"
    assert "integer" in err.problem


def test_unknown_role_in_scopes(cfg_dir):
    edit(cfg_dir, "scopes.yaml", "\nscopes:\n", "\nscopes:\n  wizard: {}\n")
    err = broken(cfg_dir, "scopes.yaml")
    assert err.key == "scopes.wizard" and "unknown role" in err.problem
    assert "developer" in err.problem  # lists the valid roles


def test_unknown_role_in_policy(cfg_dir):
    edit(cfg_dir, "policy.yaml", "\nroles:\n", "\nroles:\n  wizard: {}\n")
    err = broken(cfg_dir, "policy.yaml")
    assert err.key == "roles.wizard" and "unknown role" in err.problem


def test_unknown_role_in_model_routing(cfg_dir):
    edit(cfg_dir, "models.yaml", "\nrouting:\n", "\nrouting:\n  wizard: [" + first_model() + "]\n")
    err = broken(cfg_dir, "models.yaml")
    assert err.key == "routing.wizard" and "unknown role" in err.problem


def first_model() -> str:
    return next(iter(load("models.yaml").models))


def test_unknown_model_in_routing(cfg_dir):
    # `po` is a valid role without a route of its own, so only the model is wrong.
    edit(cfg_dir, "models.yaml", "\nrouting:\n", "\nrouting:\n  po: [gpt-imaginary]\n")
    err = broken(cfg_dir, "models.yaml")
    assert "routing.po" in str(err) and "unknown model 'gpt-imaginary'" in err.problem


def test_unknown_model_in_roles(cfg_dir):
    roles = load("roles.yaml")
    role, spec = next((r, s) for r, s in roles.roles.items() if s.model)
    text = (cfg_dir / "roles.yaml").read_text()
    pattern = re.compile(rf"(model:\s*){re.escape(spec.model)}\b")
    assert pattern.search(text)
    (cfg_dir / "roles.yaml").write_text(pattern.sub(r"\1gpt-imaginary", text, count=1))
    err = broken(cfg_dir, "roles.yaml")
    assert err.key.endswith(".model") and "unknown model 'gpt-imaginary'" in err.problem


def test_unknown_dimension_in_rigor(cfg_dir):
    edit(cfg_dir, "rigor.yaml", "weights: {build: 0.6,", "weights: {vibes: 1, build: 0.6,")
    err = broken(cfg_dir, "rigor.yaml")
    assert err.key.startswith("profiles.L0")
    assert "unknown dimension 'vibes'" in err.problem and "coverage" in err.problem


def test_bad_transition_state(cfg_dir):
    edit(cfg_dir, "lifecycle.yaml", "{from: BUILD, to: TEST,", "{from: BUILD, to: QA,")
    err = broken(cfg_dir, "lifecycle.yaml")
    assert "unknown state 'QA'" in err.problem and "transitions[" in err.problem


def test_undeclared_guard(cfg_dir):
    edit(cfg_dir, "lifecycle.yaml", "guards: [build_ok]", "guards: [vibes_ok]")
    err = broken(cfg_dir, "lifecycle.yaml")
    assert "undeclared guard 'vibes_ok'" in err.problem


def test_missing_file(cfg_dir):
    (cfg_dir / "rigor.yaml").unlink()
    err = broken(cfg_dir, "rigor.yaml")
    assert "cannot read" in err.problem


# ----------------------------------------------------------------------- settings (FLEET_*)


def test_fleet_config_defaults_expand_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = fleet_config(env={})
    raw = load("fleet.yaml")
    assert cfg.redis.port == raw.redis.port
    if raw.data_dir.startswith("~"):
        assert cfg.data_dir == str(tmp_path / raw.data_dir[2:])
    assert Path(cfg.data_dir).is_absolute() and "~" not in cfg.data_dir


def test_fleet_config_env_overrides(tmp_path):
    env = {
        "FLEET_DATA_DIR": str(tmp_path / "d"),
        "FLEET_REDIS_PORT": "7001",
        "FLEET_GATEWAY_PORT": "7002",
        "FLEET_DASHBOARD_PORT": "7003",
        "FLEET_RAY_GCS_PORT": "7004",
    }
    assert set(env) == set(ENV_OVERRIDES)
    cfg = fleet_config(env=env)
    assert cfg.data_dir == str(tmp_path / "d")
    assert (cfg.redis.port, cfg.gateway.port, cfg.ray.dashboard.port, cfg.ray.gcs_port) == (
        7001,
        7002,
        7003,
        7004,
    )
    assert cfg.redis.host == "127.0.0.1"  # untouched siblings keep their values


def test_fleet_config_reads_process_env(monkeypatch):
    monkeypatch.setenv("FLEET_REDIS_PORT", "7101")
    assert fleet_config().redis.port == 7101


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_fleet_config_bad_port_override(value):
    with pytest.raises(ConfigError) as exc:
        fleet_config(env={"FLEET_REDIS_PORT": value})
    assert exc.value.file == "environment" and exc.value.key == "FLEET_REDIS_PORT"
    assert "is not a port" in str(exc.value)


def test_fleet_config_honours_config_dir(monkeypatch, cfg_dir):
    edit(cfg_dir, "fleet.yaml", "port: 6390", "port: 6999")
    monkeypatch.setenv("FLEET_CONFIG_DIR", str(cfg_dir))
    assert fleet_config(env={}).redis.port == 6999
