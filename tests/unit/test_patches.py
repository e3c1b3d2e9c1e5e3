"""The edit format: parsing, applying (with errors a model can act on) and diffing."""

from __future__ import annotations

import pytest

from fleet.patches import (
    EditError,
    FunctionEdit,
    SearchReplace,
    apply_edits,
    make_patch,
    parse_edits,
)

OPS = '"""Ops."""\n\n\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n'


def test_parses_search_replace_blocks_inside_fences_and_shared_paths() -> None:
    reply = (
        "Here is the change.\n\n```python\ncalc/ops.py\n<<<<<<< SEARCH\ndef add(a, b):\n"
        "    return a + b\n=======\ndef add(a, b):\n    return b + a\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\n=======\ndef mul(a, b):\n    return a * b\n>>>>>>> REPLACE\n```\n"
    )
    edits = parse_edits(reply)
    assert edits == [
        SearchReplace("calc/ops.py", "def add(a, b):\n    return a + b\n",
                      "def add(a, b):\n    return b + a\n"),
        SearchReplace("calc/ops.py", "", "def mul(a, b):\n    return a * b\n"),
    ]  # fmt: skip


@pytest.mark.parametrize("line", ["**calc/ops.py**", "# File: calc/ops.py", "`calc/ops.py`:"])
def test_path_line_decorations_are_stripped(line: str) -> None:
    reply = f"{line}\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n"
    assert parse_edits(reply)[0].path == "calc/ops.py"


def test_fenced_function_is_a_function_edit() -> None:
    reply = "Sure:\n```python\nfrom typing import List\n\ndef f(xs: List[int]) -> int:\n    return 1\n```"
    (edit,) = parse_edits(reply)
    assert isinstance(edit, FunctionEdit) and edit.names == ("f",) and edit.path is None


def test_a_reply_without_edits_says_how_to_write_one() -> None:
    with pytest.raises(EditError) as err:
        parse_edits("I think you should add a function.")
    assert err.value.reason == "no_edits" and "SEARCH" in str(err.value)


def test_search_replace_applies_and_creates_files() -> None:
    edits = [
        SearchReplace("calc/ops.py", "    return a - b\n", "    return a - b  # sub\n"),
        SearchReplace("calc/new.py", "", "X = 1\n"),
    ]
    out = apply_edits({"calc/ops.py": OPS}, edits)
    assert "return a - b  # sub" in out["calc/ops.py"] and out["calc/new.py"] == "X = 1\n"


def test_search_tolerates_indentation_shift_and_trailing_spaces() -> None:
    edit = SearchReplace("calc/ops.py", "return a + b   \n", "return a + b + 0\n")
    out = apply_edits({"calc/ops.py": OPS}, [edit])
    assert "    return a + b + 0\n" in out["calc/ops.py"]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (SearchReplace("calc/ops.py", "def mul(a, b):\n", "x\n"), "not_found"),
        (SearchReplace("calc/ops.py", "(a, b):\n", "(a, b, c):\n"), "ambiguous"),
        (SearchReplace("missing.py", "x\n", "y\n"), "not_found"),
        (SearchReplace("/etc/passwd", "", "x\n"), "unsafe_path"),
        (SearchReplace("../up.py", "", "x\n"), "unsafe_path"),
        (SearchReplace(".git/hooks/pre-commit", "", "x\n"), "unsafe_path"),
        (SearchReplace("calc/ops.py", "    return a + b\n", "    return (a +\n"), "syntax"),
    ],
)
def test_bad_edits_raise_a_reason(edit: SearchReplace, reason: str) -> None:
    with pytest.raises(EditError) as err:
        apply_edits({"calc/ops.py": OPS}, [edit])
    assert err.value.reason == reason


