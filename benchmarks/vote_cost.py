"""The ``vote_cost`` arm of ``bench_agents.py``: ``vote`` at the council's token cost.

The cheap baseline DEVELOPERS.md asks for beside every council result: several samples of the
same model chosen by the tests, spending what the council spent. Each attempt starts like
``vote`` (the council's round-0 candidates on attempt 0, so the arms stay paired; three fresh
first patches with the gate's findings on a retry), then draws more first patches from further
developers (``developer-4``, ``-5``, ...: temperature 0.5, each seeded by its name and its own style line, the
function's continuation first) until its tokens reach the council's on the same attempt of the
same task (``council_arms.SPENT``: the council arm must run first, ``--arm council,vote_cost``),
at most ``MAX_SAMPLES`` candidates. Every sample's evidence runs in the sandbox; the pick is CodeT
agreement on the evidence tests (``fleet.evidence.agree``), then the same build path and retries
as ``vote`` (``council_arms.arm_vote``, which this arm is, with more samples).

Tokens: everything the arm's samples cost (the council's round-0 developers and QA on attempt 0).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

from council_arms import SPENT, Drawn, _team, arm_vote, first_patches
from harness import TASK_ID

from fleet.contracts import RunContext

MAX_SAMPLES = 24  # per attempt: a council that ran away must not make this arm run away


def _more(
    chat: Any, task: Any, attempt: int, drawn: Drawn, root: Path, findings: tuple[str, ...]
) -> tuple[Drawn, str]:
    """``drawn``'s candidates and their evidence, with more samples until the tokens reach the
    council's."""
    from fleet.adapters.bwrap_sandbox import BwrapSandbox
    from fleet.adapters.evidence import SandboxEvidence
    from fleet.council.patching import developer_temperature

    budgets = SPENT.get(task.id)
    if not budgets:
        raise RuntimeError(
            "no council spend to match: run the council arm first (--arm council,vote_cost)"
        )
    budget = budgets[attempt] if attempt < len(budgets) else 0
    props, found, spent, suite, repo = drawn
    ledger: dict[str, int] = defaultdict(int)
    n, extra = 4, []  # developer-1..3 wrote the first three
    while spent + sum(ledger.values()) < budget and len(props) + n - 4 < MAX_SAMPLES:
        name = f"developer-{n}"
        team = _team(chat, ledger, {name: developer_temperature(name)}, task=task)
        extra += first_patches(task, team, [name], repo, suite, findings)
        n += 1
    if extra:
        evidence = SandboxEvidence(BwrapSandbox(), root=root / "ev-more", concurrency=2)
        ctx = RunContext(story_id=task.story.id, task_id=TASK_ID, role="qa", phase="test")
        found = [*found, *evidence.run(extra, suite, source=str(repo), base="main", context=ctx)]
    spent += sum(ledger.values())
    more = Drawn([*props, *extra], list(found), spent, suite, repo)
    return more, f" ({spent} of the council's {budget} tokens)"


def arm_vote_cost(tasks: list[Any], chat: Any, args: argparse.Namespace) -> Any:
    return arm_vote(tasks, chat, args, more=partial(_more, chat), name="vote_cost")
