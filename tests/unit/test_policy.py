"""The tool policy is a pure function of (argv, role, phase) over policy.yaml."""

from __future__ import annotations

import pytest

from fleet.config import PhaseRules, PolicyConfig, load
from fleet.policy import PolicyEngine, program


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(load("policy.yaml"))


def test_program_names_are_canonical():
    assert program("/work/.venv/bin/python") == "python"
    assert program("/usr/bin/python3.11") == "python3"
    assert program("ruff") == "ruff"


@pytest.mark.parametrize(
    ("argv", "role", "phase", "allowed", "rule"),
    [
        (
            ["/venv/bin/python", "-m", "pytest", "-q"],
            "developer",
            "build",
            True,
            "roles.developer.build.allow:python -m pytest",
        ),
        (
            ["python", "-m", "pytest", "-c", "pytest.ini"],
            "developer",
            "build",
            True,
            "roles.developer.build.allow:python -m pytest",
        ),
        (
            ["python3.11", "-m", "pytest"],
            "qa",
            "test",
            True,
            "roles.qa.test.allow:python3 -m pytest",
        ),
        (["git", "push"], "developer", "build", False, "roles.developer.build.deny:git push"),
        (["git", "log"], "developer", "build", False, "default:deny"),
        (["git", "log"], "architect", "design", True, "roles.architect.design.allow:git log"),
        (["ls"], "nobody-role", "build", False, "default:deny"),
        (["ls"], "developer", "docs", False, "default:deny"),
        (["bash", "-c", "ls"], "developer", "build", False, "shell_escape:bash -c"),
        (["bash", "-x", "-ec", "ls"], "developer", "build", False, "shell_escape:bash -c"),
        (
            ["python", "-W", "ignore", "-c", "1"],
            "developer",
            "build",
            False,
            "shell_escape:python -c",
        ),
        (["eval", "ls"], "developer", "build", False, "shell_escape:eval"),
        (["sudo", "ls"], "developer", "build", False, "shell_escape:sudo"),
        (["cat", "a|b"], "developer", "build", False, "metacharacter:'|'"),
        (["cat", "a\nb"], "developer", "build", False, "metacharacter:'\\n'"),
        (["cat", "${HOME}"], "developer", "build", False, "metacharacter:'${'"),
        (["cat", "x > y"], "developer", "build", False, "metacharacter:'>'"),
        ([], "developer", "build", False, "empty_argv"),
    ],
)
def test_decisions_name_the_deciding_rule(engine, argv, role, phase, allowed, rule):
    d = engine.decide(argv, role=role, phase=phase)
    assert (d.allowed, d.rule) == (allowed, rule)
    assert d.reason


def test_allow_shell_must_be_explicit():
    cfg = PolicyConfig(
        shell_escapes=(("bash", "-c"),),
        env_allow=(),
        roles={
            "devops": {"build": PhaseRules(allow=(("bash",),), allow_shell=True)},
            "developer": {"build": PhaseRules(allow=(("bash",),))},
        },
    )
    eng = PolicyEngine(cfg)
    assert eng.decide(["bash", "-c", "make"], role="devops", phase="build").allowed
    assert not eng.decide(["bash", "-c", "make"], role="developer", phase="build").allowed


def test_deny_beats_allow_and_default_allow_is_honoured():
    cfg = PolicyConfig(
        default="allow",
        shell_escapes=(),
        env_allow=(),
        roles={"dev": {"build": PhaseRules(allow=(("git",),), deny=(("git", "push"),))}},
    )
    eng = PolicyEngine(cfg)
    assert (
        eng.decide(["git", "push", "-f"], role="dev", phase="build").rule
        == "roles.dev.build.deny:git push"
    )
    assert eng.decide(["git", "status"], role="dev", phase="build").allowed
    assert eng.decide(["make"], role="dev", phase="build").rule == "default:allow"


def test_filter_env_keeps_only_the_allowlist(engine):
    host = {
        "PATH": "/bin",
        "LANG": "C",
        "AWS_SECRET_ACCESS_KEY": "x",
        "GITHUB_TOKEN": "y",
        "HOME": "/root",
    }
    assert engine.filter_env(host) == {"LANG": "C"}  # PATH is pinned by the sandbox


def test_env_names_outside_the_allowlist_deny_an_allowed_command(engine):
    ok = engine.decide(["pytest"], role="developer", phase="build", env={"LANG": "C"})
    assert ok.allowed
    for name in ("LD_PRELOAD", "PYTHONPATH", "PATH", "GCONV_PATH", "SOME_TOKEN"):
        d = engine.decide(["pytest"], role="developer", phase="build", env={name: "x"})
        assert not d.allowed and d.rule == f"env:{name}", d
