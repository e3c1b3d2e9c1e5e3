"""A bug story's reproduction test through the pipeline's suite step (fleet/pipeline/suite.py):
a real git repository, real evidence runs on the base commit (bubblewrap), a QA council member
(fleet/council/member.py) whose model is scripted. A test that fails for the wrong reason (an
import error) is asked for again with that output; a test that fails for the reported reason is
kept, joins the suite and feeds localisation; one that never reproduces is said so."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.adapters.git_repo import GitRepo
from fleet.agents import write_patch
from fleet.config import load
from fleet.contracts import ChatMessage, ChatResponse, Story, Task
from fleet.council import Brief, Member
from fleet.council.patching import BEGUN_STOPS, PatchTools
from fleet.pipeline.ports import Checkout
from fleet.pipeline.repro import REPRO_ATTEMPTS
from fleet.pipeline.suite import SuitePorts, task_suite
from fleet.testing.fakes import FakeClock, InMemoryEventLog, stopped

TEXT = '''def _strip(s, n):
    return s[:-n]


def cut_suffix(s, suffix):
    """s without suffix at its end."""
    return _strip(s, len(suffix)) if s.endswith(suffix) else s
'''
STORY = Story(
    id="s1", title="Cutting an empty suffix wipes the string", work_kind="bug",
    description="I called cut_suffix('name.py', '') and got '' back. I expected 'name.py' "
                "unchanged: there is nothing to cut.",
)  # fmt: skip
TASK = Task(id="T1", story_id="s1", role="developer", description=STORY.title)
PATH = "tests/test_t1_qa_1.py"
BROKEN = "from strs.nothere import cut_suffix\n\n\ndef test_empty():\n    assert cut_suffix('a', '') == 'a'\n"
GOOD = (
    "from strs.text import cut_suffix\n\n\ndef test_empty_suffix():\n"
    "    assert cut_suffix('name.py', '') == 'name.py'\n\n\ndef test_plain():\n"
    "    assert cut_suffix('ab', 'b') == 'a'\n"
)
PASSING = "from strs.text import cut_suffix\n\n\ndef test_plain():\n    assert cut_suffix('ab', 'b') == 'a'\n"


def _new_file(source: str) -> str:
    """A model's reply creating ``PATH`` as an edit block (empty SEARCH)."""
    return f"{PATH}\n<<<<<<< SEARCH\n=======\n{source}>>>>>>> REPLACE\n"


class Script:
    """QA's model: the given replies in turn (the last again), every request kept (its user
    message). Asked with a begun test module (the request ends with the assistant's beginning),
    a reply creating a file answers with that file's text as a fenced module of its own."""

    def __init__(self, *replies: str, stops: bool = False) -> None:
        self.replies, self.asked, self.stops = list(replies), [], stops
        self.stop: list[object] = []  # the stop strings of each request

    def complete(self, messages: Sequence[ChatMessage], **kw: object) -> ChatResponse:
        begun = messages[-1].role == "assistant"
        self.asked.append(messages[-2 if begun else -1].content)
        self.stop.append(kw.get("stop", ()))
        text = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if begun and (m := _CREATED.search(text)):
            text = f"```python\n{m.group(1)}```\n"
        if self.stops and begun:  # a server that honours stop strings, as llama.cpp does:
            # the reply is the begun module and its continuation, cut where a stop begins
            text = messages[-1].content + text.split("def test_", 1)[1]
            text = stopped(text, kw.get("stop", ()), messages)  # type: ignore[arg-type]
        return ChatResponse(text=text, model="s", prompt_tokens=1, completion_tokens=1,
                            latency_ms=0.0)  # fmt: skip


_CREATED = re.compile(r"<<<<<<< SEARCH\n=======\n(.*?)>>>>>>> REPLACE", re.S)


class OneQa:
    """The QaTeam port over one local council member."""

    def __init__(self, member: Member) -> None:
        self.member = member

    def __len__(self) -> int:
        return 1

    def write_tests(
        self, brief: Brief, criteria: Sequence[str], notes: list[str]
    ) -> list[Mapping[str, str]]:
        return [self.member.write_tests(brief, criteria)]

    def write_examples(
        self, brief: Brief, criteria: Sequence[str], notes: list[str]
    ) -> list[Sequence[str]]:
        return []


