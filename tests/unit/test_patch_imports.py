"""Forgotten standard-library imports are added to a model's change, and nothing else is."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from fleet.agents import PatchFailed, author_messages, write_patch
from fleet.contracts import ChatMessage
from fleet.patches.imports import add_missing_imports, missing_imports
from fleet.testing.fakes import ScriptedChatModel

RECIPES = '''"""Recipes."""
from itertools import islice


def take(n, iterable):
    """Return first *n* items of the *iterable* as a list."""
'''
TAKE = (
    "more_itertools/recipes.py\n<<<<<<< SEARCH\n"
    '    """Return first *n* items of the *iterable* as a list."""\n=======\n'
    '    """Return first *n* items of the *iterable* as a list."""\n'
    "    return list(itertools.islice(iterable, n))\n>>>>>>> REPLACE\n"
)


def _run(source: str, call: str) -> str:
    """Execute ``source`` then ``print(call)`` in a fresh interpreter; its stdout or stderr."""
    out = subprocess.run([sys.executable, "-c", f"{source}\nprint({call})"],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    return out.stdout.strip() or out.stderr.strip().splitlines()[-1]


def test_a_module_used_by_attribute_is_imported_and_the_code_then_runs() -> None:
    body = RECIPES + "    return list(itertools.islice(iterable, n))\n"
    assert "NameError" in _run(body, "take(3, range(10))")
    fixed, added = add_missing_imports(body)
    assert added == ["import itertools"]
    assert _run(fixed, "take(3, range(10))") == "[0, 1, 2]"
    # placed with the module's imports, after its docstring
    assert fixed.split("\n")[:3] == [
        '"""Recipes."""',
        "import itertools",
        "from itertools import islice",
    ]


def test_bare_names_from_the_table_are_imported_from_their_module() -> None:
    src = "def f(xs):\n    d = defaultdict(int)\n    return math.floor(len(d)) + len(deque(xs))\n"
    fixed, added = add_missing_imports(src)
    assert added == [
        "import math",
        "from collections import defaultdict",
        "from collections import deque",
    ]
    assert _run(fixed, "f([1, 2])") == "2"


def test_names_the_module_binds_anywhere_are_left_alone() -> None:
    # a parameter, a local, a def, an import under another name, an except name, a loop variable
    src = (
        "import numpy as math\n"
        "def f(itertools, x):\n    re = x\n    for os in x: pass\n    return itertools.a, re.b, os.c\n"
        "def deque(): pass\n"
        "try:\n    pass\nexcept Exception as json:\n    json.x\n"
        "def g():\n    return deque, math.pi\n"
    )
    assert missing_imports(src) == []


def test_unknown_names_star_imports_broken_files_and_acting_modules_get_nothing() -> None:
    assert missing_imports("def f():\n    return numpy.array([1]) + helper.x + sqrt(2)\n") == []
    assert missing_imports("from os.path import *\ndef f():\n    return math.pi\n") == []
    assert missing_imports("def f(:\n    return math.pi\n") == []
    assert missing_imports("def f():\n    return antigravity.x, this.s, __builtins__.len\n") == []
    assert missing_imports("def f():\n    return len(math)\n") == []  # not used as a module


def test_only_what_the_change_introduced_is_added() -> None:
    old = "def f():\n    return math.pi\n"
    assert add_missing_imports(old + "def g():\n    return math.e\n", old) == (
        old + "def g():\n    return math.e\n",
        [],
    )
    fixed, added = add_missing_imports(old + "def g():\n    return re.compile('x')\n", old)
    assert added == ["import re"] and "import math" not in fixed


def test_a_file_without_imports_gets_them_after_its_docstring_and_future_import() -> None:
    src = '"""Doc."""\nfrom __future__ import annotations\ndef f(x):\n    return math.sqrt(x)\n'
    fixed, _ = add_missing_imports(src)
    assert fixed.split("\n")[:5] == ['"""Doc."""', "from __future__ import annotations",
                                     "import math", "", "def f(x):"]  # fmt: skip
    assert _run(fixed, "f(9)") == "3.0"


class Replies:
    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)

    def __call__(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        return self.replies.pop(0)


def test_write_patch_adds_the_import_to_the_patch_and_says_so_in_its_rationale() -> None:
    files = {"more_itertools/recipes.py": RECIPES}
    patch = write_patch(ScriptedChatModel(script=Replies("Use islice.\n" + TAKE)),
                        author_messages("ctx"), files, base_commit="c0ffee")  # fmt: skip
    assert "+import itertools\n" in patch.diff
    assert "+    return list(itertools.islice(iterable, n))" in patch.diff
    assert "imports added by code: more_itertools/recipes.py: import itertools" in patch.rationale
    # a change that imports what it uses is not touched
    fine = TAKE.replace("itertools.islice", "islice")
    patch = write_patch(ScriptedChatModel(script=Replies(fine)), author_messages("ctx"), files,
                        base_commit="c0ffee")  # fmt: skip
    assert "import itertools" not in patch.diff and "imports added" not in patch.rationale


def test_an_echoed_function_in_a_file_that_already_missed_an_import_is_still_no_change() -> None:
    files = {"m.py": "def f():\n    return math.pi\n"}
    # changes whitespace only: without ``before`` the adder would have made it a change
    echo = (
        "m.py\n<<<<<<< SEARCH\n    return math.pi\n=======\n    return  math.pi\n>>>>>>> REPLACE\n"
    )
    with pytest.raises(PatchFailed) as err:
        write_patch(ScriptedChatModel(script=Replies(echo, echo)), author_messages("ctx"), files,
                    base_commit="c")  # fmt: skip
    assert "change nothing" in err.value.reason
