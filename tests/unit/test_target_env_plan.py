"""What a repository's metadata asks to install (read as data), and the cache key."""

from __future__ import annotations

import os
from pathlib import Path

from fleet.adapters.target_env import plan

PY = "3.11 test"


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).write_text(text)
    return root


def test_no_metadata_keeps_the_fleets_python(tmp_path):
    assert plan(_write(tmp_path, {"README.md": "x"}), python_version=PY) is None


def test_a_project_without_dependencies_keeps_the_fleets_python(tmp_path):
    repo = _write(tmp_path, {"pyproject.toml": '[project]\nname = "a"\nversion = "1"\n'})
    assert plan(repo, python_version=PY) is None


def test_tool_only_pyproject_is_no_metadata(tmp_path):
    assert plan(_write(tmp_path, {"pyproject.toml": "[tool.ruff]\n"}), python_version=PY) is None


def test_pyproject_dependencies_and_test_extras(tmp_path):
    text = (
        '[project]\nname = "a"\nversion = "1"\ndependencies = ["roman"]\n'
        '[project.optional-dependencies]\ndev = ["x"]\ndocs = ["y"]\ntest = ["z"]\n'
    )
    found = plan(_write(tmp_path, {"pyproject.toml": text}), python_version=PY)
    assert found is not None and found.project
    assert found.extras == ("test", "dev") and found.requirements == ()


def test_setup_cfg_and_requirements(tmp_path):
    cfg = "[metadata]\nname = a\n[options]\ninstall_requires =\n  roman\n"
    cfg += "[options.extras_require]\ntesting = pytest\n"
    files = {"setup.cfg": cfg, "requirements.txt": "roman\n", "requirements-dev.txt": "x\n"}
    found = plan(_write(tmp_path, files), python_version=PY)
    assert found is not None and found.project and found.extras == ("testing",)
    assert found.requirements == ("requirements-dev.txt", "requirements.txt")


def test_requirements_alone_do_not_install_a_project(tmp_path):
    found = plan(_write(tmp_path, {"requirements.txt": "roman\n"}), python_version=PY)
    assert found is not None and not found.project


def test_the_key_follows_the_dependency_files_and_the_python(tmp_path):
    repo = _write(tmp_path, {"requirements.txt": "roman\n", "app.py": "x = 1\n"})
    first = plan(repo, python_version=PY)
    (repo / "app.py").write_text("x = 2\n")  # code is not part of the key
    assert plan(repo, python_version=PY) == first
    assert plan(repo, python_version="3.12") != first
    (repo / "requirements.txt").write_text("roman==5.2\n")
    assert plan(repo, python_version=PY) != first


def test_a_linked_dependency_file_is_not_read(tmp_path):
    (tmp_path / "secret").write_text("roman\n")
    os.symlink(tmp_path / "secret", tmp_path / "requirements.txt")
    repo = tmp_path
    assert plan(repo, python_version=PY) is None


def test_only_a_phase_that_says_so_may_ask_for_the_network():
    from fleet.config import load
    from fleet.policy import PolicyEngine

    policy = PolicyEngine(load("policy.yaml"))
    install = ["/venv/bin/uv", "pip", "install", "--no-config", "."]
    assert policy.decide(install, role="installer", phase="install", network=True).allowed
    test = ["python", "-m", "coverage", "run", "-m", "pytest"]
    assert policy.decide(test, role="runner", phase="test").allowed
    refused = policy.decide(test, role="runner", phase="test", network=True)
    assert not refused.allowed and refused.rule == "network"
    assert not policy.decide(
        ["uv", "pip", "install", "x"], role="installer", phase="install"
    ).allowed


def test_a_finding_names_what_could_not_be_installed(tmp_path):
    text = (
        '[project]\nname = "numerals"\nversion = "1"\ndependencies = ["roman"]\n'
        '[project.optional-dependencies]\ntest = ["z"]\n'
    )
    files = {"pyproject.toml": text, "requirements-dev.txt": "x\n"}
    found = plan(_write(tmp_path, files), python_version=PY)
    assert found is not None and found.what() == "numerals[test] and -r requirements-dev.txt"
    cfg = "[metadata]\nname = legacy\n[options]\ninstall_requires = roman\n"
    (tmp_path / "c").mkdir()
    found = plan(_write(tmp_path / "c", {"setup.cfg": cfg}), python_version=PY)
    assert found is not None and found.what() == "legacy"
    hostile = '[project]\nname = "x; rm -rf /"\nversion = "1"\ndependencies = ["a"]\n'
    (tmp_path / "h").mkdir()
    found = plan(_write(tmp_path / "h", {"pyproject.toml": hostile}), python_version=PY)
    assert found is not None and found.what() == "the project"  # a name that is no name
