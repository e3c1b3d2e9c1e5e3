"""Body-less functions: found, and the head a continuation starts from."""

from __future__ import annotations

from fleet.agents.stubs import completed, continuation, prefix, stubs

SRC = '''import functools


@functools.cache
def a(
    x: int,
) -> int:
    """Doc
    on two lines."""


def b():
    pass


def c():
    raise NotImplementedError


def done():
    return 1
'''


def test_stubs_are_found_with_their_heads_and_test_files_are_ignored() -> None:
    found = stubs({"m.py": SRC, "tests/test_m.py": "def test_x():\n    pass\n", "r.md": "x"})
    assert [(s.path, s.name) for s in found] == [("m.py", "a"), ("m.py", "b"), ("m.py", "c")]
    a, b, _ = found
    assert a.head.startswith("@functools.cache\ndef a(") and a.head.endswith('on two lines."""')
    assert b.head == "def b():"


def test_continuation_picks_the_stub_the_reply_names_or_the_only_one() -> None:
    files = {"m.py": SRC}
    assert (
        continuation("```python\ndef c():\n    raise NotImplementedError\n```", files).name == "c"
    )  # type: ignore[union-attr]
    assert continuation("nothing named", files) is None
    only = {"s.py": "def f():\n    ...\n"}
    (stub,) = stubs(only)
    assert continuation("no name", only) == stub
    assert prefix(stub) == "s.py\n```python\ndef f():\n"
    assert completed(stub, "    return 2\n```") == "s.py\n```python\ndef f():\n    return 2\n```"
    assert completed(stub, prefix(stub) + "    return 2") == prefix(stub) + "    return 2"
