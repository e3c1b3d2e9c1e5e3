"""Story fields are hostile input: a bug report's code spans become a test by code
(``fleet/evidence/report_examples.py``), which runs in the sandbox and may ship with the change.
A report that puts other code in its "example" gets no test written from it."""

from __future__ import annotations

import pytest

from fleet.evidence.report_examples import report_test

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
]


@pytest.mark.parametrize("report", HOSTILE)
def test_a_report_example_that_is_not_a_call_of_the_repository_gives_no_test(report):
    assert report_test(FILES, report) is None


def test_the_honest_example_beside_hostile_ones_is_the_only_test():
    report = (
        "`cut('abc', 1)` returns `'bc'`; I expected `'c'`... no wait. "
        "`cut(open('/etc/shadow').read(), 0)` should return `''`. "
        "`cut('abcd', 2)` should return `'d'`."
    )
    _, source = report_test(FILES, report)
    assert "open(" not in source and "/etc/shadow" not in source
    assert "assert cut('abcd', 2) == 'd'" in source
