"""Findings and coverage scoped to the lines a change adds."""

from __future__ import annotations

import json

from fleet.diffscope import added_lines, diff_coverage, findings_on

DIFF = """diff --git a/pkg/m.py b/pkg/m.py
--- a/pkg/m.py
+++ b/pkg/m.py
@@ -3,0 +4,2 @@ def f():
+    x = 1
+    return x
@@ -10 +12 @@
-old
+new
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1 @@
+import os
"""


def test_added_lines_follow_hunks_and_skip_deleted_files() -> None:
    assert added_lines(DIFF) == {"pkg/m.py": {4, 5, 12}, "new.py": {1}}


def test_only_findings_on_added_lines_count() -> None:
    added = added_lines(DIFF)
    found = [
        {"filename": "/sandbox/ws/pkg/m.py", "location": {"row": 5}},  # on the change
        {"filename": "/sandbox/ws/pkg/m.py", "location": {"row": 6}},  # older code
        {"filename": "./new.py", "location": {"row": 1}},
        {"filename": "/sandbox/ws/other.py", "location": {"row": 1}},
        {"filename": "x.py"},  # malformed: ignored
    ]
    assert findings_on(json.dumps(found), added) == 2
    assert findings_on("not json", added) == 0


def test_diff_coverage_is_the_share_of_added_executable_lines_the_tests_ran() -> None:
    added = added_lines(DIFF)
    cov = {
        "files": {
            "pkg/m.py": {"executed_lines": [1, 4], "missing_lines": [5, 6]},
            "new.py": {"executed_lines": [1], "missing_lines": []},
        }
    }
    assert diff_coverage(json.dumps(cov), added) == round(100 * 2 / 3, 2)
    assert diff_coverage(json.dumps({"files": {}}), added) == 100.0  # nothing executable added
    assert diff_coverage("{", added) is None