def _repo(tmp_path: Path, text: str = TEXT) -> Path:
    repo = tmp_path / "repo"
    (repo / "strs").mkdir(parents=True)
    (repo / "strs" / "__init__.py").write_text("")
    (repo / "strs" / "text.py").write_text(text)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "base"]):  # fmt: skip
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return repo


def _suite(
    tmp_path: Path, chat: Script, story: Story = STORY, port: type = OneQa, text: str = TEXT
) -> tuple[object, InMemoryEventLog]:
    repo = _repo(tmp_path, text)
    git = GitRepo(repo)
    member = Member("qa-1", "qa", load("roles.yaml").get("qa"), chat, temperature=0.0, seed=1,
                    tools=PatchTools(write_patch=write_patch, repo=GitRepo))  # fmt: skip
    log = InMemoryEventLog()
    ports = SuitePorts(log=log, qa=port(member), clock=FakeClock(), qa_examples=False,
                       baseline=SandboxEvidence(BwrapSandbox(), root=tmp_path / "ev"))  # fmt: skip
    at = Checkout(git, "main", git.commit("main"))
    return task_suite(ports, story, TASK, deliberation_id="d1", at=at), log


def _suite_event(log: InMemoryEventLog) -> dict[str, object]:
    return next(e.data for _, e in log.read("s1") if e.type == "council.suite")


def test_a_wrong_reason_failure_is_asked_again_and_the_right_one_is_kept(tmp_path):
    chat = Script(_new_file(BROKEN), _new_file(GOOD))
    suite, log = _suite(tmp_path, chat)
    # first ask: the report and where the code it is about lives (localisation, before any test)
    assert "A test that reproduces this bug report" in chat.asked[0]
    assert "from strs.text import cut_suffix" in chat.asked[0]
    # the import error came back to QA as the reason, with its output
    assert len(chat.asked) == 2
    assert "the test itself is broken" in chat.asked[1] and "ImportError" in chat.asked[1]
    # kept: only the test that fails for the reported reason (test_plain passes on the base)
    assert list(suite.files) == [PATH]
    assert "test_empty_suffix" in suite.files[PATH] and "test_plain" not in suite.files[PATH]
    assert suite.is_protected(PATH)
    data = _suite_event(log)
    repro = data["repro"]
    assert repro["reproduced"] is True and repro["attempts"] == 2
    assert repro["tests"] == [f"{PATH}::test_empty_suffix"]
    assert "AssertionError" in repro["excerpt"]
    assert data["located"][0]["function"] == "cut_suffix"
    assert data["located"][0]["path"] == "strs/text.py"
    assert any(n.startswith("reproduced by") for n in data["notes"])


def test_a_qa_test_that_forgot_to_import_the_function_gets_the_import(tmp_path):
    """A NameError shows nothing about the code: the repository's one ``cut_suffix`` is imported
    for the test, which then reproduces on its first attempt."""
    body = GOOD.split("\n", 1)[1].lstrip("\n")
    body += "\n\ndef test_raises():\n    with pytest.raises(TypeError):\n        cut_suffix(1, 2)\n"
    chat = Script(_new_file(body))
    suite, log = _suite(tmp_path, chat)
    assert len(chat.asked) == 1
    assert suite.files[PATH].startswith("import pytest\nfrom strs.text import cut_suffix\n")
    data = _suite_event(log)
    assert data["repro"]["reproduced"] is True and data["repro"]["attempts"] == 1
    assert f"{PATH}: added import pytest; from strs.text import cut_suffix" in data["notes"]


def test_a_helper_the_report_defines_and_qas_test_forgot_is_the_reports(tmp_path):
    """The report defines its own helper in a code span; QA's test calls it without defining it
    (the 1.5B did on the development set's retry story). Added from the report, the test runs
    to the reported failure on its first attempt instead of a NameError."""
    story = STORY.model_copy(update={"description": (
        "Define `def empty(): return ''`; then `cut_suffix('name.py', empty())` gives '' back. "
        "I expected 'name.py' unchanged: there is nothing to cut."
    )})  # fmt: skip
    body = "def test_helper():\n    assert cut_suffix('name.py', empty()) == 'name.py'\n"
    chat = Script(_new_file(body))
    suite, log = _suite(tmp_path, chat, story)
    assert len(chat.asked) == 1
    assert "def empty():\n    return ''\n\n\ndef test_helper" in suite.files[PATH]
    data = _suite_event(log)
    assert data["repro"]["reproduced"] is True and data["repro"]["attempts"] == 1
    assert "AssertionError" in data["repro"]["excerpt"]
    assert f"{PATH}: added the report's empty" in data["notes"]