def test_function_edit_replaces_by_name_in_the_file_that_defines_it_and_adds_imports() -> None:
    code = "import math\n\n\ndef sub(a, b):\n    return math.fsum([a, -b])\n"
    out = apply_edits({"calc/ops.py": OPS, "calc/other.py": "Y = 2\n"},
                      [FunctionEdit(None, code, ("sub",))])  # fmt: skip
    text = out["calc/ops.py"]
    assert "return math.fsum([a, -b])" in text and "return a - b" not in text
    assert text.index("import math") < text.index("def add") and text.count("def sub") == 1
    assert out["calc/other.py"] == "Y = 2\n"


def test_function_edit_with_unknown_owner_asks_for_a_path() -> None:
    with pytest.raises(EditError) as err:
        apply_edits({"a.py": "", "b.py": ""}, [FunctionEdit(None, "def g():\n    pass\n", ("g",))])
    assert err.value.reason == "not_found" and "path" in str(err.value)


def test_make_patch_is_a_git_diff_with_new_files_from_dev_null() -> None:
    new = apply_edits({"calc/ops.py": OPS}, [SearchReplace("calc/new.py", "", "X = 1")])
    patch = make_patch("abc123", {"calc/ops.py": OPS}, new, "add new")
    assert patch.files == ("calc/new.py",) and patch.base_commit == "abc123"
    assert patch.diff.startswith("diff --git a/calc/new.py b/calc/new.py\nnew file mode 100644\n")
    assert "--- /dev/null\n+++ b/calc/new.py\n@@ -0,0 +1 @@\n+X = 1\n\\ No newline" in patch.diff


def test_make_patch_skips_unchanged_files() -> None:
    assert make_patch("c", {"a.py": "x\n"}, {"a.py": "x\n"}).diff == ""


# What Qwen2.5-Coder-0.5B actually answered for HumanEval/0 (bench_agents, 2026-11-22): the
# example's path copied, and no ======= divider. Both are read the way the model meant them.
QWEN_REPLY = '''```python
calc/ops.py
<<<<<<< SEARCH
def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if any two numbers are closer than threshold. """
    for i in range(len(numbers) - 1):
        for j in range(i + 1, len(numbers)):
            if abs(numbers[i] - numbers[j]) < threshold:
                return True
    return False
>>>>>>> REPLACE
```'''
STUB = (
    "from typing import List\n\n\n"
    "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
    '    """ Check if any two numbers are closer than threshold. """\n'
    "    pass\n"
)


def test_a_block_without_divider_is_a_whole_function_in_the_file_that_defines_it():
    new = apply_edits({"solution.py": STUB}, parse_edits(QWEN_REPLY))
    assert set(new) == {"solution.py"}
    assert "abs(numbers[i] - numbers[j])" in new["solution.py"]
    assert "    pass\n" not in new["solution.py"] and new["solution.py"].count("def ") == 1


def test_a_block_without_divider_and_without_code_is_malformed():
    reply = "a.py\n<<<<<<< SEARCH\nx = 1\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match="no ======= line"):
        parse_edits(reply)


def test_search_text_found_in_one_other_file_redirects_a_wrong_path():
    reply = "calc/ops.py\n<<<<<<< SEARCH\n    pass\n=======\n    return False\n>>>>>>> REPLACE\n"
    new = apply_edits({"solution.py": STUB}, parse_edits(reply))
    assert set(new) == {"solution.py"} and new["solution.py"].endswith("    return False\n")


def test_a_new_path_with_new_code_still_creates_the_file():
    reply = "pkg/new.py\n<<<<<<< SEARCH\n=======\ndef fresh():\n    return 1\n>>>>>>> REPLACE\n"
    new = apply_edits({"solution.py": STUB}, parse_edits(reply))
    assert new["pkg/new.py"] == "def fresh():\n    return 1\n"


