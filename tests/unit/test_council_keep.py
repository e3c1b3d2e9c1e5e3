"""Keep tests: in a bug or change story, QA's examples that the base commit already passes are
behaviour the change should keep. They rank passing candidates (advisory), a pass that breaks
one does not settle the council, and its developer debugs it from what the keep test said.

Real members with the scripted chat model and the fake evidencer of
``test_council_debug_distinguish`` (a table of what each change does), here with a keep test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from test_council_debug_distinguish import SUITE, TEST, Script, Voters, council, debugging, diff

from fleet import contracts
from fleet.contracts import Evidence, Proposal
from fleet.evidence.acceptance import Qa, build_suite, example_calls, names_of_tests
from fleet.evidence.suite import EvidenceSuite, evidence_of, patch_hash, strip_paths
from fleet.pipeline.repro import Repro, uncontradicted, with_repro

KEEP_FILE = "tests/test_t1_keep.py"
KEEP = f"{KEEP_FILE}::"
KEEP_TEST = f"{KEEP}test_add_1"
WITH_KEEP = SUITE.model_copy(
    update={
        "files": {KEEP_FILE: "def test_add_1():\n    pass\n"},
        "advisory": (KEEP,),
        "keep": (KEEP,),
    }
)


class KeepTable:
    """What each change does: whether it passes the suite's test, and the keep test."""

    def __init__(self, rows: dict[str, tuple[str | None, str | None]]) -> None:
        self.rows = {diff(body): row for body, row in rows.items()}

    def run(self, proposals: Sequence[Proposal], suite: EvidenceSuite, **_: Any) -> list[Evidence]:
        out = []
        for p in proposals:
            assert p.patch is not None
            failure, changed = self.rows[strip_paths(p.patch.diff, suite)[0]]
            tests = (
                contracts.TestOutcome(test_id=TEST, passed=failure is None, excerpt=failure or ""),
            )
            if suite.keep:
                tests += (
                    contracts.TestOutcome(
                        test_id=KEEP_TEST, passed=changed is None, excerpt=changed or ""
                    ),
                )
            out.append(evidence_of(p.id, tests, digest=patch_hash(p.patch.diff)))
        return out


def test_qa_examples_the_base_passes_become_keep_tests_in_a_bug_or_change_story():
    adv = "tests/test_t1_qa_examples.py::"

    def baseline(suite):
        return [
            contracts.TestOutcome(test_id=f"{adv}test_cut_1", passed=False),  # the bug
            contracts.TestOutcome(test_id=f"{adv}test_cut_2", passed=True),  # works today
        ]

    cases = ["cut('a.py', '') returns 'a.py'", "cut('a.py', '.py') returns 'a'"]
    suite, notes = build_suite(["cut(x, s) keeps x when s is empty"], name="t1", repo_tests=(),
                               baseline=baseline, qa=Qa(examples=lambda c: cases, keep=True))  # fmt: skip
    assert names_of_tests(suite.files["tests/test_t1_qa_examples.py"]) == ["test_cut_1"]
    assert names_of_tests(suite.files[KEEP_FILE]) == ["test_cut_2"]
    assert example_calls(suite.files[KEEP_FILE]) == {"test_cut_2": "cut('a.py', '.py')"}
    assert suite.keep == (KEEP,) and KEEP in suite.advisory and KEEP_FILE in suite.protected
    # a feature story (keep off): what passes on the base proves nothing and is dropped
    suite, _ = build_suite(["cut(x, s) keeps x when s is empty"], name="t1", repo_tests=(),
                           baseline=baseline, qa=Qa(examples=lambda c: cases))  # fmt: skip
    assert KEEP_FILE not in suite.files and suite.keep == ()


def test_a_keep_test_of_the_reported_call_is_dropped():
    # QA copied the reported (wrong) result of the very call the reproduction test makes
    keep = (
        "def test_cut_1():\n    # acceptance: cut('a.py', '') returns ''\n    assert 1\n\n\n"
        "def test_cut_2():\n    # acceptance: cut('a.py', '.py') returns 'a'\n    assert 1\n"
    )
    suite = EvidenceSuite(files={KEEP_FILE: keep}, advisory=(KEEP,), keep=(KEEP,))
    repro = "from m import cut\n\n\ndef test_report():\n    assert cut('a.py','') == 'a.py'\n"
    kept, dropped = uncontradicted(suite, repro)
    assert dropped == [f"{KEEP}test_cut_1"]
    assert names_of_tests(kept.files[KEEP_FILE]) == ["test_cut_2"]


