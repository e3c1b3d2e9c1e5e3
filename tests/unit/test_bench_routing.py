"""`bench_agents.py --developer-model`: the council's developers (and whoever builds a change) on
one engine, QA and the architect on the other, tokens counted over both."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from engine_chat import RoutedChat, served_spec  # noqa: E402

from fleet.contracts import ChatMessage, ChatResponse  # noqa: E402


class Engine:
    def __init__(self, name: str) -> None:
        self.name, self.tokens, self.label, self.trace = name, 0, "", None
        self.asked = 0

    def complete(self, messages, **_kw) -> ChatResponse:
        self.asked += 1
        self.tokens += 7
        return ChatResponse(text="x", model=self.name, prompt_tokens=5, completion_tokens=2)

    def for_role(self, role: str) -> Engine:
        return self


def test_developers_get_their_model_and_tokens_are_counted_over_both():
    from council_arms import _team

    small, big = Engine("small"), Engine("big")
    chat = RoutedChat(small, big, frozenset({"developer"}))  # type: ignore[arg-type]
    ledger: dict[str, int] = {}
    team = _team(chat, ledger)
    served = {name: m.chat.chat for name, m in team.items()}  # Member -> Counted -> engine
    assert {n for n, e in served.items() if e is big} == {
        n for n in team if n.startswith("developer-")
    }
    assert any(e is small for e in served.values())  # QA and the architect
    chat.complete([ChatMessage(role="user", content="hi")])
    served["qa-1"].complete([ChatMessage(role="user", content="hi")])
    assert (big.asked, small.asked, chat.tokens) == (1, 1, 14)
    chat.label = "council t1"
    assert small.label == big.label == "council t1"


def test_the_roles_on_the_developers_engine_are_those_models_yaml_routes_to_its_model():
    from engine_chat import developer_routed

    from fleet.config import load

    routing = load("models.yaml").routing
    roles = developer_routed()
    assert "developer" in roles
    assert roles == {r for r, chain in routing.items() if chain[0] == routing["developer"][0]}
    chat = RoutedChat(Engine("small"), Engine("big"))  # type: ignore[arg-type]
    assert chat.roles == roles
    assert {r for r in routing if chat.for_role(r) is chat.developer} == roles


def test_the_councils_members_read_the_story_paths_context_packs(tmp_path: Path):
    """The council arm's members get what the story path's agents get from the context service
    (the located function first), not the repository's smallest files in alphabetical order."""
    from council_arms import _team
    from harness import TASK_ID, BenchTask, git_repo

    from fleet.adapters.git_repo import GitRepo
    from fleet.contracts import Story
    from fleet.council import Brief

    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(40))
    files = {
        "pkg/__init__.py": "",
        "pkg/aaa.py": filler,
        "pkg/strings.py": "def cut_prefix(s, p):\n    return s[len(p):] if s.startswith(p) else s\n\n\n"
        "def cut_suffix(s, suffix):\n    return s[:-len(suffix)] if s.endswith(suffix) else s\n",
    }
    story = Story(id="s1", title="cut_suffix with an empty suffix wipes out the string",
                  description="`cut_suffix('name.py', '')` returns `''`; I expected 'name.py'.")  # fmt: skip
    task = BenchTask(id="t", kind="bug", files=files, story=story, judge=lambda tree: (True, ""))
    repo = git_repo(files, tmp_path / "repo")
    team = _team(Engine("m"), {}, task=task)
    brief = Brief(
        deliberation_id="d", story_id="s1", task_id=TASK_ID, task=story.title, round=0,
        step="propose", phase="build", source=str(repo), base="main",
        base_commit=GitRepo(repo).commit("main"),
    )  # fmt: skip
    text = team["developer-1"]._pack(brief)
    code = text.split("## code\n", 1)[1]  # the build phase's code section
    assert code.startswith("### pkg/strings.py\n") and "def cut_suffix" in code
    assert _team(Engine("m"), {})["developer-1"].context is None  # no task: the old fallback


def test_the_engine_serves_each_model_as_the_fleet_serves_it(tmp_path):
    """The benchmark's engines take config/models.yaml's settings for the model the file is
    (slots, shared context, speculation): a council's members then batch and share prefixes as
    they do in the fleet's model server. A file no model names gets one slot and 8k."""
    from fleet.config import load

    shipped = load("models.yaml").models["local-qwen-1.5b"]
    path = tmp_path / Path(shipped.gguf).name
    spec, draft = served_spec(str(path), threads=1)
    assert (spec.gguf, spec.parts, spec.n_threads) == (str(path), (), 1)
    assert (spec.n_ctx, spec.n_parallel) == (shipped.n_ctx, shipped.n_parallel)
    assert spec.speculative == shipped.speculative and spec.sha256 == shipped.sha256
    assert draft is None  # n-gram drafting needs no second model
    other, _ = served_spec(str(tmp_path / "mine.gguf"))
    assert (other.n_ctx, other.n_parallel, other.speculative) == (8192, 1, None)


def test_the_ballot_bench_compares_a_shared_prefix_with_the_old_form():
    """``bench_models.py --part ballot``: the ballot the council's Member builds shares the
    patch prompt's system prompt and context; the old form shares nothing with it."""
    from ballot_prefix import old_form, prompts

    code = "def apply_edits(files, edits):\n    return files\n" * 40
    patch, _, ballot, kw = prompts(code, "r0")
    assert ballot[0].content == patch[0].content and kw.get("schema")
    assert patch[1].content[:1900] == ballot[1].content[:1900]
    old = old_form(ballot, "You are a developer.")
    assert old[0].content == "You are a developer. Answer in JSON."
    assert old[1].content.startswith("## Context\n## Code") and not old[1].content.endswith("JSON.")
