"""The CLI turns any failure into one clear line: no traceback unless FLEET_DEBUG is set."""

from __future__ import annotations

import argparse

import pytest

from cluster import cli


def _boom(args: argparse.Namespace) -> int:
    raise RuntimeError("actor died unexpectedly\n  File 'x.py', line 1\nTraceback detail")


@pytest.fixture
def parser_with_boom(monkeypatch):
    real = cli.build_parser

    def build() -> argparse.ArgumentParser:
        parser = real()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.add_parser("boom").set_defaults(func=_boom)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


def test_unexpected_error_is_one_line_with_exit_1(parser_with_boom, capsys, monkeypatch):
    monkeypatch.delenv("FLEET_DEBUG", raising=False)
    assert cli.main(["boom"]) == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: actor died unexpectedly" in err
    assert "Traceback" not in err and "x.py" not in err


def test_fleet_debug_shows_the_traceback(parser_with_boom, monkeypatch):
    monkeypatch.setenv("FLEET_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["boom"])


def test_run_sends_the_story_kind_the_po_gave_and_nothing_when_none():
    import argparse

    from cluster.cli.stories import _story_body

    base = dict(repo="https://example.org/r.git", title="t", description="d", criteria=None,
                rigor="L1", branch=None)  # fmt: skip
    assert _story_body(argparse.Namespace(**base, work_kind="bug"))["work_kind"] == "bug"
    assert "work_kind" not in _story_body(argparse.Namespace(**base, work_kind=None))


def test_fleet_up_checks_every_prompt_template_before_starting_anything(
    tmp_path, capsys, monkeypatch
):
    import shutil
    from pathlib import Path

    from fleet.config import config_dir

    broken = tmp_path / "config"
    shutil.copytree(config_dir(), broken)
    author = broken / "prompts" / "author.yaml"
    text = author.read_text()
    assert "${reason}" in text
    author.write_text(text.replace("${reason}", "${no_such_variable}", 1))
    monkeypatch.setenv("FLEET_CONFIG_DIR", str(broken))
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path / "data"))
    from cluster.cli import stack

    def started(*a, **kw):  # a unit test must never start a real stack, even when this fails
        raise AssertionError("fleet up started the stack on a broken template")

    monkeypatch.setattr(stack.local, "up", started)
    assert cli.main(["up", "--no-apps"]) == 2
    err = capsys.readouterr().err
    assert "author.yaml" in err and "no_such_variable" in err and "Traceback" not in err
    assert not Path(tmp_path / "data").exists()  # nothing was started
