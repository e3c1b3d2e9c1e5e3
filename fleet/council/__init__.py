"""The council: multi-round deliberation among role agents, voting, and the resulting Decision.

- ``schemas``: ``DeliberationRequest`` and the small model-facing drafts.
- ``tally``: the vote-counting rules and the deterministic tie-break.
- ``protocol``: the plan of steps, the checkpointed state, drafts -> contracts.
- ``member``: one member's prompts and schema-constrained calls.
- ``engine``: ``Council``, which runs, checkpoints and resumes a deliberation.
- ``outcome``: sandbox evidence, the counted tally, the Deliberation and the Decision.
- ``writer``: write-behind of events and checkpoints; ``wire``: call arguments as JSON bytes.
"""

from __future__ import annotations

from fleet.council.engine import Call, Council, Gather, checkpoint_key
from fleet.council.member import Member
from fleet.council.protocol import CouncilState, plan
from fleet.council.schemas import (
    RULES,
    BallotDraft,
    Brief,
    CritiqueDraft,
    DeliberationRequest,
    ProposalDraft,
    Rule,
    ballot_schema,
)
from fleet.council.seeds import mix
from fleet.council.tally import consensus, rank, tally

__all__ = [
    "RULES",
    "BallotDraft",
    "Brief",
    "Call",
    "Council",
    "CouncilState",
    "CritiqueDraft",
    "DeliberationRequest",
    "Gather",
    "Member",
    "ProposalDraft",
    "Rule",
    "ballot_schema",
    "checkpoint_key",
    "consensus",
    "mix",
    "plan",
    "rank",
    "tally",
]
