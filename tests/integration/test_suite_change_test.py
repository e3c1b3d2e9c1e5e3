"""A change story's first test through the pipeline's suite step (fleet/pipeline/suite.py), as a
bug report's reproduction test: a real git repository, real evidence runs on the base commit
(bubblewrap), a QA council member whose model is scripted. The test of the change is kept only
if it fails on the base because the change is missing (the option it asks for does not exist
yet, or the result it asks for is not returned)."""

from __future__ import annotations

from fleet.agents.author import PatchFailed
from fleet.contracts import ChatResponse, Story
from tests.integration.test_suite_repro import (
    PATH,
    OneQa,
    Script,
    _new_file,
    _suite,
    _suite_event,
)

CHANGE = Story(
    id="s1", title="cut_suffix: an option to ignore the case", work_kind="change",
    description="Please add a keyword argument `ignore_case` (default False) to cut_suffix: with "
                "it the suffix matches whatever its case. "
                "`cut_suffix('NAME.PY', '.py', ignore_case=True)` should return `'NAME'`.",
)  # fmt: skip
NO_EXAMPLE = CHANGE.model_copy(update={"description": CHANGE.description.split(" `cut", 1)[0]})
BROKEN = "from strs.nothere import cut_suffix\n\n\ndef test_case():\n    assert cut_suffix('A.PY', '.py', ignore_case=True) == 'A'\n"
GOOD = (
    "from strs.text import cut_suffix\n\n\ndef test_ignore_case():\n"
    "    assert cut_suffix('A.PY', '.py', ignore_case=True) == 'A'\n\n\ndef test_plain():\n"
    "    assert cut_suffix('ab', 'b') == 'a'\n"
)


def test_the_change_storys_own_example_is_its_first_test_and_fails_for_the_missing_option(
    tmp_path,
):
    chat = Script(_new_file(GOOD))
    suite, log = _suite(tmp_path, chat, CHANGE)
    assert chat.asked == []  # the story's example, written by code
    path = "tests/test_report_example.py"
    assert list(suite.files) == [path] and suite.is_protected(path)
    assert "assert cut_suffix('NAME.PY', '.py', ignore_case=True) == 'NAME'" in suite.files[path]
    repro = _suite_event(log)["repro"]
    assert repro["reproduced"] is True and repro["origin"] == "report"
    assert "unexpected keyword argument 'ignore_case'" in repro["excerpt"]


def test_qa_is_asked_for_a_test_of_the_change_and_told_why_a_broken_one_did_not_count(tmp_path):
    chat = Script(_new_file(BROKEN), _new_file(GOOD))
    suite, log = _suite(tmp_path, chat, NO_EXAMPLE)
    assert "A test of the change this story asks for" in chat.asked[0]
    assert "reproduces this bug report" not in chat.asked[0]
    assert (
        "The story is about `cut_suffix`: import it with `from strs.text import cut_suffix`"
        in chat.asked[0]
    )
    assert len(chat.asked) == 2
    assert "Your last test did not test the change: the test itself is broken" in chat.asked[1]
    # kept: the test that fails because the option is missing; test_plain passes on the base
    assert "test_ignore_case" in suite.files[PATH] and "test_plain" not in suite.files[PATH]
    data = _suite_event(log)
    assert data["repro"]["tests"] == [f"{PATH}::test_ignore_case"]
    assert data["located"][0]["function"] == "cut_suffix"


def test_a_feature_story_gets_no_first_test(tmp_path):
    """Only bug and change stories: a feature's tests come from its criteria."""
    chat = Script(_new_file(GOOD))
    _, log = _suite(tmp_path, chat, CHANGE.model_copy(update={"work_kind": "feature"}))
    assert _suite_event(log)["repro"] is None


class Sampled(Script):
    """QA's model answering with no test at all (one line repeated, as the 1.5B did), keeping
    each request's temperature and seed."""

    def __init__(self) -> None:
        super().__init__("path/to/strs/text.py\n" * 40)
        self.sampling: list[tuple[float, object]] = []

    def complete(self, messages, **kw):  # type: ignore[no-untyped-def]
        if "Reply again" not in messages[-1].content:  # a try's request, not its correction
            self.sampling.append((kw["temperature"], kw.get("seed")))
        return super().complete(messages, **kw)


class Noted(OneQa):
    """The QaTeam port as the story path's: a member whose model fails adds a note."""

    def write_tests(self, brief, criteria, notes):  # type: ignore[no-untyped-def]
        try:
            return super().write_tests(brief, criteria, notes)
        except PatchFailed as exc:
            notes.append(f"{self.member.agent_id}: {exc}"[:200])
            return []


def test_a_try_after_one_that_wrote_no_test_is_sampled_afresh_and_hot(tmp_path):
    """The same request at QA's temperature and seed repeats its reply: each later try has a
    seed of its own, and after a try that wrote nothing it is sampled at least 0.7 hot."""
    chat = Sampled()
    _, log = _suite(tmp_path, chat, NO_EXAMPLE, port=Noted)
    (t1, s1), (t2, s2), (t3, s3) = chat.sampling
    assert t1 < 0.7 and t2 >= 0.7 and t3 >= 0.7
    assert len({s1, s2, s3}) == 3
    repro = _suite_event(log)["repro"]
    assert repro["reproduced"] is False and repro["reason"] == "QA wrote no test"


class Begun(Script):
    """QA's model asked with the test module begun: the given continuations in turn (the engine
    returns only what follows the beginning)."""

    def __init__(self, *continuations: str) -> None:
        super().__init__("")
        self.continuations, self.requests = list(continuations), []

    def complete(self, messages, **kw):  # type: ignore[no-untyped-def]
        self.requests.append(list(messages))
        return ChatResponse(text=self.continuations.pop(0), model="s", prompt_tokens=1,
                            completion_tokens=1, latency_ms=0.0)  # fmt: skip


GOOD_TAIL = "ignore_case():\n    assert cut_suffix('A.PY', '.py', ignore_case=True) == 'A'\n```\n"


def test_qa_continues_a_test_module_begun_for_it(tmp_path):
    """The 1.5B QA answered the edit-format request for a test with changes to the code or a path
    line repeated to its token limit; with the module begun (pytest, the located function's
    import, ``def test_``) and no edit format, it continues a test."""
    chat = Begun(GOOD_TAIL)
    suite, log = _suite(tmp_path, chat, NO_EXAMPLE, port=Noted)
    (begun,) = chat.requests
    assert begun[-1].role == "assistant"
    assert begun[-1].content == (
        "```python\nimport pytest\n\nfrom strs.text import cut_suffix\n\n\ndef test_"
    )
    assert "SEARCH" not in begun[-2].content  # no edit format to break
    assert "A test of the change this story asks for" in begun[-2].content
    repro = _suite_event(log)["repro"]
    assert repro["reproduced"] is True and repro["attempts"] == 1
    assert repro["tests"] == [f"{PATH}::test_ignore_case"]
    assert "def test_ignore_case():" in suite.files[PATH]


def test_a_later_try_is_begun_too_and_told_why_the_last_did_not_count(tmp_path):
    broken = "ignore_case():\n    assert cut_sufix('A.PY', '.py', ignore_case=True) == 'A'\n```\n"
    chat = Begun(broken, GOOD_TAIL)
    _, log = _suite(tmp_path, chat, NO_EXAMPLE, port=Noted)
    assert [r[-1].role for r in chat.requests] == ["assistant", "assistant"]
    assert "the test itself is broken" in chat.requests[-1][-2].content
    repro = _suite_event(log)["repro"]
    assert repro["reproduced"] is True and repro["attempts"] == 2