def test_a_whole_file_answer_does_not_import_the_files_own_functions_into_it():
    # Qwen2.5-Coder-0.5B on the sample story: the package's re-export line copied into ops.py
    ops = '"""Ops."""\n\n\ndef add(a, b):\n    return a + b\n'
    reply = (
        "```python\nfrom calc import add\n\n\ndef add(a, b):\n    return a + b\n\n\n"
        "def divide(a, b):\n    return a / b\n```"
    )
    new = apply_edits({"calc/ops.py": ops}, parse_edits(reply))
    assert "from calc import" not in new["calc/ops.py"]
    assert "def divide(a, b):" in new["calc/ops.py"]


def test_a_block_without_path_goes_to_the_one_file_holding_its_search_text():
    # Qwen2.5-Coder-0.5B on HumanEval/2 left the path line out
    reply = "<<<<<<< SEARCH\n    pass\n=======\n    return False\n>>>>>>> REPLACE\n"
    new = apply_edits({"solution.py": STUB, "README.md": "hi\n"}, parse_edits(reply))
    assert new["solution.py"].endswith("    return False\n") and new["README.md"] == "hi\n"


def test_a_block_without_path_whose_search_text_is_in_two_files_asks_for_the_path():
    reply = "<<<<<<< SEARCH\n    pass\n=======\n    return False\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match="no file path and its SEARCH text is in several"):
        apply_edits({"a.py": STUB, "b.py": STUB}, parse_edits(reply))


def test_a_new_file_block_without_path_is_malformed():
    with pytest.raises(EditError, match="no file path"):
        parse_edits("<<<<<<< SEARCH\n=======\nX = 1\n>>>>>>> REPLACE\n")


def test_a_function_block_aimed_at_a_non_python_file_goes_to_the_file_defining_it():
    files = {"README.md": "# pkg\n", "pkg/m.py": "def f(x):\n    '''Double.'''\n"}
    edit = FunctionEdit(path="README.md", code="def f(x):\n    return 2 * x\n", names=("f",))
    out = apply_edits(files, [edit])
    assert out["README.md"] == "# pkg\n"
    assert "return 2 * x" in out["pkg/m.py"]


def test_a_function_block_aimed_at_a_new_text_file_stays_there_when_nothing_defines_it():
    edit = FunctionEdit(path="notes.md", code="def g():\n    return 1\n", names=("g",))
    assert apply_edits({"a.py": "x = 1\n"}, [edit])["notes.md"].startswith("def g()")


DOUBLE = 'def f(x):\n    """Double x."""\n'


def test_a_misquoted_search_whose_replace_is_the_whole_function_replaces_it():
    edit = SearchReplace(
        "path/to/example.py", "def f(x):\n    pass\n", "def f(x):\n    return 2 * x\n"
    )
    out = apply_edits({"pkg/m.py": DOUBLE, "README.md": "r\n"}, [edit])
    assert out["pkg/m.py"] == 'def f(x):\n    """Double x."""\n    return 2 * x\n'  # docstring kept
    assert "path/to/example.py" not in out


@pytest.mark.parametrize(
    ("replace", "files"),
    [
        ("x = 2\n", {"m.py": DOUBLE}),  # not a function
        ("def g():\n    return 1\n", {"m.py": DOUBLE}),  # a function no file defines
        ("def f(x):\n    return 2 * x\n", {"m.py": DOUBLE, "n.py": DOUBLE}),  # defined twice
        ("def f(x):\n  return (\n", {"m.py": DOUBLE}),  # does not parse
    ],
)
def test_a_misquoted_search_is_still_refused_when_its_replace_is_not_one_files_functions(
    replace: str, files: dict[str, str]
) -> None:
    with pytest.raises(EditError) as err:
        apply_edits(files, [SearchReplace("m.py", "def nothing_like_this():\n", replace)])
    assert err.value.reason == "not_found"


