"""QA's new test files out of its patch (fleet/council/patching.py: new_test_files)."""

from __future__ import annotations

from fleet.council.patching import new_test_files
from fleet.council.patching import test_block as block_of


def _new(path: str, text: str) -> str:
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    head = f"diff --git a/{path} b/{path}\nnew file mode 100644\n"
    return f"{head}--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


TEST = "def test_x():\n    assert 1\n"


def test_a_test_file_put_in_the_format_examples_directory_goes_where_it_was_asked():
    diff = _new("path/to/test_t1_qa_1.py", TEST)
    assert new_test_files(diff, "tests/test_t1_qa_1.py") == {"tests/test_t1_qa_1.py": TEST}


def test_other_new_files_keep_their_paths_and_non_tests_are_left_out():
    diff = _new("tests/test_t1_qa_1.py", TEST) + _new("tests/test_more.py", TEST)
    diff += _new("path/to/test_t1_qa_1.py", "def test_y():\n    assert 2\n")
    diff += _new("helper.py", "X = 1\n")
    got = new_test_files(diff, "tests/test_t1_qa_1.py")
    # the requested path is taken by the file written there: the stray copy stays where it was
    assert got["tests/test_t1_qa_1.py"] == TEST
    assert set(got) == {"tests/test_t1_qa_1.py", "tests/test_more.py", "path/to/test_t1_qa_1.py"}
    assert new_test_files(_new("path/to/test_t1_qa_1.py", TEST)) == {
        "path/to/test_t1_qa_1.py": TEST
    }


def test_test_block_takes_the_latest_python_block_that_defines_tests():
    tests = (
        "import pytest\n\n\ndef test_neg():\n    with pytest.raises(ValueError):\n        f(-1)\n"
    )
    reply = f"path/to/pkg/mod.py\n```python\n{tests}```\n"
    assert block_of([reply]) == tests
    # a later reply wins; blocks without a test function, or that do not parse, are passed over
    later = "```python\ndef test_two():\n    assert f(2) == 4\n```\n```python\ndef helper(:\n```"
    assert block_of([reply, later]) == "def test_two():\n    assert f(2) == 4\n"
    assert block_of(["```python\ndef f(x):\n    return x\n```", "no code here"]) == ""
