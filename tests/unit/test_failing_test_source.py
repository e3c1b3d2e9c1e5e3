"""Authors fixing a change read the failing tests themselves, found by their ids in the repository:
on a retry (the continuation and the edit-format request) and in a council revision."""

from __future__ import annotations

from fleet import contracts
from fleet.agents import write_patch
from fleet.agents.request import change_request
from fleet.agents.testsource import failing_tests, source_of, with_tests
from fleet.config import load
from fleet.contracts import Evidence, Patch, Proposal
from fleet.council import Brief, Member
from fleet.council.patching import PatchTools, developer_temperature
from fleet.patches import make_patch
from fleet.testing.fakes import ScriptedChatModel

TESTS = (
    '''import unittest
import pytest
from calc import twice


class TwiceTests(unittest.TestCase):
    def test_negative(self):
        """Negative numbers double too."""
        self.assertEqual(twice(-2), -4)


@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    assert twice(x) == 2 * x


def test_long():
'''
    + "    assert twice(1) == 2\n" * 60
)
STUB = 'def twice(x):\n    """Return x doubled."""\n'
FILES = {"calc.py": STUB, "tests/test_calc.py": TESTS}


def test_both_id_shapes_and_parametrized_ids_find_the_test_and_unknown_ids_find_nothing() -> None:
    want = 'def test_negative(self):\n    """Negative numbers double too."""\n    self.assertEqual(twice(-2), -4)'
    assert source_of(FILES, "tests/test_calc.py::TwiceTests::test_negative") == want
    assert source_of(FILES, "tests/test_calc/TwiceTests.py::test_negative") == want  # JUnit's
    assert source_of(FILES, "tests/test_calc.py::test_param[2]").startswith("@pytest.mark")
    long = source_of(FILES, "tests/test_calc.py::test_long", chars=300)
    assert long is not None and len(long) <= 300 and long.endswith("(clipped)")
    for missing in ("tests/test_calc.py::test_nope", "tests/gen_test.py::test_x",
                    "tests/test_calc.py::TwiceTests", "tests/test_calc/Nope.py::test_negative",
                    "tests/test_calc.py::OtherTests::test_negative"):  # fmt: skip
        assert source_of(FILES, missing) is None
    assert source_of({"t.py": "def test_x(:\n"}, "t.py::test_x") is None


def test_failing_tests_reads_ids_out_of_findings_once_each_up_to_the_limit() -> None:
    notes = [
        "T1: failed: tests/test_calc/TwiceTests.py::test_negative: AssertionError: -2 != -4",
        "T1: failed: tests/test_calc/TwiceTests.py::test_negative: again",
        "T1: unit: 2 of 3 tests failed; failing test tests/test_calc.py::test_param[1]",
        "T1: failed: tests/test_calc.py::test_long",
    ]
    shown = failing_tests(FILES, notes)
    assert len(shown) == 2
    assert shown[0].startswith("# tests/test_calc/TwiceTests.py::test_negative\ndef test_negative")
    assert shown[1].startswith("# tests/test_calc.py::test_param\n@pytest.mark")


def test_a_retry_shows_the_failing_test_in_the_continuation_and_in_the_edit_request() -> None:
    finding = "T1: failed: tests/test_calc/TwiceTests.py::test_negative: AssertionError: -2 != -4"
    asked = []

    def script(messages, schema):
        asked.append(list(messages))
        return "    return 2 * x\n```\n"

    patch = write_patch(ScriptedChatModel(script=script), [], FILES, base_commit="c",
                        focus=["twice"], notes=[finding])  # fmt: skip
    assert "+    return 2 * x" in patch.diff
    ask = asked[0][1].content
    assert (
        "The failing test:\n```python\n# tests/test_calc/TwiceTests.py::test_negative\ndef test_negative(self):"
        in ask
    )
    assert ask.index("An earlier attempt failed") < ask.index("The failing test:")
    request = change_request("Implement twice", [], FILES, findings=[finding])
    assert "self.assertEqual(twice(-2), -4)" in request
    assert "The failing test" not in change_request("Implement twice", [], FILES)


class FakeRepo:
    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return dict(FILES)

    def read(self, ref: str, path: str) -> str | None:
        return FILES.get(path)

    def check(self, patch: Patch) -> str | None:
        return None


def _developer(script, repo) -> Member:
    """developer-1 answering through ``script``, patching ``repo``."""
    return Member("developer-1", "developer", load("roles.yaml").get("developer"),
                  ScriptedChatModel(script=script), temperature=developer_temperature("developer-1"),
                  seed=7, tools=PatchTools(write_patch=write_patch, repo=lambda s: repo))  # fmt: skip