CALC = {
    "calc/__init__.py": '"""Calc."""\n\nfrom calc.ops import add, multiply, subtract\n',
    "calc/ops.py": OPS,
    "tests/test_ops.py": "from calc.ops import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}

SEVERAL = """Here is the change.
```python
# calc/__init__.py
from calc.ops import add, divide, multiply, subtract

# calc/ops.py
def divide(a, b):
    if b == 0:
        raise ValueError("division by zero")
    return a / b

# tests/test_ops.py
def test_divide():
    assert divide(6, 3) == 2.0
```
"""


def test_a_block_holding_several_files_under_path_comments_is_one_edit_per_file() -> None:
    edits = parse_edits(SEVERAL)
    assert [(e.path, getattr(e, "names", ())) for e in edits] == [
        ("calc/__init__.py", ()),
        ("calc/ops.py", ("divide",)),
        ("tests/test_ops.py", ("test_divide",)),
    ]
    out = apply_edits(CALC, edits)
    # the export joins the package's own import line, sorted as the lint wants it
    assert out["calc/__init__.py"].endswith(
        "from calc.ops import add, divide, multiply, subtract\n"
    )
    assert out["calc/__init__.py"].count("import") == 1
    assert "def divide(a, b):" in out["calc/ops.py"] and "def sub(" in out["calc/ops.py"]
    assert (
        "def test_add" in out["tests/test_ops.py"] and "def test_divide" in out["tests/test_ops.py"]
    )


def test_a_comment_that_names_no_file_does_not_split_a_block() -> None:
    code = "```python\n# compute it\ndef add(a, b):\n    # fast path\n    return a + b\n```\n"
    (edit,) = parse_edits("calc/ops.py\n" + code)
    assert edit.path == "calc/ops.py" and "# compute it" in edit.code


def test_an_import_from_another_module_is_added_on_its_own_line() -> None:
    edit = FunctionEdit("calc/ops.py", "import math\nfrom calc import util\n", ())
    out = apply_edits(CALC, [edit])["calc/ops.py"]
    assert out.startswith('"""Ops."""\nimport math\nfrom calc import util\n')


def test_a_copied_example_prefix_finds_the_file_so_a_misquoted_search_says_so():
    files = {"funcy/flow.py": "def retry(n):\n    return n\n", "funcy/seqs.py": "x = 1\n"}
    edit = SearchReplace("path/to/flow.py", "def retry(n):\n    return 0\n", "x = 2\n")
    with pytest.raises(EditError) as err:
        apply_edits(files, [edit])
    assert err.value.reason == "not_found" and "funcy/flow.py" in str(err.value)
    assert "no such file" not in str(err.value)
    # an indentation-shifted quote of the right file now applies there
    shifted = SearchReplace("path/to/funcy/flow.py", "  return n", "  return n + 1")
    assert apply_edits(files, [shifted])["funcy/flow.py"] == "def retry(n):\n    return n + 1\n"
    # two files of that name: nothing is guessed
    two = {**files, "other/flow.py": "y = 1\n"}
    with pytest.raises(EditError) as err:
        apply_edits(two, [edit])
    assert "no such file" in str(err.value)


def test_strays_are_repeated_search_texts_and_map_entries_and_only_dropped_beside_a_real_edit():
    from fleet.patches.edits import quotes_map, without_strays

    fix = SearchReplace("m.py", "    return a\n", "    return b\n")
    again = SearchReplace("m.py", "    return a\n", "    ret")  # the loop's cut-off copy
    mapped = SearchReplace("m.py", "def f(a, b) -> int  # Adds.\nclass C(Base)\n", "def f(a)\n")
    append = SearchReplace("m.py", "", "def g():\n    pass\n")
    other = SearchReplace("m.py", "", "def h():\n    pass\n")
    assert without_strays([fix, again, mapped, append, other, append]) == [fix, append, other]
    assert without_strays([mapped]) == [mapped]  # nothing else: the model hears it does not apply
    # the format's own example copied (both parts quoted from it); an edit only half quoted stays
    example = "Example:\npath/to/example.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE"
    copied = SearchReplace("path/to/example.py", "x = 1\n", "x = 2\n")
    half = SearchReplace("m.py", "x = 1\n", "x = 3\n")
    assert without_strays([fix, copied, half], example=example) == [fix, half]
    assert without_strays([fix, copied]) == [fix, copied]  # no example given
    for line in (
        "def f(x): return x",
        "def f(x) -> int:",
        "    def f(a,",
        "class C(B):  # x",
        "x = 1",
    ):
        assert not quotes_map(SearchReplace("m.py", f"{line}\n", "")), line


@pytest.mark.parametrize(
    "reply",
    [
        "path/to/m.py\n=======\ndef f(x):\n    return x + 1\n>>>>>>> REPLACE\n",
        "pkg/m.py\n```python\n=======\ndef f(x):\n    return x + 1\n>>>>>>> REPLACE\n```\n",
        "pkg/m.py\ndef f(x):\n    return x + 1\n",
    ],
)
def test_a_block_without_its_search_marker_is_read_as_the_whole_functions_it_holds(reply):
    files = {"pkg/m.py": "def f(x):\n    return x\n\n\ndef g():\n    pass\n"}
    out = apply_edits(files, parse_edits(reply))
    assert out["pkg/m.py"] == "def f(x):\n    return x + 1\n\n\ndef g():\n    pass\n"


def test_a_function_several_files_define_goes_to_the_one_its_copied_example_path_ends_like():
    files = {
        "pkg/m.py": "def f(x):\n    return x\n",
        "pkg/compat/n.py": "def f(x):\n    return 0\n",
    }
    out = apply_edits(
        files, parse_edits("path/to/m.py\n```python\ndef f(x):\n    return x + 1\n```\n")
    )
    assert out == {**files, "pkg/m.py": "def f(x):\n    return x + 1\n"}  # no new path/to/m.py
    with pytest.raises(EditError, match="defined in pkg/compat/n.py, pkg/m.py"):
        apply_edits(files, parse_edits("```python\ndef f(x):\n    return x + 1\n```\n"))


def test_an_underline_in_a_docstring_is_code_not_a_lost_marker():
    code = 'def f(x):\n    """Title\n    =======\n    """\n    return x + 1\n'
    (edit,) = parse_edits(f"pkg/m.py\n```python\n{code}```\n")
    assert isinstance(edit, FunctionEdit) and edit.code == code


def test_a_syntax_error_names_where_the_parser_stopped_and_that_the_line_is_the_replys():
    files = {"m.py": "def f(x, g=None):\n    return x\n"}
    reply = "m.py\n<<<<<<< SEARCH\n    return x\n=======\n    g = g or lambda e: True\n    return x\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError) as caught:
        apply_edits(files, parse_edits(reply))
    message = str(caught.value)
    assert "at line 2: 'g = g or lambda e: True' (at 'lambda e: True')" in message
    assert "the line is your new code: keep your SEARCH part" in message


def test_a_divider_doubled_before_the_replace_marker_is_not_code():
    files = {"m.py": "def f(x):\n    return x\n"}
    reply = (
        "m.py\n<<<<<<< SEARCH\n    return x\n=======\n    return x + 1\n=======\n>>>>>>> REPLACE\n"
    )
    assert apply_edits(files, parse_edits(reply)) == {"m.py": "def f(x):\n    return x + 1\n"}


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        # a block cut inside its REPLACE part: the blocks before it stand
        ("a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n\na.py\n"
         "<<<<<<< SEARCH\ny = 1\n=======\ny = ", "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n"
         ">>>>>>> REPLACE"),
        ("a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = ", ""),  # no block finished
        # a code fence cut open (a whole module copied until the limit): the block is left out
        ("Fix:\n```python\n# a.py\ndef f():\n    return (1,\n", "Fix:"),
        ("```python\ndef f():\n    return 1\n```\n\n```python\ndef g(", "```python\ndef f():\n"
         "    return 1\n```\n"),
        ("def f():\n    return 1\n\n\ndef g(x):\n    if x", "def f():\n    return 1\n\n"),
        # finished edits followed by prose the limit cut: nothing to leave out
        ("a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\nThis changes", None),
        ("```python\ndef f():\n    return 1\n```\nThis", None),
    ],
)  # fmt: skip
def test_a_reply_cut_at_its_token_limit_loses_only_its_unfinished_edit(
    reply: str, kept: str | None
) -> None:
    from fleet.patches.edits import finished

    assert finished(reply) == (reply if kept is None else kept)


