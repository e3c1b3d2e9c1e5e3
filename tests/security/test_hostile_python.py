"""Python nested deeply enough breaks ``ast.parse`` / ``ast.unparse`` with RecursionError or
MemoryError, not SyntaxError. One such file in a repository must not stop every story on it (the
repository map, the stub scan and the patch writer read every Python file), and one such model
reply is a reply that does not parse, nothing worse (``fleet/pysource.py``)."""

from __future__ import annotations

import pytest

from fleet import pysource
from fleet.agents import PatchFailed, author_messages, write_patch
from fleet.agents.stubs import stubs
from fleet.context.repomap import index
from fleet.patches.imports import missing_imports
from fleet.testing.fakes import ScriptedChatModel

DEEP = "x = " + "-" * 5000 + "1\n"  # MemoryError / RecursionError in ast.parse
DEEP_SIGNATURE = "def f(x=" + "-" * 600 + "1):\n    return x\n"  # parses; ast.unparse recurses
OPS = 'def add(a, b):\n    """Add a and b."""\n'
FILES = {"evil/deep.py": DEEP, "evil/sig.py": DEEP_SIGNATURE, "calc/ops.py": OPS}
GOOD = (
    "calc/ops.py\n<<<<<<< SEARCH\n"
    + OPS
    + "=======\n"
    + OPS
    + "    return a + b\n>>>>>>> REPLACE\n"
)


def test_the_bare_parser_really_breaks_on_these_files() -> None:
    # the premise: without fleet.pysource these raise something other than SyntaxError
    import ast

    with pytest.raises((RecursionError, MemoryError)):
        ast.parse(DEEP)
    with pytest.raises(RecursionError):
        ast.unparse(ast.parse(DEEP_SIGNATURE))


def test_a_repository_with_deeply_nested_files_is_still_mapped_scanned_and_patched() -> None:
    assert [s.name for s in stubs(FILES)] == ["add"]  # the hostile files are skipped
    infos = index(FILES)
    assert "calc/ops.py" in infos and "evil/deep.py" in infos
    assert any(s.line == "def f(...)" for s in infos["evil/sig.py"].symbols)
    patch = write_patch(ScriptedChatModel(script=lambda m, s: GOOD), author_messages("ctx"), FILES,
                        base_commit="c", focus=["add"])  # fmt: skip
    assert patch.files == ("calc/ops.py",) and "+    return a + b" in patch.diff


def test_a_model_reply_nested_too_deeply_is_refused_as_a_reply_that_does_not_parse() -> None:
    reply = (
        "calc/ops.py\n<<<<<<< SEARCH\n"
        + OPS
        + "=======\n"
        + OPS
        + "    return "
        + "-" * 5000
        + "a\n>>>>>>> REPLACE\n"
    )
    model = ScriptedChatModel(script=lambda m, s: reply)
    with pytest.raises(PatchFailed) as err:
        write_patch(model, author_messages("ctx"), {"calc/ops.py": OPS}, base_commit="c")
    assert "does not parse" in err.value.reason
    assert missing_imports(DEEP) == []


def test_every_way_the_parser_fails_is_a_syntax_error() -> None:
    for text in (DEEP, "x = 1\x00\n", "def (:\n"):
        with pytest.raises(SyntaxError):
            pysource.parse(text)
    assert pysource.unparse(pysource.parse(DEEP_SIGNATURE).body[0]) == "..."