def test_a_council_reviser_reads_its_own_failing_tests_not_the_other_candidates() -> None:
    def proposal(author: str, body: str) -> Proposal:
        diff = f"--- a/calc.py\n+++ b/calc.py\n+    {body}\n"
        return Proposal(id=f"d:p0:{author}", deliberation_id="d", author=author,
                        role="developer", round=0, content="c",
                        patch=Patch(base_commit="abc", diff=diff))  # fmt: skip

    def fails(p: Proposal, test_id: str) -> Evidence:
        t = contracts.TestOutcome(test_id=test_id, passed=False, excerpt="assert failed")
        return Evidence(proposal_id=p.id, passed=False, tests_failed=1, tests=(t,))

    own, other = proposal("developer-1", "return x"), proposal("developer-2", "return -x")
    asked = []

    def script(messages, schema):
        asked.append(list(messages))
        return 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n    return 2 * x\n```\n'

    m = _developer(script, FakeRepo())
    b = Brief(deliberation_id="d", story_id="s", task_id="T1", task="Implement twice", round=0,
              step="revise", source="/repo", base="main", base_commit="abc",
              proposals=(own, other),
              evidence=(fails(own, "tests/test_calc/TwiceTests.py::test_negative"),
                        fails(other, "tests/test_calc.py::test_param[1]")))  # fmt: skip
    out = m.revise(b, own)
    assert out.patch is not None and "+    return 2 * x" in out.patch.diff
    user = asked[0][-1].content
    assert "The failing test:\n```python\n# tests/test_calc/TwiceTests.py::test_negative" in user
    assert "self.assertEqual(twice(-2), -4)" in user
    shown = user[user.index("The failing test:") :]
    assert "@pytest.mark.parametrize" not in shown  # developer-2's failing test is its own affair
    assert shown.count("The failing test:") == 1


class Bodied(FakeRepo):
    """calc.py's ``twice`` with a wrong body (a bug to fix, not a stub to continue)."""

    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return {**FILES, "calc.py": STUB + "    return x\n"}


def test_a_council_reviser_that_only_rewrites_the_evidence_test_is_told_to_change_the_code() -> (
    None
):
    own = Proposal(id="d:p0:developer-1", deliberation_id="d", author="developer-1",
                   role="developer", round=0, content="c",
                   patch=Patch(base_commit="abc", diff="--- a/calc.py\n+++ b/calc.py\n+    x\n"))  # fmt: skip
    t = contracts.TestOutcome(
        test_id="tests/test_calc.py::test_long", passed=False, excerpt="assert"
    )
    rewrite = ("tests/test_calc.py\n<<<<<<< SEARCH\n    assert twice(x) == 2 * x\n=======\n"
               "    assert twice(x) == x\n>>>>>>> REPLACE\n")  # fmt: skip
    fix = "calc.py\n<<<<<<< SEARCH\n    return x\n=======\n    return 2 * x\n>>>>>>> REPLACE\n"
    replies, asked = [rewrite, fix], []

    def script(messages, schema):
        asked.append(list(messages))
        return replies.pop(0)

    b = Brief(deliberation_id="d", story_id="s", task_id="T1", task="Implement twice", round=1,
              step="revise", source="/repo", base="main", base_commit="abc", proposals=(own,),
              evidence=(Evidence(proposal_id=own.id, passed=False, tests_failed=1, tests=(t,)),),
              evidence_files=("tests/test_calc.py",))  # fmt: skip
    out = _developer(script, Bodied()).revise(b, own)
    assert out.patch is not None and out.patch.files == ("calc.py",)
    assert "+    return 2 * x" in out.patch.diff
    assert "change only the tests (tests/test_calc.py)" in asked[1][-1].content


