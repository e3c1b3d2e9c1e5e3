"""models.yaml: model profiles (a model's quirks as data) load, are checked, and default to the
behaviour the fleet had before profiles existed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.config import DEFAULT_PROFILE, ConfigError, ModelProfile, load
from fleet.prompts import render

QWEN = ("local-qwen-coder", "local-qwen-1.5b")


def test_the_small_qwen_models_have_a_profile_equal_to_the_default():
    models = load("models.yaml")
    for name in QWEN:
        spec = models.models[name]
        assert spec.profile is not None, name
        assert models.profile_of(name) == DEFAULT_PROFILE, name
    assert models.profile_of("no-such-model") is DEFAULT_PROFILE
    assert models.profile_of("scripted") is DEFAULT_PROFILE  # names none


def test_the_default_profile_is_the_behaviour_written_in_the_code_before():
    p = ModelProfile()
    assert (p.edit_format, p.stub_continuation, p.corrections) == ("author.edit_format", True, 1)
    t = p.temperatures
    assert (t.first, t.retry, t.retry_continuation, t.correction_floor) == (0.0, 0.7, 0.2, 0.6)
    assert p.repairs.drop_broken_test_edits and p.repairs.add_missing_imports
    assert p.continuation_chars == 6000


def test_every_profile_names_an_edit_format_template_that_renders():
    for name, profile in load("models.yaml").profiles.items():
        assert "SEARCH" in render(profile.edit_format), name


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "models.yaml").write_text(text)
    return tmp_path


BASE = """
models:
  m: {backend: scripted, profile: %s}
routing: {default: [m]}
profiles:
  small: {corrections: 2}
"""


def test_a_model_naming_an_unknown_profile_is_a_config_error_listing_the_profiles(tmp_path):
    with pytest.raises(ConfigError) as err:
        load("models.yaml", _write(tmp_path, BASE % "large"))
    text = str(err.value)
    assert "unknown profile 'large'" in text and "small" in text and "models.yaml" in text


def test_a_profile_field_out_of_range_or_unknown_is_a_config_error(tmp_path):
    bad = BASE.replace("{corrections: 2}", "{corrections: -1}") % "small"
    with pytest.raises(ConfigError, match="profiles"):
        load("models.yaml", _write(tmp_path, bad))
    typo = BASE.replace("{corrections: 2}", "{stub_continuations: false}") % "small"
    with pytest.raises(ConfigError, match="stub_continuations"):
        load("models.yaml", _write(tmp_path, typo))


def test_a_named_profile_is_the_models(tmp_path):
    models = load("models.yaml", _write(tmp_path, BASE % "small"))
    assert models.profile_of("m").corrections == 2


class _Temperatures:
    """A chat model recording each call's temperature, answering one good edit."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def complete(self, messages, **kw):  # type: ignore[no-untyped-def]
        from fleet.contracts import ChatResponse

        self.seen.append(kw["temperature"])
        text = "m.py\n<<<<<<< SEARCH\n    return 0\n=======\n    return 1\n>>>>>>> REPLACE\n"
        return ChatResponse(text=text, model="t", prompt_tokens=1, completion_tokens=1)


def test_the_story_developer_decodes_each_attempt_as_its_profile_says():
    from fleet.contracts import Story, Task
    from fleet.orchestrator.implement import ChangeJob, author

    story = Story(id="s", title="one")
    task = Task(id="t", story_id="s", role="developer", description="make f return 1")
    files = {"m.py": "def f():\n    return 0\n"}
    warm = ModelProfile.model_validate({"temperatures": {"first": 0.05, "retry": 0.45}})
    seen = []
    for attempt, profile in ((0, None), (1, None), (0, warm), (3, warm)):
        chat = _Temperatures()
        job = ChangeJob(story, task, None, files, ["it returned 0"], "c", attempt=attempt)
        assert "+    return 1" in author(chat, job, profile).diff  # type: ignore[arg-type]
        seen += chat.seen
    assert seen == [0.0, 0.7, 0.05, 0.45]


def test_a_council_agent_writes_patches_with_its_models_profile():
    from actors.agent import RoleAgent

    models = load("models.yaml")
    agent = RoleAgent("developer-1", "developer", llm_base_url="http://127.0.0.1:9/v1")
    bound = agent._member_kwargs["tools"].write_patch
    assert bound.keywords["profile"] == models.profile_of(models.primary("developer"))
    from fleet.testing.fakes import ScriptedChatModel

    ready = RoleAgent("developer-2", "developer", chat_model_factory=ScriptedChatModel)
    assert ready._member_kwargs["tools"].write_patch.keywords["profile"] is DEFAULT_PROFILE
    with pytest.raises(TypeError, match="temprature"):
        RoleAgent("developer-3", "developer", temprature=0.1)  # type: ignore[call-arg]
