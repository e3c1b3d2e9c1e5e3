"""The prompt templates in config/prompts/: the shipped set is complete and renders; a broken set
fails at load (and in ``load_all``, at start-up) with the file and the key named."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet import prompts
from fleet.config import config_dir, load_all
from fleet.errors import ConfigError

SHIPPED = config_dir() / "prompts"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "prompts.md"


@pytest.fixture
def set_dir(tmp_path: Path) -> Path:
    """A copy of the shipped templates to break."""
    shutil.copytree(SHIPPED, tmp_path / "prompts")
    return tmp_path / "prompts"


@pytest.fixture
def restore() -> Iterator[None]:
    yield
    prompts.use(None)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def broken(directory: Path, file: str, key: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        prompts.load(directory)
    err = exc.value
    assert err.file.endswith(file) and err.key == key, (err.file, err.key)
    assert f"{file}: {key}" in str(err) if key else file in str(err)
    return err


def test_the_shipped_set_has_every_template_and_each_renders() -> None:
    loaded = prompts.load(SHIPPED)
    assert set(loaded) == set(prompts.names()) and len(loaded) > 80
    for name, variables in prompts.names().items():
        text = prompts.render(name, **{v: f"<{v}>" for v in variables})
        used = set(loaded[name].get_identifiers())
        assert all(f"<{v}>" in text for v in used), name
        assert text or name == "patching.style_1", f"{name} is empty"  # developer-1: no style
    assert prompts.render("author.correction", reason="R").startswith(
        "Your edit could not be applied: R\n"
    )


def test_a_missing_template_names_file_and_key(set_dir: Path) -> None:
    edit(set_dir / "loop.yaml", "no_action:", "no_action_typo:")
    err = broken(set_dir, "loop.yaml", "no_action_typo")
    assert "unknown template" in err.problem and "no_action" in err.problem
    (set_dir / "loop.yaml").write_text(
        "\n".join(
            ln for ln in (set_dir / "loop.yaml").read_text().split("\n") if "no_action" not in ln
        )
    )
    err = broken(set_dir, "loop.yaml", "no_action")
    assert err.problem == "missing template"


def test_an_unknown_placeholder_names_the_key_and_the_allowed_ones(set_dir: Path) -> None:
    edit(set_dir / "author.yaml", "${reason}", "${why}")
    err = broken(set_dir, "author.yaml", "correction")
    assert "unknown placeholder $why" in err.problem and "$reason" in err.problem


def test_a_bare_dollar_is_invalid_and_a_doubled_one_is_a_dollar(
    set_dir: Path, restore: None
) -> None:
    edit(set_dir / "loop.yaml", "The bash block is empty.", "The bash block costs $5.")
    err = broken(set_dir, "loop.yaml", "empty_command")
    assert "invalid placeholder" in err.problem and "$$" in err.problem
    edit(set_dir / "loop.yaml", "costs $5", "costs $$5")
    prompts.use(set_dir)
    assert prompts.render("loop.empty_command") == "The bash block costs $5."


def test_an_unknown_file_a_missing_file_and_bad_yaml_are_named(set_dir: Path) -> None:
    (set_dir / "extra.yaml").write_text("x: y\n")
    err = broken(set_dir, "extra.yaml", "")
    assert "unknown prompts file" in err.problem and "author.yaml" in err.problem
    (set_dir / "extra.yaml").unlink()
    (set_dir / "context.yaml").unlink()
    assert "cannot read" in broken(set_dir, "context.yaml", "").problem
    (set_dir / "context.yaml").write_text("summary_system: [unclosed\n")
    err = broken(set_dir, "context.yaml", "line 2, column 1")
    assert err.problem.startswith("malformed YAML")
    (set_dir / "context.yaml").write_text("summary_system: 3\nsummary_request: x\n")
    assert "string" in broken(set_dir, "context.yaml", "summary_system").problem
    (set_dir / "context.yaml").write_text("- a list\n")
    assert "mapping" in broken(set_dir, "context.yaml", "").problem


def test_load_all_checks_the_prompts_at_start_up(tmp_path: Path) -> None:
    shutil.copytree(config_dir(), tmp_path / "config")
    assert load_all(tmp_path / "config")
    edit(tmp_path / "config" / "prompts" / "council.yaml", "${n}", "${count}")
    with pytest.raises(ConfigError) as exc:
        load_all(tmp_path / "config")
    assert exc.value.file.endswith("council.yaml") and exc.value.key == "vote"


def test_an_edited_template_changes_what_the_model_is_sent(set_dir: Path, restore: None) -> None:
    from fleet.agents import author_messages

    edit(set_dir / "author.yaml", "You are a careful software developer.", "You are terse.")
    prompts.use(set_dir)
    assert author_messages("ctx")[0].content.startswith("You are terse.")
    prompts.use(None)
    assert author_messages("ctx")[0].content.startswith("You are a careful software developer.")


def test_render_takes_exactly_the_declared_variables() -> None:
    with pytest.raises(TypeError, match="takes \\['reason'\\]"):
        prompts.render("author.correction")
    with pytest.raises(TypeError):
        prompts.render("author.correction", reason="r", extra="x")
    with pytest.raises(KeyError):
        prompts.render("author.nope")


def test_the_docs_page_lists_every_template_with_its_variables() -> None:
    text = DOCS.read_text()
    for name, variables in prompts.names().items():
        assert f"`{name}`" in text, name
        for v in variables:
            assert f"${v}" in text, (name, v)
