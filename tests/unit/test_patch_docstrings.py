"""A whole function written without its docstring keeps the one it replaces
(fleet/patches/docstrings.py, through apply_edits as the fleet applies a developer's reply)."""

from __future__ import annotations

import ast

from fleet.patches import apply_edits, parse_edits

SOURCE = '''import functools


@functools.cache
def scale(xs, k=1):
    """Each item times *k*.

        >>> scale([1, 2], k=3)
        [3, 6]
    """
    return [x * k for x in xs]


def bare(x):
    return x


class Box:
    """A box."""

    def size(self):
        """How big:
    (a line indented less than the opening quotes)."""
        return 1

    def name(self):
        """Its name."""
        return "box"
'''


def _applied(reply: str) -> str:
    return apply_edits({"m.py": SOURCE}, parse_edits(reply))["m.py"]


def _docs(text: str) -> dict[str, str | None]:
    tree = ast.parse(text)
    out: dict[str, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            out[node.name] = ast.get_docstring(node, clean=False)
    return out


def test_a_function_written_without_its_docstring_keeps_it_and_its_example() -> None:
    new = _applied(
        "m.py\n```python\n@functools.cache\ndef scale(xs, k=2):\n    return [x * k for x in xs]\n```"
    )
    assert _docs(new)["scale"] == _docs(SOURCE)["scale"]
    assert "def scale(xs, k=2):\n" in new and "k=1" not in new  # the change itself applied
    assert '''        >>> scale([1, 2], k=3)\n        [3, 6]\n    """\n    return''' in new


def test_a_placeholder_docstring_is_replaced_and_a_docstring_of_its_own_kept() -> None:
    held = _applied('m.py\n```python\ndef scale(xs, k=1):\n    """..."""\n    return list(xs)\n```')
    assert _docs(held)["scale"] == _docs(SOURCE)["scale"]
    assert '"""..."""' not in held
    own = _applied('m.py\n```python\ndef scale(xs, k=1):\n    """New words."""\n    return xs\n```')
    assert _docs(own)["scale"] == "New words."


def test_comments_opening_the_body_stay_below_the_kept_docstring() -> None:
    new = _applied("m.py\n```python\ndef scale(xs, k=1):\n    # why\n    return []\n```")
    assert _docs(new)["scale"] == _docs(SOURCE)["scale"]
    assert '    """\n    # why\n    return []' in new


def test_a_method_keeps_its_docstring_at_its_own_indentation() -> None:
    new = _applied("m.py\n```python\ndef size(self):\n    return 2\n```")
    assert _docs(new)["size"] == _docs(SOURCE)["size"]  # the less-indented line untouched
    assert '        """How big:\n    (a line' in new and "        return 2" in new


def test_a_whole_class_keeps_its_own_and_its_methods_docstrings() -> None:
    reply = (
        "m.py\n```python\nclass Box:\n    def size(self):\n        return 3\n\n"
        '    def name(self):\n        """..."""\n        return "crate"\n```'
    )
    new = _applied(reply)
    docs, before = _docs(new), _docs(SOURCE)
    assert (docs["Box"], docs["size"], docs["name"]) == (
        before["Box"],
        before["size"],
        before["name"],
    )
    assert "return 3" in new and 'return "crate"' in new
    assert '"""A box."""\n\n    def size' in new


def test_nothing_is_added_where_the_replaced_definition_had_no_docstring() -> None:
    new = _applied("m.py\n```python\ndef bare(x):\n    return -x\n```")
    assert "def bare(x):\n    return -x\n" in new
    assert _docs(new)["bare"] is None


def test_a_class_written_as_its_placeholder_alone_gets_its_docstring_back() -> None:
    new = apply_edits(
        {"m.py": 'class Box:\n    """A box."""\n'},
        parse_edits('m.py\n```python\nclass Box:\n    """..."""\n```'),
    )["m.py"]
    assert new.rstrip("\n") == 'class Box:\n    """A box."""'
