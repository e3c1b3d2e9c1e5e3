"""The checkpoint key of a story's first test (fleet/pipeline/suite.py: repro_key): the same
report on the same code gives the same key, anything else another; hostile story text (a lone
surrogate from JSON) is hashed, not refused."""

from __future__ import annotations

from fleet.contracts import Story, Task
from fleet.pipeline.suite import repro_key

STORY = Story(id="s1", title="f is wrong", description="f(1) returns 2", work_kind="bug")
TASK = Task(id="T1", story_id="s1", role="developer", description="f is wrong")
FILES = {"m.py": "def f(x):\n    return x + 1\n", "tests/test_m.py": ""}


def test_the_same_report_on_the_same_code_has_one_key():
    assert repro_key(STORY, TASK, FILES) == repro_key(STORY, TASK, dict(reversed(FILES.items())))


def test_other_code_another_report_another_kind_or_task_change_the_key():
    key = repro_key(STORY, TASK, FILES)
    others = [
        repro_key(STORY, TASK, {**FILES, "m.py": "def f(x):\n    return x\n"}),
        repro_key(STORY, TASK, {**FILES, "n.py": ""}),
        # the boundary between a path and its text is part of the key
        repro_key(STORY, TASK, {"m.py" + FILES["m.py"][:3]: FILES["m.py"][3:]}),
        repro_key(STORY.model_copy(update={"description": "f(1) returns 3"}), TASK, FILES),
        repro_key(STORY.model_copy(update={"work_kind": "change"}), TASK, FILES),
        repro_key(STORY, TASK.model_copy(update={"id": "T2"}), FILES),
    ]
    assert key not in others and len(set(others)) == len(others)


def test_a_lone_surrogate_in_the_story_or_a_file_is_hashed():
    story = STORY.model_copy(update={"description": "f('\ud800') returns ''"})
    files = {**FILES, "data.txt": "\udcff raw byte"}
    assert repro_key(story, TASK, files) != repro_key(STORY, TASK, FILES)
