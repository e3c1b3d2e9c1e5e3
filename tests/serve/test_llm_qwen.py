"""The default model, Qwen2.5-Coder-0.5B-Instruct, through the llama.cpp Serve app and the real client:
its chat template and stop token, system prompts, schema-constrained output, prompt-prefix reuse,
and a dead primary falling back to it (a real model, never scripted text).

Short completions only (greedy, a few dozen tokens): the model runs on 2 shared cores."""

from __future__ import annotations

from typing import Literal

import httpx
import jsonschema
import pytest
from pydantic import BaseModel, Field

from cluster.graphserver import free_port
from fleet.adapters.gguf_tokenizer import GGUFTokenizer
from fleet.adapters.model_registry import build_chat_model, chat_model_for_role
from fleet.config import LlamaCppModel, ModelsConfig, SpeculativeDecoding, load
from fleet.contracts import ChatMessage
from fleet.structured import json_schema, structured
from fleet.testing.fakes import InMemoryEventLog

APP, PREFIX, MODEL = "llm-qwen-test", "/llm-qwen-test", "local-qwen-coder"


class Triage(BaseModel):
    severity: Literal["low", "medium", "high"]
    component: str = Field(max_length=24)
    needs_tests: bool


class Patch(BaseModel):
    function_name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=40)
    body: str = Field(max_length=300)


@pytest.fixture(scope="module")
def models() -> ModelsConfig:
    return load("models.yaml")


@pytest.fixture(scope="module")
def llm_url(ray_cluster, serve_http, models):
    from serve_apps.llm import deploy_llm, undeploy_llm

    url = deploy_llm(models, MODEL, route_prefix=PREFIX, app_name=APP)
    yield url
    undeploy_llm(APP)


