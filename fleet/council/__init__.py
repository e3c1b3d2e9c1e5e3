"""The council: multi-round deliberation among role agents, voting, and the resulting Decision.

- ``schemas``: ``DeliberationRequest`` and the small model-facing drafts.
- ``tally``: the vote-counting rules and the deterministic tie-break.
- ``protocol``: the plan of steps, the checkpointed state, drafts -> contracts.
- ``member``: one member's prompts and schema-constrained calls.
- ``engine``: ``Council``, which runs, checkpoints and resumes a deliberation.
- ``outcome``: sandbox evidence, the counted tally, the Deliberation and the Decision.
- ``debugging``: each developer fixes its own failing candidate from its evidence output.
- ``distinguish``: inputs that tell passing candidates apart; ``qa``: QA's model calls for them
  and for its own examples; ``selection``: when the evidence settles a council and when ballots
  are asked; ``stages``: the driver's debug, distinguish and vote-or-not stages.
- ``recording``, ``writer``: checkpoints and events, write-behind; ``wire``: call arguments as
  JSON bytes; ``seeds``: stable sampling seeds.
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