def test_with_tests_reads_only_the_missing_files_the_ids_name() -> None:
    small = {"calc.py": STUB}
    read_paths: list[str] = []

    def read(path: str) -> str | None:
        read_paths.append(path)
        return TESTS if path == "tests/test_calc.py" else None

    fails = ["tests/test_calc/TwiceTests.py::test_negative: AssertionError: -2 != -4"]
    got = with_tests(small, fails, read)
    assert got["tests/test_calc.py"] == TESTS and small == {"calc.py": STUB}
    assert read_paths == ["tests/test_calc/TwiceTests.py", "tests/test_calc.py"]  # JUnit's, then
    assert "self.assertEqual(twice(-2), -4)" in failing_tests(got, fails)[0]
    read_paths.clear()
    assert with_tests(FILES, fails, read) is FILES and read_paths == []  # there already
    assert with_tests(small, ["no test id here"], read) is small
    assert with_tests(small, ["tests/test_gone.py::test_x"], read) is small
    read_paths.clear()  # a repeated id counts once: the second distinct test's file is read too
    twice = ["tests/test_gone.py::test_x", "tests/test_gone.py::test_x: again", *fails]
    assert "tests/test_calc.py" in with_tests(small, twice, read)
    # tests in no file (QA's generated module) do not use up the limit, as in failing_tests
    generated = ["test_qa_gen.py::test_a", "test_qa_gen2.py::test_b", *fails]
    assert "tests/test_calc.py" in with_tests(small, generated, read)
    assert len(failing_tests(with_tests(small, generated, read), generated)) == 1


class BigTestRepo(FakeRepo):
    """A repository whose test module is too big for ``files`` (read by name only)."""

    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return {"calc.py": STUB}

    def read(self, ref: str, path: str) -> str | None:
        return FILES.get(path)


def test_a_revision_whose_reply_echoes_keeps_its_failing_tests_in_the_continuation() -> None:
    """A small model often answers the long revision request by echoing it; the stub
    continuation that follows must still say what the reviser's version got wrong (and show the
    test, from a test module too big for ``files``), not ask for a fresh sample."""
    diff = "--- a/calc.py\n+++ b/calc.py\n+    return x\n"
    own = Proposal(id="d:p0:developer-1", deliberation_id="d", author="developer-1",
                   role="developer", round=0, content="c",
                   patch=Patch(base_commit="abc", diff=diff))  # fmt: skip
    t = contracts.TestOutcome(test_id="tests/test_calc/TwiceTests.py::test_negative",
                              passed=False, excerpt="AssertionError: -2 != -4")  # fmt: skip
    ev = Evidence(proposal_id=own.id, passed=False, tests_failed=1, tests=(t,))
    asked = []

    def script(messages, schema):
        asked.append(list(messages))
        if len(asked) == 1:  # the edit-format request: echoed back, no edit in it
            return messages[-1].content[:400]
        return "    return 2 * x\n```\n"

    m = _developer(script, BigTestRepo())
    b = Brief(deliberation_id="d", story_id="s", task_id="T1", task="Implement twice", round=1,
              step="revise", source="/repo", base="main", base_commit="abc",
              proposals=(own,), evidence=(ev,))  # fmt: skip
    out = m.revise(b, own)
    assert out.patch is not None and "+    return 2 * x" in out.patch.diff
    assert len(asked) >= 2
    assert "self.assertEqual(twice(-2), -4)" in asked[0][-1].content  # the revision request
    cont = asked[-1][1].content  # system, the request, the reply begun with the stub
    assert "An earlier attempt failed: tests/test_calc/TwiceTests.py::test_negative" in cont
    assert "The failing test:\n```python\n# tests/test_calc/TwiceTests.py::test_negative" in cont


def test_a_debugging_turn_reads_its_own_code_and_edits_it_where_it_stands() -> None:
    """Shown its version as code, a developer may quote its own lines (not in the base)."""
    own = Proposal(id="d:p0:developer-1", deliberation_id="d", author="developer-1",
                   role="developer", round=0, content="c",
                   patch=make_patch("abc", FILES, {"calc.py": STUB + "    return x + 1\n"}))  # fmt: skip
    t = contracts.TestOutcome(
        test_id="tests/test_calc.py::test_long", passed=False, excerpt="2 != 1"
    )
    replies, asked = [_FIX_OWN], []

    def script(messages, schema):
        asked.append(list(messages))
        return replies.pop(0)

    b = Brief(deliberation_id="d", story_id="s", task_id="T1", task="Implement twice", round=0,
              step="debug", source="/repo", base="main", base_commit="abc", proposals=(own,),
              evidence=(Evidence(proposal_id=own.id, passed=False, tests_failed=1, tests=(t,)),))  # fmt: skip
    out = _developer(script, FakeRepo()).revise(b, own)
    assert out.patch is not None and "+    return 2 * x\n" in out.patch.diff
    shown = asked[0][-1].content
    assert "calc.py\n```python\ndef twice(x):\n" in shown and "+    return x + 1" not in shown


_FIX_OWN = "calc.py\n<<<<<<< SEARCH\n    return x + 1\n=======\n    return 2 * x\n>>>>>>> REPLACE\n"