BOX = (
    "class Box:\n    def __init__(self, items):\n        self.items = items\n\n"
    "    @property\n    def size(self):\n        return len(self.items) - 1\n"
)


def test_a_whole_method_replaces_its_namesake_in_the_class_at_the_class_indent() -> None:
    for code in ("@property\ndef size(self):\n    return len(self.items)\n",
                 "    @property\n    def size(self):\n        return len(self.items)\n"):  # fmt: skip
        out = apply_edits({"box.py": BOX}, parse_edits(f"box.py\n```python\n{code}```\n"))
        assert out["box.py"] == BOX.replace("len(self.items) - 1", "len(self.items)"), code
    # no path line: the one file whose class has the method
    out = apply_edits({"box.py": BOX, "other.py": "X = 1\n"},
                      parse_edits("```python\ndef size(self):\n    return 0\n```\n"))  # fmt: skip
    # its decorators are part of what it replaces (as for a top-level function)
    assert out["box.py"] == BOX.replace("    @property\n", "").replace("len(self.items) - 1", "0")
    assert out.get("other.py", "X = 1\n") == "X = 1\n"


def test_a_new_function_that_shares_a_method_name_is_added_beside_the_class() -> None:
    reply = "box.py\n```python\ndef size(items):\n    return len(items)\n```\n"
    out = apply_edits({"box.py": BOX}, parse_edits(reply))
    assert out["box.py"].startswith(BOX.rstrip("\n"))
    assert out["box.py"].endswith("\n\n\ndef size(items):\n    return len(items)\n")