def test_a_pass_that_breaks_a_keep_test_is_debugged_and_does_not_settle_the_council():
    # developer-1 fixes the bug but changes what the code did on a call the keep test pins;
    # developer-2 fails. Without the keep test the first pass would settle the council.
    script = Script({"developer-1": ["return a - b", "return a + b"],
                     "developer-2": ["return 0"]})  # fmt: skip
    table = KeepTable({
        "return a - b": (None, "AssertionError: assert 'lo.py' == 'hello'"),
        "return a + b": (None, None),
        "return 0": ("AssertionError: assert 0 == 5", None),
    })  # fmt: skip
    d, events = council(script, Voters(), table, debug_rounds=2, suite=WITH_KEEP)
    asked = script.asked["developer-1"]
    assert len(asked) == 2  # one debugging turn, from the keep test's output
    assert (
        "assert 'lo.py' == 'hello'" in asked[1]
        and "should still return what it returned" in asked[1]
    )
    assert debugging(events)["developers"]["developer-1"] == {"versions": 1, "stopped": "passes"}
    assert d.winner == "d1:p0d1:developer-1"


def test_among_passing_candidates_the_one_that_keeps_the_behaviour_wins():
    script = Script({"developer-1": ["return a - b"], "developer-2": ["return a + b"]})
    table = KeepTable({"return a - b": (None, "AssertionError: assert 'lo.py' == 'hello'"),
                       "return a + b": (None, None)})  # fmt: skip
    d, _ = council(script, Voters(), table, debug_rounds=0, suite=WITH_KEEP)
    assert d.winner == "d1:p0:developer-2"  # developer-1 is first in member order
    # the same council without keep tests settles on the first pass, developer-1's
    plain = SUITE
    script = Script({"developer-1": ["return a - b"], "developer-2": ["return a + b"]})
    d, _ = council(script, Voters(), table, debug_rounds=0, suite=plain)
    assert d.winner == "d1:p0:developer-1"


def test_qa_is_shown_the_existing_functions_a_report_calls():
    from fleet.council.qa import called

    files = {
        "pkg/strings.py": 'def cut_suffix(s, suffix):\n    """Cuts suffix."""\n    return s[: -len(suffix)]\n\n\ndef other():\n    pass\n',
        "pkg/seqs.py": "def tail(n, seq):\n    return seq[-n + 1 :]\n",
        "tests/test_strings.py": "def cut_suffix(s, x):\n    pass\n",
    }
    report = "`cut_suffix('name.py', '')` returns `''`; `s.strip()` and `print(x)` work. See other."
    assert called(files, report) == [
        ("cut_suffix", 'def cut_suffix(s, suffix):\n    """Cuts suffix."""')  # not its body
    ]
    assert [n for n, _ in called(files, "tail(2, x) and cut_suffix(a, b) and tail(1, y)")] == [
        "tail",
        "cut_suffix",
    ]


def test_the_reports_own_examples_are_trusted_and_must_pass_to_ship():
    suite = EvidenceSuite(files={KEEP_FILE: "def test_add_1():\n    pass\n"}, keep=(KEEP,))
    src = "from m import tail\n\n\ndef test_report_example_1():\n    assert tail(2, [1, 2]) == [1, 2]\n"
    path = "tests/test_report_example.py"
    mine = with_repro(suite, Repro(path=path, source=src, reproduced=True, origin="report"))
    assert mine.trusted == (f"{path}::",) and mine.spec == (f"{path}::",)
    assert mine.files[path] == src and path in mine.protected
    qa = with_repro(
        suite, Repro(path=path, source=src, reproduced=True)
    )  # QA wrote it: may be wrong
    assert qa.trusted == () and qa.spec == () and qa.files[path] == src
