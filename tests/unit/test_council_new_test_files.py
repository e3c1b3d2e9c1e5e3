"""QA's new test files out of its patch (fleet/council/patching.py: new_test_files)."""

from __future__ import annotations

from fleet.council.patching import new_test_files


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
