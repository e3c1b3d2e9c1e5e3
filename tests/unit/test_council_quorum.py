"""How many members must answer a step. In a patch council one proposer's patch is enough to go
on (the evidence suite judges a patch; a proposer that gave none is asked again next step): with
a majority needed, a council holding one applying patch was convened again, twice, where sampling
plus tests committed that patch. Other steps, and other councils, still need a majority."""

from __future__ import annotations

from fleet.council import DeliberationRequest
from fleet.evidence import EvidenceSuite

SUITE = EvidenceSuite(files={"tests/test_t1_acceptance.py": "def test_a():\n    pass\n"})
MEMBERS = ("developer-1", "developer-2", "developer-3", "qa-1", "architect-1")
PROPOSERS = MEMBERS[:3]


def _request(**kw: object) -> DeliberationRequest:
    return DeliberationRequest(id="d", story_id="s", task="t", members=MEMBERS,
                               proposers=PROPOSERS, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_patch_council_goes_on_with_one_proposers_patch():
    patch = _request(suite=SUITE, source="/repo")
    assert [patch.needed_of(s) for s in ("propose", "debug", "revise")] == [1, 1, 1]
    assert patch.needed_of("vote") == 3 and patch.needed_of("critique") == 3


def test_other_councils_and_an_explicit_quorum_keep_the_majority():
    assert _request().needed_of("propose") == 2  # a design council: proposals are opinions
    explicit = _request(suite=SUITE, source="/repo", quorum=4)
    assert explicit.needed_of("propose") == 2 and explicit.needed_of("vote") == 4  # of 3 proposers
