"""QA's acceptance suite: executable criteria as tests, prose tests from QA, kept only if they fail on the base."""

from __future__ import annotations

import pytest

from fleet.contracts import TestOutcome as Outcome
from fleet.evidence.acceptance import (
    Qa,
    build_suite,
    names_of_tests,
    new_files,
    prune,
)

CRITERIA = [
    "divide(6, 3) returns 2.0",
    "divide(1, 0) raises ValueError with the message 'division by zero'",
    "the result is rounded to two places",
]


def test_new_files_and_prune():
    diff = (
        "diff --git a/tests/test_q.py b/tests/test_q.py\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/tests/test_q.py\n@@ -0,0 +1,6 @@\n+import x\n+\n+def test_a():\n+    assert 1\n"
        "+\n+def test_b():\n"
    )
    assert new_files(diff) == {
        "tests/test_q.py": "import x\n\ndef test_a():\n    assert 1\n\ndef test_b():\n"
    }
    src = "import pytest\n\n\n@pytest.mark.x\ndef test_a():\n    pass\n\n\ndef test_b():\n    assert 0\n"
    assert names_of_tests(prune(src, {"test_a"})) == ["test_b"]
    assert names_of_tests("def broken(:") is None


def test_a_generated_test_is_kept_only_if_it_fails_on_the_base():
    qa_files = {
        "tests/test_qa.py": "def test_rounds():\n    assert 0\n\n\ndef test_trivial():\n    assert 1\n",
        "tests/test_bad.py": "def oops(:\n",
        "tests/test_ops.py": "def test_x():\n    assert 0\n",  # would replace the repo's own tests
    }
    seen = []

    def baseline(suite):
        seen.append(suite)
        return [
            Outcome(test_id="tests/test_qa.py::test_rounds", passed=False),
            Outcome(test_id="tests/test_qa.py::test_trivial", passed=True),
            Outcome(test_id="tests/test_t1_acceptance.py::test_divide_1", passed=False),
            Outcome(test_id="tests/test_t1_acceptance.py::test_divide_2", passed=True),
            Outcome(test_id="tests/test_ops.py::test_add", passed=True),
        ]

    asked = []
    suite, notes = build_suite(
        CRITERIA,
        name="t1",
        repo_tests=("tests/test_ops.py",),
        qa=Qa(tests=lambda prose: asked.append(prose) or qa_files),
        baseline=baseline,
    )
    assert asked == [["the result is rounded to two places"]]
    assert names_of_tests(suite.files["tests/test_qa.py"]) == ["test_rounds"]
    assert names_of_tests(suite.files["tests/test_t1_acceptance.py"]) == ["test_divide_1"]
    assert set(suite.files) == {"tests/test_qa.py", "tests/test_t1_acceptance.py"}
    assert suite.trusted == ("tests/test_ops.py::",)
    assert suite.protected == (*suite.files, "tests/test_ops.py")  # the repository's tests too
    text = " ".join(notes)
    assert "not valid Python" in text and "replace an existing" in text and "test_trivial" in text


def test_a_lazy_functions_values_compare_as_the_example_writes_them():
    # toolz, funcy, more-itertools: most functions return iterators; "returns [...]" means its values
    from fleet.evidence.acceptance import executable_tests

    source = executable_tests(
        ["pairs([1, 2, 3, 4]) returns [(1, 2), (3, 4)]", "first2('abc') returns ('a', 'b')",
         "words('a b') returns ['a', 'b']"]
    )  # fmt: skip
    assert source is not None
    ns: dict = {}
    exec(compile(source, "tests/test_x.py", "exec"), ns)  # noqa: S102 - our own generated module
    funcs = {
        "pairs": lambda xs: zip(xs[::2], xs[1::2], strict=False),
        "first2": lambda s: iter(s[:2]),
        "words": lambda s: s.split(),  # a list stays a list
    }
    ns["_find"] = funcs.__getitem__
    for name in ("test_pairs_1", "test_first2_1", "test_words_1"):
        ns[name]()
    funcs["pairs"] = lambda xs: iter([(1, 2)])
    with pytest.raises(AssertionError):
        ns["test_pairs_1"]()  # wrong values still fail
    assert ns["_as"]([1], "ab") == "ab"  # only an iterator is turned into the example's type
    # an endless iterator (a candidate's padded(seq) with no n) is a wrong value, read no further
    # than one past the example's length: materialised whole, it took the run past its memory
    import itertools

    funcs["pairs"] = lambda xs: itertools.repeat((1, 2))
    with pytest.raises(AssertionError):
        ns["test_pairs_1"]()
    assert ns["_as"]([1, 2], itertools.count()) == [0, 1, 2]
