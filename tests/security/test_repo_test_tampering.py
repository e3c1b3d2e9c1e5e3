"""A candidate cannot rewrite the repository's own tests to pass them. The suite ``build_suite``
makes protects the repository's test files as it protects the generated ones: a candidate that
breaks ``sub`` and empties the test that would catch it is judged against the base's test (real
git, bubblewrap, pytest), and the change it would ship leaves that test alone. A candidate whose
code is right but which adds a broken test of its own to an existing test file is judged by its
code, and ships without the broken edit (what the embedded model did on HumanEval/5).
"""

from __future__ import annotations

import pytest

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.contracts import Proposal, RunContext
from fleet.evidence.acceptance import Probes, build_suite
from fleet.evidence.suite import with_suite
from tests.integration.test_council_evidence import _git, _patch

BASE = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
OLD = "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"
RIGHT = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
BODIES = {
    # breaks sub and empties the repository's test of it
    "weakens": {
        "calc.py": RIGHT.replace("return a - b", "return a + b"),
        "tests/test_old.py": "def test_sub():\n    pass\n",
    },
    # right code, plus a test of its own that cannot run (no import of add)
    "breaks-own-test": {
        "calc.py": RIGHT,
        "tests/test_old.py": OLD + "\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    },
    "honest": {"calc.py": RIGHT},
}


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tamper")
    repo = tmp / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(BASE)
    (repo / "tests" / "test_old.py").write_text(OLD)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    runner = SandboxEvidence(BwrapSandbox(), root=tmp / "ws", concurrency=2)
    ctx = RunContext(story_id="s", task_id="t1", role="qa", phase="test")
    suite, _ = build_suite(
        ["add(2, 3) returns 5"],
        name="t1",
        repo_tests=["tests/test_old.py"],
        qa=None,
        baseline=lambda s: runner.baseline(s, source=str(repo), base="main", context=ctx),
        probes=Probes(enabled=False),
    )
    props = [
        Proposal(id=name, deliberation_id="d", author=name, role="developer", content=name,
                 patch=_patch(repo, files))
        for name, files in BODIES.items()
    ]  # fmt: skip
    got = runner.run(props, suite, source=str(repo), base="main", context=ctx)
    return suite, {p.id: p for p in props}, {e.proposal_id: e for e in got}


def test_a_candidate_that_empties_the_repositorys_test_is_judged_by_the_real_one(judged):
    suite, props, evidence = judged
    ev = evidence["weakens"]
    assert not ev.passed, ev
    assert [t.test_id for t in ev.tests if not t.passed] == ["tests/test_old.py::test_sub"], ev
    assert "ignored its edits to the evidence tests: tests/test_old.py" in ev.detail, ev.detail
    shipped = with_suite(props["weakens"].patch, suite)
    assert "tests/test_old.py" not in shipped.diff and "tests/test_old.py" not in shipped.files


def test_a_right_candidate_is_not_sunk_by_its_own_broken_test(judged):
    suite, props, evidence = judged
    assert evidence["breaks-own-test"].passed, evidence["breaks-own-test"]
    assert evidence["honest"].passed, evidence["honest"]
    shipped = with_suite(props["breaks-own-test"].patch, suite)
    assert "def test_add" not in shipped.diff.split("tests/test_t1_acceptance.py")[0]
    assert "b/tests/test_old.py" not in shipped.diff