COPY = "    \"\"\"Cutting nothing.\"\"\"\n    assert cut_suffix('name.py', '') == 'name.py'\n"
REPEATED = "\n\n".join(f"def test_{i}():\n{COPY}" for i in range(1, 6))


def test_a_test_qa_repeats_until_its_token_limit_runs_once(tmp_path):
    """The 1.5B QA repeats its reproduction test as test_1 ... test_16. QA's request ends where a
    second test begins; from a server that ignores stop strings, the suite keeps one copy, says
    how many it left out, and the copy reproduces."""
    chat = Script(_new_file(REPEATED))
    suite, log = _suite(tmp_path, chat)
    assert chat.stop == [BEGUN_STOPS]
    assert suite.files[PATH].count("def test_") == 1 and "def test_1()" in suite.files[PATH]
    data = _suite_event(log)
    assert data["repro"]["reproduced"] is True
    assert [t.split("::")[1] for t in data["tests"] if t.startswith(PATH)] == ["test_1"]
    left = f"{PATH}: left out 4 tests repeating an earlier one (test_2, test_3, test_4, ...)"
    assert left in data["notes"]


def test_a_server_honouring_the_stop_strings_returns_the_first_test_only(tmp_path):
    chat = Script(_new_file(REPEATED), stops=True)
    suite, log = _suite(tmp_path, chat)
    assert suite.files[PATH].count("def test_") == 1 and "def test_1()" in suite.files[PATH]
    data = _suite_event(log)
    assert data["repro"]["reproduced"] is True
    assert not any("left out" in n for n in data["notes"])  # nothing left to leave out


def test_a_qa_test_module_written_under_the_code_modules_path_is_still_the_test(tmp_path):
    """The 1.5B heads its test module with the located module's path: the applier merges the
    tests into that module, so the patch creates no test file; the reply's block is the test."""
    chat = Script(f"path/to/strs/text.py\n```python\n{GOOD}```\n")
    suite, log = _suite(tmp_path, chat)
    assert len(chat.asked) == 1
    assert "def test_empty_suffix" in suite.files[PATH]
    assert _suite_event(log)["repro"]["tests"] == [f"{PATH}::test_empty_suffix"]


def test_a_test_that_never_reproduces_is_said_so_and_the_story_goes_on(tmp_path):
    chat = Script(_new_file(PASSING))
    suite, log = _suite(tmp_path, chat)
    assert len(chat.asked) == REPRO_ATTEMPTS
    assert "it passed on the current code" in chat.asked[-1]
    assert suite.files == {}  # nothing that fails on the base: the other evidence decides
    repro = _suite_event(log)["repro"]
    assert repro["reproduced"] is False and repro["attempts"] == REPRO_ATTEMPTS
    assert "passed on the current code" in repro["reason"]


def _written(description: str) -> Story:
    return STORY.model_copy(update={"description": description})


def test_the_reports_own_example_in_code_spans_is_the_reproduction_test(tmp_path):
    """ "`f(x)` returns `a`. I expected `b`": that assertion, written by code, fails on the base
    for the reported reason and is kept; QA is not asked for one."""
    chat = Script(_new_file(GOOD))
    story = _written("`cut_suffix('name.py', '')` returns `''`. I expected `'name.py'`, as "
                     "`str.removesuffix` does; `cut_suffix('name.py', '.py')` is right.")  # fmt: skip
    suite, log = _suite(tmp_path, chat, story)
    assert chat.asked == []
    path = "tests/test_report_example.py"
    assert list(suite.files) == [path] and suite.is_protected(path)
    assert "from strs.text import cut_suffix" in suite.files[path]
    assert "assert cut_suffix('name.py', '') == 'name.py'" in suite.files[path]
    # the user's word: never distrusted, and a winner failing it is not shipped
    assert f"{path}::" in suite.trusted and f"{path}::" in suite.spec
    data = _suite_event(log)
    repro = data["repro"]
    assert repro["reproduced"] is True and repro["origin"] == "report" and repro["attempts"] == 0
    assert "AssertionError" in repro["excerpt"]
    assert any("the report's own examples, by code" in n for n in data["notes"])


