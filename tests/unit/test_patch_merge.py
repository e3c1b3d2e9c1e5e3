"""A misquoted edit's change carried over to the code it meant (``fleet/patches/merge.py``)."""

from __future__ import annotations

import random

import pytest

from fleet.agents import author_messages, write_patch
from fleet.patches import EditError, apply_edits, parse_edits
from fleet.patches.merge import carry
from fleet.testing.fakes import ScriptedChatModel

CUT_SUFFIX = '''def cut_suffix(s, suffix):
    """Cuts suffix from given string if it's present."""
    return s[:-len(suffix)] if s.endswith(suffix) else s'''
STRINGS = f'''import re


def cut_prefix(s, prefix):
    """Cuts prefix from given string if it's present."""
    return s[len(prefix):] if s.startswith(prefix) else s


{CUT_SUFFIX}
'''
# Qwen2.5-Coder-1.5B's reply in the development runs (funcy-cut-suffix-empty, greedy): the
# header of cut_suffix over cut_prefix's body, and the fix written into that body
QUOTE = '''def cut_suffix(s, suffix):
    """Cuts suffix from given string if it's present."""
    return s[len(prefix):] if s.startswith(prefix) else s
'''
REPLY = '''def cut_suffix(s, suffix):
    """Cuts suffix from given string if it's present."""
    if suffix == '':
        return s
    return s[len(suffix):] if s.startswith(suffix) else s
'''
FIXED = '''def cut_suffix(s, suffix):
    """Cuts suffix from given string if it's present."""
    if suffix == '':
        return s
    return s[:-len(suffix)] if s.endswith(suffix) else s'''


def block(search: str, replace: str) -> str:
    return f"funcy/strings.py\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_the_lines_the_model_added_go_in_and_the_line_it_misremembered_stays_as_it_is():
    assert carry(CUT_SUFFIX, QUOTE, REPLY) == FIXED
    # applied as written (before), the reply would have been cut_prefix's body under this name
    out = apply_edits({"funcy/strings.py": STRINGS}, parse_edits(block(QUOTE, REPLY)))
    assert out["funcy/strings.py"] == STRINGS.replace(CUT_SUFFIX, FIXED)


def test_a_line_quoted_right_but_for_spacing_takes_the_models_rewrite():
    current = "def area(w, h):\n    # the area\n    return w*h"
    quote = "def area(w, h):\n    return w * h\n"
    assert carry(current, quote, "def area(w, h):\n    return abs(w * h)\n") == (
        "def area(w, h):\n    # the area\n    return abs(w * h)"
    )


def test_a_line_it_dropped_goes_only_where_it_was_quoted_right():
    current = "def f(x):\n    log(x)\n    check(x)\n    return x"
    quote = "def f(x):\n    log(x)\n    verify(x)\n    return x\n"  # check(x) misremembered
    assert (
        carry(current, quote, "def f(x):\n    return x\n")
        == "def f(x):\n    check(x)\n    return x"
    )


def test_a_method_quoted_without_its_class_indent_keeps_the_files_indentation_and_lines():
    current = '    def text(self):\n        return """a\nb"""'  # a string's line at column 0
    quote = 'def text(self):\n    return """a\nc"""\n'
    reply = 'def text(self):\n    self.n += 1\n    return """a\nc"""\n'
    assert carry(current, quote, reply) == (
        '    def text(self):\n        self.n += 1\n        return """a\nb"""'
    )


@pytest.mark.parametrize(
    ("search", "replace"),
    [
        ("x = 1\ny = 2\nz = 3\n", "x = 2\ny = 2\nz = 3\n"),  # not a quote of these lines
        (QUOTE, "    if not suffix:\n        return s\n"),  # new code, not a change of the quote
        # the only change the current code does not conflict with: a dropped docstring
        (QUOTE, "def cut_suffix(s, suffix):\n    return s[len(suffix):] if s.startswith(suffix) else s\n"),
    ],
)  # fmt: skip
def test_nothing_is_carried_when_the_quote_is_not_of_these_lines_or_nothing_would_change(
    search: str, replace: str
) -> None:
    assert carry(CUT_SUFFIX, search, replace) is None


