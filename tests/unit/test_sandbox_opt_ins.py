"""The two opt-ins of a TaskSpec on bubblewrap: ``network`` (the installer only: policy-checked
elsewhere) drops ``--unshare-net``; ``expose`` adds read-only binds of real directories only."""

from __future__ import annotations

import os

import pytest

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.contracts import TaskSpec
from fleet.errors import InvalidInput


@pytest.fixture(scope="module")
def bwrap():
    sandbox = BwrapSandbox(prewarm=0, use_cgroups=False)
    yield sandbox
    sandbox.close()


def test_no_network_unless_asked(bwrap, tmp_path):
    plain = bwrap.argv(TaskSpec(id="a", cmd=("true",)), str(tmp_path))
    assert "--unshare-net" in plain
    asked = bwrap.argv(TaskSpec(id="b", cmd=("true",), network=True), str(tmp_path))
    assert "--unshare-net" not in asked


def test_expose_is_a_read_only_bind(bwrap, tmp_path):
    env = tmp_path / "env"
    env.mkdir()
    argv = bwrap.argv(TaskSpec(id="c", cmd=("true",), expose=(str(env),)), str(tmp_path / "ws"))
    i = argv.index(str(env))
    assert argv[i - 1] == "--ro-bind" and argv[i + 1] == str(env)


@pytest.mark.parametrize("bad", ["relative", "/nonexistent-dir-x", "/tmp/../etc", "link"])
def test_expose_refuses_what_is_not_a_real_directory(bwrap, tmp_path, bad):
    os.symlink(tmp_path, tmp_path / "link")
    path = str(tmp_path / "link") if bad == "link" else bad
    with pytest.raises(InvalidInput):
        bwrap.argv(TaskSpec(id="d", cmd=("true",), expose=(path,)), str(tmp_path))
