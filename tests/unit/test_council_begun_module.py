"""QA's test module out of a reply to a begun request (fleet/council/patching.py:
begun_module): the engine returns the beginning with its continuation, or the continuation
alone; a reply cut off by the token limit keeps its complete tests."""

from __future__ import annotations

from fleet.council.patching import FENCE, begun_module

START = FENCE + "import pytest\n\nfrom m import f\n\n\ndef test_"
HEAD = "import pytest\n\nfrom m import f\n\n\n"


def test_the_continuation_alone_or_with_its_beginning_gives_the_same_module():
    tail = "one():\n    assert f(1) == 2\n```\nSome prose after the block.\n"
    module = HEAD + "def test_one():\n    assert f(1) == 2\n"
    assert begun_module(START, tail) == module
    assert begun_module(START, START + tail) == module


def test_a_reply_cut_off_by_the_token_limit_keeps_its_complete_tests():
    tail = (
        "one():\n    assert f(1) == 2\n\n\ndef test_two():\n    assert f(2) == 3\n\n\n"
        "def test_three():\n    with pytest.raises(ValueError):\n        f(-"
    )
    module = begun_module(START, tail)
    assert module == HEAD + "def test_one():\n    assert f(1) == 2\n\n\ndef test_two():\n" + (
        "    assert f(2) == 3\n"
    )


def test_a_reply_that_writes_no_test_function_is_no_module():
    assert begun_module(START, "path/to/m.py\n" * 30) == ""  # "def test_path/to/m.py" breaks
    assert begun_module(START, "x = 1\n```") == ""  # "def test_x = 1": no test either


def test_a_model_that_ignored_the_beginning_gets_its_own_fenced_module():
    own = "```python\nfrom m import f\n\n\ndef test_own():\n    assert f(0) == 1\n```\n"
    assert (
        begun_module(START, own) == "from m import f\n\n\ndef test_own():\n    assert f(0) == 1\n"
    )
