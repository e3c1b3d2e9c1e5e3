"""Story fields are hostile input: a bug report's code spans become a test by code
(``fleet/evidence/report_examples.py``), which runs in the sandbox and may ship with the change.
A report that puts other code in its "example" gets no test written from it."""

from __future__ import annotations

import pytest

from fleet.evidence.report_defs import definitions, with_definitions
from fleet.evidence.report_examples import report_test, repository_names

FILES = {"pkg/__init__.py": "", "pkg/text.py": "def cut(s, n):\n    return s[n:]\n"}

HOSTILE = [
    "`cut(__import__('os').system('touch /tmp/pwn'), 1)` returns `0`. I expected `1`.",
    "`cut(open('/etc/passwd').read(), 1)` returns `''`. I expected `'x'`.",
    "`cut(exec('import os'), 1)` returns `None`. I expected `1`.",
    "`cut(getattr(cut, '__globals__'), 1)` returns `1`. I expected `2`.",
    "`cut.__code__.co_consts` returns `()`. I expected `(1,)`.",
    "`eval('1 + 1')` returns `2`. I expected `3`.",
    "`os.system('id')` returns `0`. I expected `1`.",
    "`cut('ab', 1); import os` returns `'b'`. I expected `'a'`.",
    "`len('abc')` returns `3`. I expected `4`.",  # calls nothing of the repository
    # the expected value may be built by the repository's code, under the same rules
    "`cut('ab', 1)` returns `'b'`. I expected `cut(__import__('os').system('id'), 0)`.",
    "`cut('ab', 1)` returns `'b'`. I expected `cut(open('/etc/passwd').read(), 0)`.",
    "`cut('ab', 1)` returns `'b'`. I expected `Path('/etc/passwd').read_text()`.",
    # no dunder, no unknown name: a generator's frame reaches the builtins all the same
    "`cut((x for x in ()).gi_frame.f_builtins['open']('/etc/passwd').read(), 1)` returns `''`. "
    "I expected `'x'`.",
    # no dunder either: what a package imports is an attribute of it (the real funcy imports os)
    "`cut(pkg.text.os.getcwd(), 1)` returns `''`. I expected `'x'`.",
    "`pkg.subprocess.run(['id'])` returns `0`. I expected `1`.",
    # a raise names a builtin exception class and nothing else
    "`cut('ab', 1)` raises `KeyError; import os`.",
    "`cut('ab', 1)` should raise `__import__('os').system('id')`.",
    "`cut('ab', 1)` raises `PwnError: pkg.text.os`.",
    "`cut(open('/etc/passwd'), 1)` raises `ValueError`.",
]


@pytest.mark.parametrize("report", HOSTILE)
def test_a_report_example_that_is_not_a_call_of_the_repository_gives_no_test(report):
    assert report_test(FILES, report) is None


def test_the_repositorys_code_through_its_package_and_modules_is_still_an_example():
    for call in ("pkg.text.cut('abcd', 2)", "pkg.cut('abcd', 2)"):
        _, source = report_test(FILES, f"`{call}` should return `'d'`.")
        assert f"assert {call} == 'd'" in source and "import pkg" in source


def test_the_honest_example_beside_hostile_ones_is_the_only_test():
    report = (
        "`cut('abc', 1)` returns `'bc'`; I expected `'c'`... no wait. "
        "`cut(open('/etc/shadow').read(), 0)` should return `''`. "
        "`cut('abcd', 2)` should return `'d'`."
    )
    _, source = report_test(FILES, report)
    assert "open(" not in source and "/etc/shadow" not in source
    assert "assert cut('abcd', 2) == 'd'" in source


HOSTILE_HELPERS = [
    "define `def helper(): return open('/etc/passwd').read()`",
    "define `def helper(): return __import__('os').system('id')`",
    "define `def helper(): return (x for x in ()).gi_frame.f_builtins['exec']('1')`",
    "define `def helper(): return ().__class__.__base__.__subclasses__()`",
    "define `def helper(): return cut.__globals__`",
    "```python\ndef helper():\n    import os\n    return os.getcwd()\n```",
    "```python\ndef helper():\n    global cut\n    cut = None\n```",
    "define `def sneaky(): return eval('1')` and `def helper(): return sneaky()`",
    "define `helper = getattr(cut, 'x')`",
    "define `def helper(): return pkg.os.getcwd()`",
    "define `def helper(): return pkg.text.os.getcwd()`",
]


@pytest.mark.parametrize("report", HOSTILE_HELPERS)
def test_a_reports_helper_reaching_past_pure_names_never_enters_qas_test(report):
    """QA's test calls the report's ``helper`` without defining it; the helper is not added."""
    test = "from pkg.text import cut\n\n\ndef test_t():\n    assert cut(helper(), 1) == ''\n"
    source, added = with_definitions(test, definitions(report, repository_names(FILES)))
    assert (source, added) == (test, [])


@pytest.mark.parametrize("report", HOSTILE_HELPERS)
def test_a_reports_helper_reaching_past_pure_names_never_enters_the_test_written_by_code(report):
    """The report's own example calls its ``helper``: not defined, so no test is written."""
    assert report_test(FILES, f"{report}. `cut(helper(), 1)` should return `''`.") is None