PAD = (
    "import itertools\n\n\ndef pad(items, n):\n"
    '    """Pad to n."""\n    out = list(items)\n    return out + [None] * (n - 1 - len(out))\n\n\n'
    "class Box:\n    def size(self):\n        return 1\n"
)


def test_a_def_line_replaced_by_the_whole_function_rewrites_the_function_once() -> None:
    """The 1.5B quoted only ``def`` lines in SEARCH and wrote the whole function in REPLACE:
    applied as written, the new body landed above the old one and the module still parsed."""
    whole = (
        'def pad(items, n):\n    """Pad to n."""\n    out = list(items)\n'
        "    return out + [None] * (n - len(out))\n"
    )
    new = apply_edits({"m.py": PAD}, [SearchReplace("m.py", "def pad(items, n):\n", whole)])
    assert new["m.py"].count("def pad") == 1 and new["m.py"].count('"""Pad to n."""') == 1
    assert "(n - len(out))" in new["m.py"] and "n - 1" not in new["m.py"]
    assert new["m.py"].endswith("class Box:\n    def size(self):\n        return 1\n")
    # a method, quoted at its indent: the method is rewritten in its class
    method = "    def size(self):\n        return 2\n"
    new = apply_edits({"m.py": PAD}, [SearchReplace("m.py", "    def size(self):\n", method)])
    assert new["m.py"].endswith("class Box:\n    def size(self):\n        return 2\n")
    assert new["m.py"].count("def size") == 1


def test_lines_inserted_under_a_def_line_are_inserted() -> None:
    """A REPLACE part that neither repeats the function's first body line nor ends in a
    ``return`` adds its lines there."""
    check = "def pad(items, n):\n    if n < 0:\n        return []\n"
    new = apply_edits({"m.py": PAD}, [SearchReplace("m.py", "def pad(items, n):\n", check)])
    assert '        return []\n    """Pad to n."""\n    out = list(items)\n' in new["m.py"]