def chat(url: str, messages: list[dict], **kw) -> dict:
    body = {"model": MODEL, "messages": messages, "temperature": 0.0, "seed": 1, **kw}
    resp = httpx.post(f"{url}/chat/completions", json=body, timeout=600)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_chat_template_stop_token_and_system_prompt(llm_url):
    system = "You are Zorblax, the build robot of the fleet. Always introduce yourself by name."
    out = chat(
        llm_url,
        [{"role": "system", "content": system}, {"role": "user", "content": "Who are you?"}],
        max_tokens=24,
    )
    text = out["choices"][0]["message"]["content"]
    assert "Zorblax" in text, text  # without the system prompt Qwen calls itself Qwen
    assert "<|im_" not in text and "<|endoftext|>" not in text
    # the GGUF's ChatML template, counted with the fleet's own tokenizer, is what llama.cpp saw
    prompt = (
        f"<|im_start|>system\n{system}<|im_end|>\n"
        "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert out["usage"]["prompt_tokens"] == GGUFTokenizer(model=MODEL).count(prompt)


def test_answer_stops_at_the_end_of_turn(llm_url):
    out = chat(
        llm_url,
        [
            {"role": "system", "content": "Reply with only the final number, nothing else."},
            {"role": "user", "content": "What is 17 + 25?"},
        ],
        max_tokens=16,
    )
    choice = out["choices"][0]
    assert choice["message"]["content"].strip() == "42"
    assert choice["finish_reason"] == "stop" and out["usage"]["completion_tokens"] < 16


def test_schema_constrained_output_validates(llm_url, models):
    model = build_chat_model(models, MODEL, llm_base_url=llm_url)
    ask = [
        ChatMessage(role="system", content="You triage bug reports. Answer in JSON."),
        ChatMessage(role="user", content="The login page crashes when the password is empty."),
    ]
    triage = structured(model, ask, Triage, max_tokens=64, seed=7)
    assert triage.severity in ("low", "medium", "high") and len(triage.component) <= 24
    code = [ChatMessage(role="user", content="Write a Python function that adds two numbers.")]
    raw = model.complete(code, schema=json_schema(Patch), max_tokens=96, seed=3).text
    jsonschema.validate(Patch.model_validate_json(raw).model_dump(), Patch.model_json_schema())


def test_shared_prefix_is_reused_from_the_cache(llm_url):
    context = "".join(f"def handler_{i}(request):\n    return export(request, page={i})\n\n"
                      for i in range(40))  # fmt: skip
    system = f"You review code for a council. Code context:\n{context}"
    first = chat(
        llm_url,
        [{"role": "system", "content": system}, {"role": "user", "content": "Propose a change."}],
        max_tokens=4,
    )
    second = chat(
        llm_url,
        [{"role": "system", "content": system}, {"role": "user", "content": "Critique it."}],
        max_tokens=4,
    )
    total = second["usage"]["prompt_tokens"]
    assert total > 500 and first["timings"]["prompt_n"] > 500
    # only the new question (and the turn markers) had to be evaluated
    assert second["timings"]["prompt_n"] < 30, second["timings"]


def test_dead_primary_falls_back_to_the_real_model(llm_url, models):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    config = ModelsConfig.model_validate(
        {
            "models": {
                "dead-primary": {
                    "backend": "openai",
                    "base_url": dead,
                    "model_id": "x",
                    "max_retries": 0,
                },
                MODEL: models.models[MODEL].model_dump(),
            },
            "routing": {"default": ["dead-primary", MODEL]},
            "profiles": models.model_dump()["profiles"],
        }
    )
    log = InMemoryEventLog()
    model = chat_model_for_role(
        config, "qa", story_id="qwen-fb", llm_base_url=llm_url, event_log=log
    )
    out = model.complete(
        [ChatMessage(role="user", content="Reply with only the word: ready")], max_tokens=8
    )
    assert "ready" in out.text.lower() and out.completion_tokens > 0
    [event] = [e for _, e in log.read("qwen-fb")]
    assert event.type == "model.fallback" and event.data["to"] == MODEL
    assert dead in event.data["reason"]


def test_a_request_for_another_model_is_refused_not_answered(llm_url, models):
    """A misrouted call (e.g. to local-smollm2) must not get Qwen's answer under another name."""
    resp = httpx.post(
        f"{llm_url}/chat/completions",
        json={"model": "local-smollm2", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )
    assert resp.status_code == 404
    assert "'local-smollm2' is not served here" in resp.json()["error"]["message"]
    listed = httpx.get(f"{llm_url}/models", timeout=30).json()
    assert [m["id"] for m in listed["data"]] == [MODEL]


STUB = {
    "text_utils.py": 'def count_vowels(text: str) -> int:\n    """Return how many vowels (a, e, i, '
    'o, u, in either case) ``text`` holds.\n    >>> count_vowels("Hello World")\n    3\n    """\n',
    "README.md": "Text utilities.\n",
}


def test_the_real_model_writes_a_body_for_a_stub_as_a_patch_that_applies(llm_url, models):
    """The agents' edit path (context, edit format, parse, apply, continuation of an echoed
    stub) with the real model: the change is a patch, the function now works."""
    from fleet.agents import author_messages, write_change

    model = build_chat_model(models, MODEL, llm_base_url=llm_url)
    context = "## files\n" + "\n".join(f"{p}:\n{t}" for p, t in STUB.items())
    ask = author_messages(context, instruction="Task: implement count_vowels in the repository.")
    patch, new = write_change(model, ask, STUB, base_commit="base", max_tokens=384)
    assert patch.files == ("text_utils.py",) and "+" in patch.diff
    scope: dict = {}
    exec(compile(new["text_utils.py"], "text_utils.py", "exec"), scope)  # noqa: S102 - model code, test-only
    assert scope["count_vowels"]("Hello World") == 3 and scope["count_vowels"]("xyz AEI") == 3


def test_the_real_model_adds_a_new_function_in_the_module_the_story_does_not_name(llm_url, models):
    """The bundled sample's story names ``calc.divide``, not ``calc/ops.py``: within the two
    attempts a story gets (the second with the first one's failing test), the model's change goes
    into the module beside ``add`` (the new-function continuation), exported like its siblings."""
    from pathlib import Path

    from fleet.agents import author_messages, write_change
    from fleet.agents.request import asked_for, change_request
    from fleet.orchestrator.sample import SAMPLE_STORY

    root = Path(__file__).resolve().parents[1] / "fixtures" / "sample_repo"
    files = {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".py", ".md")
    }
    task = SAMPLE_STORY["title"] + ": " + "; ".join(SAMPLE_STORY["acceptance_criteria"])
    criteria = SAMPLE_STORY["acceptance_criteria"]
    model = build_chat_model(models, MODEL, llm_base_url=llm_url)
    context = "## code\n" + "\n".join(f"### {p}\n{t}" for p, t in files.items())
    ask = author_messages(context, instruction=change_request(task, criteria, files))
    focus = asked_for([task, *criteria], files)
    patch, new = write_change(model, ask, files, base_commit="base", focus=focus)
    if "def divide(" not in new.get(
        "calc/ops.py", ""
    ):  # a wrong first patch: the retry, as a story's
        why = ["failed: tests/test_p1_t1_acceptance.py::test_divide_1: no function named divide"]
        patch, new = write_change(model, ask, files, base_commit="base", focus=focus, notes=why)
    assert "calc/ops.py" in patch.files
    scope: dict = {}
    exec(compile(new["calc/ops.py"], "calc/ops.py", "exec"), scope)  # noqa: S102 - model code, test-only
    assert scope["divide"](6, 3) == 2.0
    with pytest.raises(ValueError, match="division by zero"):
        scope["divide"](1, 0)
    assert "divide" in new.get("calc/__init__.py", files["calc/__init__.py"])


def test_the_tool_loop_runs_on_the_real_model_in_the_sandbox(llm_url, models, tmp_path):
    """The ``agent`` strategy's loop with the real model: every step is acted on in a bubblewrap
    copy (a command run, an edit applied or refused, or the format asked again) and the loop ends
    within its step budget with the copy's difference as its patch."""
    from fleet.adapters.audited_sandbox import AuditedSandbox
    from fleet.adapters.bwrap_sandbox import BwrapSandbox
    from fleet.adapters.sandbox_workspace import SandboxWorkspace
    from fleet.agents.loop import run_loop
    from fleet.contracts import RunContext
    from fleet.policy import PolicyEngine

    model = build_chat_model(models, MODEL, llm_base_url=llm_url)
    sandbox = AuditedSandbox(BwrapSandbox(), PolicyEngine(load("policy.yaml")))
    ctx = RunContext(story_id="s", task_id="t", role="developer", phase="build")
    ws = SandboxWorkspace(sandbox, STUB, context=ctx, root=tmp_path)
    seen: list[str] = []

    class Watch:
        def complete(self, messages, **kw):
            seen.append(messages[-1].content)
            return model.complete(messages, **kw)

    msgs = [ChatMessage(role="system", content="You are a developer."),
            ChatMessage(role="user", content="Implement count_vowels in text_utils.py.")]  # fmt: skip
    result = run_loop(Watch(), ws, msgs, base_files=STUB, base_commit="b", step_limit=3,
                      max_tokens=256)  # fmt: skip
    assert 1 <= result.steps <= 3 and result.exit in ("submitted", "step_limit")
    assert result.tokens > 0 and len(seen) == result.steps
    known = ("exit code", "Edited ", "The edit was not applied", "No action found",
             "The command does not parse", "The bash block is empty")  # fmt: skip
    assert all(o.startswith(known) for o in seen[1:]), seen[1:]
    assert set(result.patch.files) <= set(ws.files())


def _stub_qa(tmp_path, models, llm_url):  # type: ignore[no-untyped-def]
    """A git repository holding ``STUB`` and a QA member on the served model (greedy)."""
    import subprocess

    from fleet.adapters.git_repo import GitRepo
    from fleet.council import Member
    from fleet.council.patching import PatchTools

    repo = tmp_path / "repo"
    repo.mkdir()
    for path, text in STUB.items():
        (repo / path).write_text(text)
    for argv in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"]):  # fmt: skip
        subprocess.run(["git", "-C", str(repo), *argv], check=True)
    model = build_chat_model(models, MODEL, llm_base_url=llm_url)
    tools = PatchTools(write_patch=lambda *a, **k: None, repo=GitRepo)
    return repo, Member("qa-1", "qa", load("roles.yaml").get("qa"), model, temperature=0.0,
                        tools=tools)  # fmt: skip


def test_the_real_model_writes_qa_examples_the_evidence_suite_can_run(llm_url, models, tmp_path):
    """QA's own examples (``fleet/council/examples.py``) with the real model: lines of the one
    form the suite turns into tests, for the function the task names, none the criteria give."""
    from fleet.council import Brief
    from fleet.criteria import examples
    from fleet.evidence.acceptance import executable_tests, names_of_tests

    repo, qa = _stub_qa(tmp_path, models, llm_url)
    given = ('count_vowels("Hello World") returns 3',)
    brief = Brief(deliberation_id="d", story_id="s", task_id="T1", task="Implement count_vowels",
                  round=0, step="propose", source=str(repo), base="main")  # fmt: skip
    got = qa.write_examples(brief, given)
    cases = examples(got)
    assert got and len(cases) == len(got), got
    assert {c.func for c in cases} == {"count_vowels"}
    assert all(c.call != 'count_vowels("Hello World")' for c in cases)
    module = executable_tests(got)
    assert module is not None and names_of_tests(module)


def test_the_real_model_continues_a_test_module_begun_for_it(llm_url, models, tmp_path):
    """QA's first test with the module begun (``Brief.begin``, ``Member._begun_tests``): the
    Serve app continues the assistant's begun reply, and the reply is a test module of the
    function, with the begun imports."""
    import ast

    from fleet.council import Brief
    from fleet.pipeline.repro import begun

    repo, qa = _stub_qa(tmp_path, models, llm_url)
    start = begun("text_utils", "count_vowels")
    brief = Brief(deliberation_id="d", story_id="s", task_id="T1", task="count_vowels is wrong",
                  round=0, step="propose", source=str(repo), base="main", begin=start)  # fmt: skip
    asked = ("count_vowels('Hello World') should return 3",)
    got = qa.write_tests(brief, asked)
    assert list(got) == ["tests/test_t1_qa_1.py"], got
    module = got["tests/test_t1_qa_1.py"]
    assert module.startswith(start.rsplit("def test_", 1)[0]), module
    tests = [n.name for n in ast.parse(module).body if isinstance(n, ast.FunctionDef)]
    assert tests and all(t.startswith("test_") for t in tests), module
    assert "count_vowels(" in module.split("def test_", 1)[1], module


def test_the_engine_ends_a_begun_reply_where_a_stop_string_begins(llm_url):
    """QA's first test is asked with stop strings (``patching.BEGUN_STOPS``): asked for three
    tests, the real model writes a second one without them and none with them; the begun
    module (the assistant's prefill, which holds ``def test_``) is not searched for them."""
    from fleet.council.patching import BEGUN_STOPS, FENCE

    start = FENCE + "import pytest\n\n\ndef double(x):\n    return 2 * x\n\n\ndef test_"
    messages = [
        {"role": "user", "content": "Write three pytest tests of double(x), which returns 2 * x."},
        {"role": "assistant", "content": start},
    ]
    free = chat(llm_url, messages, max_tokens=160)
    cut = chat(llm_url, messages, max_tokens=160, stop=list(BEGUN_STOPS))
    text, stopped = (r["choices"][0]["message"]["content"] for r in (free, cut))
    rest = lambda t: t.split("def test_", 1)[1] if "def test_" in t else t  # noqa: E731
    assert "\ndef test" in rest(text), text
    assert "\ndef test" not in rest(stopped) and "double(" in stopped, stopped
    assert cut["usage"]["completion_tokens"] < free["usage"]["completion_tokens"]


def test_a_draft_model_drafts_for_the_engine(models):
    """Draft-model speculation with real weights: the 0.5B drafts for an entry with the same
    pinned weights (so every greedy draft should be accepted), in the engine the Serve app runs.
    The reply must be what the plain engine answers: speculation changes speed, never text."""
    from serve_apps.llm.engine import LlamaCppEngine

    base = models.models[MODEL].model_copy(update={"n_ctx": 2048, "n_parallel": 1})
    sd = SpeculativeDecoding(method="draft", draft_model="drafter", n_max=4, p_min=0.0)
    config = models.model_copy(
        update={"models": {MODEL: base.model_copy(update={"speculative": sd}), "drafter": base}}
    )
    target = config.models[MODEL]
    assert isinstance(target, LlamaCppModel)
    body = {
        "messages": [{"role": "user", "content": "Write a Python function that adds two numbers."}],
        "max_tokens": 32,
        "temperature": 0.0,
    }
    engine = LlamaCppEngine(target, served_name=MODEL, draft=base)
    drafted = engine.chat(body)
    del engine
    plain = LlamaCppEngine(base, served_name=MODEL).chat(body)
    timings = drafted["timings"]
    assert timings["draft_n"] > 0 and timings["draft_n_accepted"] >= timings["draft_n"] // 2
    assert drafted["choices"][0]["message"] == plain["choices"][0]["message"]