def test_asked_not_to_trust_misquotes_the_error_shows_the_current_code():
    with pytest.raises(EditError) as caught:
        apply_edits(
            {"funcy/strings.py": STRINGS}, parse_edits(block(QUOTE, REPLY)), misquotes=False
        )
    assert caught.value.fields["reason"] == "misquoted"
    assert caught.value.fields["nearest"] == CUT_SUFFIX
    assert "return s[len(prefix):] if s.startswith(prefix) else s" in str(caught.value)
    # a misquote of its docstring only is not misremembered code: carried at once
    quoted_code = QUOTE.replace(
        "s[len(prefix):] if s.startswith(prefix)", "s[:-len(suffix)] if s.endswith(suffix)"
    )
    paraphrased = quoted_code.replace("Cuts suffix from", "Removes the suffix of")
    reply = paraphrased.replace(
        "    return s[", "    if not suffix:\n        return s\n    return s["
    )
    out = apply_edits({"funcy/strings.py": STRINGS}, parse_edits(block(paraphrased, reply)),
                      misquotes=False)  # fmt: skip
    assert (
        "    if not suffix:\n        return s\n    return s[:-len(suffix)]"
        in out["funcy/strings.py"]
    )
    assert "Cuts suffix from" in out["funcy/strings.py"]


def test_a_carried_change_that_would_not_parse_falls_back_to_the_whole_function():
    reply = QUOTE.replace("    return s[len", "    if (:\n    return s[len")
    edits = parse_edits(block(QUOTE, reply))
    with pytest.raises(EditError) as caught:  # the whole function as written does not parse either
        apply_edits({"funcy/strings.py": STRINGS}, edits)
    assert caught.value.fields["reason"] in {"not_found", "syntax"}


def test_when_the_correction_does_no_better_the_author_ships_the_carried_change():
    seen: list[list] = []

    def script(messages, schema):
        seen.append(list(messages))
        return [block(QUOTE, REPLY), "I cannot do that."][len(seen) - 1]

    files = {"funcy/strings.py": STRINGS}
    patch = write_patch(ScriptedChatModel(script=script), author_messages("ctx"), files,
                        base_commit="c")  # fmt: skip
    assert "is not in it" in seen[1][-1].content  # it was asked again first, shown the code
    assert "+    if suffix == '':" in patch.diff
    assert "s.startswith(suffix)" not in patch.diff  # not the neighbour's body


def test_a_function_longer_than_the_correction_shows_is_merged_whole():
    body = "".join(f"    x{n} = {n}\n" for n in range(60))
    files = {"m.py": f"def long():\n{body}    return x59\n"}
    quote = "def long():\n" + body.replace("x58 = 58", "x58 = 57") + "    return x59\n"
    reply = quote.replace("    return x59\n", "    x59 += 1\n    return x59\n")
    out = apply_edits(
        files, parse_edits(f"m.py\n<<<<<<< SEARCH\n{quote}=======\n{reply}>>>>>>> REPLACE\n")
    )
    assert out["m.py"] == f"def long():\n{body}    x59 += 1\n    return x59\n"


def test_a_change_carried_onto_the_very_lines_it_quotes_is_the_replace_part():
    rng = random.Random(7)
    words = ["return x", "x = 1", "if y:", "pass", "y = x + 1", "print(x)", "z = f(x, y)"]
    for _ in range(2000):
        quote = ["def f(x):"] + [f"    {rng.choice(words)}" for _ in range(rng.randint(1, 8))]
        reply = list(quote)
        for _ in range(rng.randint(1, 3)):
            at, op = rng.randrange(len(reply) + 1), rng.random()
            if op < 0.4 and at < len(reply):
                reply[at] = f"    {rng.choice(words)}  # rewritten"
            elif op < 0.7:
                reply.insert(at, f"    {rng.choice(words)}  # added")
            elif at < len(reply):
                del reply[at]
        text, new = "\n".join(quote), "\n".join(reply)
        assert carry(text, text, new) in (new, None), (quote, reply)


# the 1.5B's reply to the correction (funcy-cut-suffix-empty, single arm): the same misquote again,
# its only change a rewrite of the misremembered line, which nothing carries over
AGAIN = QUOTE.replace(
    "    return s[len(prefix):]",
    "    return s[len(suffix):] if s.endswith(suffix) else s if not suffix else s  #",
)


def test_a_carried_change_is_preferred_to_a_later_reply_applied_as_written():
    replies = [block(QUOTE, REPLY), block(QUOTE, AGAIN)]
    seen: list[list] = []

    def script(messages, schema):
        seen.append(list(messages))
        return replies[len(seen) - 1]

    files = {"funcy/strings.py": STRINGS}
    patch = write_patch(ScriptedChatModel(script=script), author_messages("ctx"), files,
                        base_commit="c")  # fmt: skip
    assert len(seen) == 2  # the correction was asked for
    assert "+    if suffix == '':" in patch.diff and "if not suffix else s" not in patch.diff
    # with no carried change to fall back on, the correction's whole function is applied
    only = [block(QUOTE, QUOTE.replace("Cuts", "Drops")), block(QUOTE, AGAIN)]
    seen.clear()
    model = ScriptedChatModel(script=lambda m, s: (seen.append(m), only[len(seen) - 1])[1])
    patch = write_patch(model, author_messages("ctx"), files, base_commit="c")
    assert "if not suffix else s" in patch.diff