def test_a_report_example_that_does_not_fail_on_the_base_leaves_it_to_qa(tmp_path):
    """The example as written passes on the base (the report's expectation is what the code does
    already): it proves nothing, so QA is asked as before."""
    chat = Script(_new_file(GOOD))
    story = _written("`cut_suffix('ab', 'b')` returns `'b'`, I think. I expected `'a'`. And "
                     "cut_suffix('name.py', '') gives '' where I expected 'name.py'.")  # fmt: skip
    suite, log = _suite(tmp_path, chat, story)
    assert len(chat.asked) == 1  # QA's test reproduced it
    assert list(suite.files) == [PATH]
    assert _suite_event(log)["repro"]["origin"] == "qa"
    assert not any(PATH in p for p in (*suite.trusted, *suite.spec))  # QA's: agreement weighs it


class ExamplesQa(OneQa):
    """QA whose own examples are given: one of the bug, one of what works today, and the
    reported call with the reported (wrong) result."""

    def write_examples(
        self, brief: Brief, criteria: Sequence[str], notes: list[str]
    ) -> list[Sequence[str]]:
        return [[
            "cut_suffix('x.py', '') returns 'x.py'",
            "cut_suffix('ab', 'b') returns 'a'",
            "cut_suffix('name.py', '') returns ''",
        ]]  # fmt: skip


def test_qa_examples_the_base_passes_are_keep_tests_and_the_reported_call_is_not_one(tmp_path):
    repo = _repo(tmp_path)
    git = GitRepo(repo)
    member = Member("qa-1", "qa", load("roles.yaml").get("qa"), Script(_new_file(GOOD)),
                    temperature=0.0, seed=1, tools=PatchTools(write_patch=write_patch, repo=GitRepo))  # fmt: skip
    log = InMemoryEventLog()
    ports = SuitePorts(log=log, qa=ExamplesQa(member), clock=FakeClock(), qa_examples=True,
                       baseline=SandboxEvidence(BwrapSandbox(), root=tmp_path / "ev"))  # fmt: skip
    story = _written("`cut_suffix('name.py', '')` returns `''`. I expected `'name.py'`.")
    suite = task_suite(ports, story, TASK, deliberation_id="d1",
                       at=Checkout(git, "main", git.commit("main")))  # fmt: skip
    keep = "tests/test_t1_keep.py"
    # run on the base in the sandbox: the working behaviour is kept, the bug's example is not
    assert suite.keep == (f"{keep}::",) and f"{keep}::" in suite.advisory
    assert "cut_suffix('ab', 'b') returns 'a'" in suite.files[keep]
    assert "cut_suffix('x.py', '')" not in suite.files[keep]
    # the reported call with the reported result contradicts the reproduction test: dropped
    assert "cut_suffix('name.py', '') returns ''" not in suite.files[keep]
    assert "cut_suffix('x.py', '') returns 'x.py'" in suite.files["tests/test_t1_qa_examples.py"]
    data = _suite_event(log)
    assert data["keep"] == [f"{keep}::"]
    assert any(n.startswith("dropped keep test") for n in data["notes"])


DOCUMENTED = TEXT.replace(
    '    """s without suffix at its end."""\n',
    '    """s without suffix at its end.\n\n'
    "    >>> cut_suffix('name.py', '.py')\n    'name'\n"
    "    >>> cut_suffix('name.py', '')\n    'name.py'\n"
    "    >>> cut_suffix('ab', 'x')\n    'abx'\n"
    '    """\n',
)


def test_the_located_functions_documented_examples_the_base_passes_join_the_suite(tmp_path):
    """Of ``cut_suffix``'s three docstring examples, the one the report disputes is left out, the
    stale one fails on the base and is dropped, the third is a trusted test of the suite."""
    from fleet.evidence import doc_examples

    suite, log = _suite(tmp_path, Script(_new_file(GOOD)), text=DOCUMENTED)
    doc = suite.files[doc_examples.PATH]
    assert "def test_cut_suffix_0():" in doc and "test_cut_suffix_1" not in doc
    assert "test_cut_suffix_2" not in doc
    assert f"{doc_examples.PATH}::" in suite.trusted and suite.is_protected(doc_examples.PATH)
    assert "docstring examples: 1 of 2 pass on the base and are kept" in _suite_event(log)["notes"]
