"""A bug story's reproduction test carries over to a later council on the same code (an attempt
after the gate blocked, a council convened again): the suite step (fleet/pipeline/suite.py) on a
real git repository, real evidence runs on the base commit (bubblewrap), a QA council member whose
model is scripted. Before, every council asked QA afresh, and a later attempt could lose the test
the first found (funcy-retry-last-attempt: reproduced at the first attempt, not at the second)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fleet.adapters.bwrap_sandbox import BwrapSandbox
from fleet.adapters.evidence import SandboxEvidence
from fleet.adapters.git_repo import GitRepo
from fleet.agents import write_patch
from fleet.config import load
from fleet.contracts import Story
from fleet.council import Member
from fleet.council.patching import PatchTools
from fleet.pipeline.ports import Checkout
from fleet.pipeline.repro import REPRO_ATTEMPTS
from fleet.pipeline.suite import SuitePorts, task_suite
from fleet.testing.fakes import FakeClock, InMemoryEventLog
from tests.integration.test_suite_repro import (
    GOOD,
    PASSING,
    PATH,
    STORY,
    TASK,
    OneQa,
    Script,
    _new_file,
    _repo,
)


class Councils:
    """Suite steps of successive councils of one story: one event log, one QA model."""

    def __init__(self, tmp_path: Path, *replies: str) -> None:
        self.tmp, self.chat, self.log, self.n = tmp_path, Script(*replies), InMemoryEventLog(), 0

    def suite(self, story: Story = STORY, *, edit: str = "") -> tuple[object, dict]:
        """The next council's suite, on a repository rebuilt with the same code (another commit
        id: one more, empty, commit), or with ``edit`` appended to the module."""
        self.n += 1
        repo = _repo(self.tmp / f"c{self.n}")
        if edit:
            with (repo / "strs" / "text.py").open("a") as f:
                f.write(edit)
        args = ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qam", "again"]
        subprocess.run(["git", "-C", str(repo), *args, "--allow-empty"], check=True,
                       capture_output=True)  # fmt: skip
        git = GitRepo(repo)
        member = Member("qa-1", "qa", load("roles.yaml").get("qa"), self.chat, temperature=0.0,
                        seed=1, tools=PatchTools(write_patch=write_patch, repo=GitRepo))  # fmt: skip
        ports = SuitePorts(log=self.log, qa=OneQa(member), clock=FakeClock(), qa_examples=False,
                           baseline=SandboxEvidence(BwrapSandbox(), root=self.tmp / f"ev{self.n}"))  # fmt: skip
        at = Checkout(git, "main", git.commit("main"))
        suite = task_suite(ports, story, TASK, deliberation_id=f"d{self.n}", at=at)
        events = [e.data for _, e in self.log.read(story.id) if e.type == "council.suite"]
        return suite, events[-1]


def test_a_later_council_on_the_same_code_starts_from_the_reproduction_test(tmp_path):
    councils = Councils(tmp_path, _new_file(GOOD), _new_file(PASSING))
    first, data = councils.suite()
    assert data["repro"]["reproduced"] is True and len(councils.chat.asked) == 1
    again, data = councils.suite()  # another deliberation, another commit id, the same code
    assert len(councils.chat.asked) == 1  # QA was not asked again
    assert again.files[PATH] == first.files[PATH] and again.is_protected(PATH)
    assert data["repro"]["reproduced"] is True
    assert data["repro"]["tests"] == [f"{PATH}::test_empty_suffix"]
    assert "first test: an earlier council's on the same code" in data["notes"]
    assert data["located"][0]["function"] == "cut_suffix"  # localised with the carried test


def test_other_code_or_another_report_asks_qa_again(tmp_path):
    councils = Councils(tmp_path, _new_file(GOOD))
    councils.suite()
    councils.suite(edit="\n\ndef other():\n    return 1\n")
    assert len(councils.chat.asked) == 2
    reworded = STORY.model_copy(update={"description": STORY.description + " Python 3.12."})
    _, data = councils.suite(reworded)
    assert len(councils.chat.asked) == 3 and data["repro"]["reproduced"] is True


def test_a_test_that_did_not_reproduce_is_not_carried(tmp_path):
    """A first council whose QA never reproduced the bug: the next asks QA again."""
    councils = Councils(tmp_path, *[_new_file(PASSING)] * 3, _new_file(GOOD))
    _, data = councils.suite()
    assert data["repro"]["reproduced"] is False and len(councils.chat.asked) == 3
    _, data = councils.suite()
    assert data["repro"]["reproduced"] is True and len(councils.chat.asked) == 4


def test_the_benchmarks_later_councils_carry_it_too(tmp_path):
    """The benchmark rebuilds the repository and the log for every council; its suite step
    (council_arms._setup) carries the first test as the story path's shared log does."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import council_arms
    from harness import BenchTask

    files = {
        "strs/__init__.py": "",
        "strs/text.py": (_repo(tmp_path / "src") / "strs" / "text.py").read_text(),
    }
    task = BenchTask(id="strs-cut", kind="bug", files=files, story=STORY,
                     judge=lambda tree: (True, ""))  # fmt: skip
    chat = Script(_new_file(GOOD), _new_file(PASSING))
    member = Member("qa-1", "qa", load("roles.yaml").get("qa"), chat, temperature=0.0, seed=1,
                    tools=PatchTools(write_patch=write_patch, repo=GitRepo))  # fmt: skip
    ask = council_arms.SuiteAsk(False, {})
    first = council_arms._setup(task, tmp_path / "a0", member, ask)[2]
    again = council_arms._setup(task, tmp_path / "a1", member, ask._replace(seed=7))[2]
    assert len(chat.asked) == 1 and len(ask.carry) == 1
    path = next(p for p, text in first.files.items() if "test_empty_suffix" in text)  # QA's
    assert again.files[path] == first.files[path] and again.is_protected(path)
    other = council_arms.SuiteAsk(False, {})  # another arm: asked again
    council_arms._setup(task, tmp_path / "other", member, other)
    assert len(chat.asked) == 1 + REPRO_ATTEMPTS
