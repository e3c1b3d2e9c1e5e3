"""The fleet's environment in one place: ``fleet/settings.py`` is the only module that names a
``FLEET_`` variable, its ``Settings`` object reads them with clear errors, and
``docs/configuration.md`` lists exactly its fields.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleet.config import fleet_config, load
from fleet.errors import ConfigError
from fleet.settings import ENV_OVERRIDES, OVERRIDES, Settings, env_name, settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("fleet", "actors", "serve_apps", "cluster", "benchmarks")
OWNER = "fleet/settings.py"

# Modules allowed to name a FLEET_ variable themselves for now, each with why (empty: the fault
# benchmark's docstring, the last one, now names the setting). An entry must still be needed.
ALLOWED: dict[str, str] = {}


def _naming_modules() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if "node_modules" in rel or "/fixtures/" in rel:
                continue
            if "FLEET_" in path.read_text(errors="replace"):
                found.add(rel)
    return found


# ----------------------------------------------------------------------------- one place


def test_only_the_settings_module_names_fleet_variables():
    stray = _naming_modules() - {OWNER} - set(ALLOWED)
    assert stray == set(), (
        f"modules naming FLEET_ variables: {sorted(stray)}; read the value with "
        "fleet.settings.settings() and write a name with fleet.settings.env_name()"
    )


def test_the_allowlist_holds_only_modules_that_still_need_it():
    assert _naming_modules() >= set(ALLOWED), "an allowed module no longer names FLEET_: drop it"


def test_the_data_dir_default_is_written_once():
    hits = [
        p.relative_to(ROOT).as_posix()
        for package in (*PACKAGES, "config")
        for p in (ROOT / package).rglob("*")
        if p.suffix in (".py", ".yaml")
        and "fixtures" not in p.parts
        and "~/.swe-fleet" in p.read_text(errors="replace")
    ]
    assert hits == ["config/fleet.yaml"]


def test_every_variable_name_comes_from_a_field():
    assert env_name("po_token") == "FLEET_PO_TOKEN"
    assert all(env_name(f) == "FLEET_" + f.upper() for f in Settings.model_fields)
    with pytest.raises(KeyError, match="no setting 'po_tokn'"):
        env_name("po_tokn")  # a typo must not name a variable nobody reads


# ----------------------------------------------------------------------------- behaviour


def test_defaults_when_nothing_is_set():
    got = settings({})
    assert got.config_dir is None and got.data_dir is None and got.repo_roots is None
    assert all(getattr(got, field) is None for field in OVERRIDES)
    assert got.debug is False
    assert got.hf_model_dir == Path("~/.cache/swe-fleet/smollm2-135m-hf")


def test_the_process_environment_is_read_at_each_call(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEET_REPO_ROOTS", f"{tmp_path}/a::{tmp_path}/b")
    monkeypatch.setenv("FLEET_PO_TOKEN", "s3cret")
    monkeypatch.setenv("FLEET_GATEWAY_PORT", "")  # empty is unset
    got = settings()
    assert got.repo_roots == (f"{tmp_path}/a", f"{tmp_path}/b")  # a search path, not JSON
    assert got.po_token is not None and got.po_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(got)  # tokens never show in a log line or traceback
    assert got.gateway_port is None
    monkeypatch.setenv("FLEET_REPO_ROOTS", str(tmp_path))
    assert settings().repo_roots == (str(tmp_path),)


def test_a_given_mapping_ignores_the_process_environment(monkeypatch):
    monkeypatch.setenv("FLEET_REDIS_PORT", "7101")
    monkeypatch.setenv("FLEET_ACTOR_RESOURCE", "fleet_worker")
    got = settings({"FLEET_GATEWAY_PORT": "7102"})
    assert (got.redis_port, got.gateway_port, got.actor_resource) == (None, 7102, None)


@pytest.mark.parametrize(
    ("raw", "on"), [("1", True), ("yes", True), ("0", False), ("false", False), ("OFF", False)]
)
def test_the_debug_flag(raw, on):
    assert settings({"FLEET_DEBUG": raw}).debug is on


@pytest.mark.parametrize("value", ["abc", "0", "70000", "80.5"])
def test_a_bad_port_names_the_variable(value):
    with pytest.raises(ConfigError) as exc:
        settings({"FLEET_DASHBOARD_PORT": value})
    assert exc.value.file == "environment" and exc.value.key == "FLEET_DASHBOARD_PORT"
    assert str(exc.value) == f"environment: FLEET_DASHBOARD_PORT: {value!r} is not a port (1-65535)"


def test_a_bad_port_in_the_process_environment_is_a_config_error(monkeypatch):
    monkeypatch.setenv("FLEET_RAY_GCS_PORT", "http")
    with pytest.raises(ConfigError, match="FLEET_RAY_GCS_PORT: 'http' is not a port"):
        fleet_config()


def test_overrides_reach_fleet_yaml_and_nothing_else_changes(tmp_path):
    env = {"FLEET_DATA_DIR": "~/elsewhere", "FLEET_GATEWAY_PORT": "7002"}
    cfg, raw = fleet_config(env=env), load("fleet.yaml")
    assert cfg.data_dir == str(Path("~/elsewhere").expanduser()) and cfg.gateway.port == 7002
    assert (cfg.redis.port, cfg.ray.gcs_port) == (raw.redis.port, raw.ray.gcs_port)
    assert set(ENV_OVERRIDES) == {env_name(f) for f in OVERRIDES}


def test_config_dir_comes_from_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEET_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as exc:
        load("fleet.yaml")  # the empty directory is where the loader looks now
    assert exc.value.file == str(tmp_path / "fleet.yaml")


# ----------------------------------------------------------------------------- docs


def test_the_docs_list_every_variable_with_its_description():
    page = (ROOT / "docs" / "configuration.md").read_text()
    block = re.search(r"<!-- generated from fleet/settings.py.*?-->\n(.*?)<!-- end of", page, re.S)
    assert block, "docs/configuration.md lost its generated settings table"
    rows = ["| variable | what it sets |", "|---|---|"]
    rows += [f"| `{env_name(f)}` | {i.description} |" for f, i in Settings.model_fields.items()]
    assert block.group(1).strip() == "\n".join(rows), (
        "docs/configuration.md's table differs from fleet/settings.py; regenerate it:\n"
        + "\n".join(rows)
    )
