"""The report counts rounds as the CLI does (revision rounds after the first proposals) and shows
no vote count for a council its evidence settled (no ballots): "Borda 0" for the winner read as
if it had lost."""

from __future__ import annotations

from fleet.memory.report import Report, report_markdown


def _deliberation(ballots: list) -> dict:
    proposal = {
        "id": "p1", "author": "developer-1", "round": 0, "first_choice_votes": 2,
        "borda_points": 4, "evidence_passed": True, "content": "add divide",
    }  # fmt: skip
    return {
        "id": "d1", "members": ["developer-1", "qa-1"], "rounds": 0, "rule": "evidence/borda",
        "winner": "p1", "proposals": [proposal], "critiques": [], "ballots": ballots,
    }  # fmt: skip


def test_settled_by_evidence_shows_no_votes_and_revision_rounds():
    md = report_markdown(Report(story={"id": "s1"}, deliberations=(_deliberation([]),)))
    assert "revision rounds: 0" in md
    assert "| `p1` ✔ | developer-1 | 0 | — | — | pass | add divide |" in md


def test_a_vote_shows_its_counts():
    ballot = {"voter": "qa-1", "ranking": ["p1"]}
    md = report_markdown(Report(story={"id": "s1"}, deliberations=(_deliberation([ballot]),)))
    assert "| `p1` ✔ | developer-1 | 0 | 2 | 4 | pass | add divide |" in md
