"""The committed change vs. the winner's patch when the generated tests ship importing the code
(fleet.evidence.imports): those files differ from the winner's by design (rewritten, QA's examples
merged into the acceptance module); the rest of the change must still be the winner's."""

from __future__ import annotations

from fleet.contracts import Patch, WorkspaceReport
from fleet.events import Envelope, make_event
from fleet.memory import Report, report_markdown
from fleet.memory.council_report import councils
from fleet.testing.fakes import FakeClock
from tests.unit.test_council_report import DID, _deliberation, _diff

SPEC, QA = "tests/test_p1_t1_acceptance.py", "tests/test_p1_t1_qa_examples.py"


def _new_file(path: str, text: str) -> str:
    lines = text.splitlines()
    body = "".join(f"+{ln}\n" for ln in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


LOOKUP = "def _find(name):\n    ...\ndivide = _find('divide')\n\ndef test_divide():\n    pass\n"
IMPORTS = "from calc import divide\n\n\ndef test_divide():\n    pass\n"
WINNER = _diff("developer-2") + _new_file(SPEC, LOOKUP) + _new_file(QA, LOOKUP)
SHIPPED = _diff("developer-2") + _new_file(SPEC, IMPORTS)
MADE = {"imports": [SPEC], "lookup": {}, "merged": {QA: SPEC}}


def _rows(committed: str, generated: dict | None):
    d = _deliberation()
    win = next(p for p in d.proposals if p.id == d.winner)
    patch = Patch(base_commit="c", diff=WINNER, files=("calc.py", SPEC, QA))
    props = tuple(p.model_copy(update={"patch": patch}) if p is win else p for p in d.proposals)
    clock = FakeClock()
    data = {"task_id": "p1-t1", "attempt": 0, "commit": "abc123", "branch": "fleet/s/p1-t1-a0",
            "status": "committed", "patch": committed}  # fmt: skip
    if generated is not None:
        data["generated_tests"] = generated
    events = [
        make_event("s", "council.result", clock=clock, envelope=Envelope(key=DID),
                   payload=d.model_copy(update={"proposals": props}),
                   data={"task_id": "p1-t1", "attempt": 0}),
        make_event("s", "workspace.report", clock=clock, payload=WorkspaceReport(build_ok=True),
                   data=data),
    ]  # fmt: skip
    return [(str(i), e) for i, e in enumerate(events)]


def _committed(committed: str, generated: dict | None) -> tuple[dict, str]:
    found = councils(_rows(committed, generated))
    md = report_markdown(Report(story={"id": "s"}, councils=tuple(found)))
    return found[0]["committed"], md


def test_the_winners_change_with_its_tests_importing_the_code_equals_the_winner():
    done, md = _committed(SHIPPED, MADE)
    assert done["equals_winner"] is True and done["tests_import"] is True, done
    assert (
        "**equals the winner's patch, its generated tests importing the code** (developer-2)" in md
    ), md


def test_a_different_change_to_the_code_still_differs():
    done, md = _committed(_diff("something else") + _new_file(SPEC, IMPORTS), MADE)
    assert done["equals_winner"] is False and "DIFFERS from the winner's patch" in md


def test_without_rewritten_tests_every_file_counts():
    done, md = _committed(SHIPPED, {"imports": [], "lookup": {SPEC: "unplaced"}})
    assert done["equals_winner"] is False and done["tests_import"] is False
    done, md = _committed(WINNER, None)  # an older report: no generated_tests
    assert done["equals_winner"] is True and "**equals the winner's patch** (developer-2)" in md
