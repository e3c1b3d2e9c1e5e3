"""Evidence: the tests a task's candidate patches are judged by, and how much to trust them.

- ``suite``: the evidence suite, per-test outcomes from a junit report, patch hashing, and the
  removal of a patch's edits to the suite's own files.
- ``agreement``: CodeT's dual execution agreement: generated tests weighed by how many candidates
  pass them; which tests are distrusted; each candidate's score.
- ``acceptance``: QA's acceptance-test module for a task (executable criteria deterministically,
  prose ones from the QA agent), kept only when valid and failing on the base commit.

The runs themselves (clean copies, the sandbox) are in ``fleet/adapters/evidence.py``.
"""

from __future__ import annotations

from fleet.evidence.agreement import Agreement, agree
from fleet.evidence.suite import (
    EvidenceSuite,
    evidence_of,
    outcomes,
    patch_hash,
    sections,
    strip_paths,
)

__all__ = [
    "Agreement",
    "EvidenceSuite",
    "agree",
    "evidence_of",
    "outcomes",
    "patch_hash",
    "sections",
    "strip_paths",
]
