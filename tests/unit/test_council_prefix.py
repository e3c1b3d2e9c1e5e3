"""A patch council member's JSON answers (critiques, ballots) begin as its patch prompts do: the
model server then finds the repository context in the slot that served the member's patch and
evaluates only what follows it (a developer's ballot evaluated its whole 4,300-token prompt
again, 205 s on the 1.5B, when its system prompt differed from the first token)."""

from __future__ import annotations

from fleet.agents import write_patch
from fleet.council import Brief, Member
from fleet.council.patching import PatchTools
from tests.unit.test_prompts_golden import (
    EVIDENCE,
    GOOD,
    MINE,
    OTHER,
    SPEC,
    FakeRepo,
    Recorder,
    _brief,
    _member,
)


def _vote(patch: bool = True) -> Brief:
    return _brief(patch).model_copy(
        update={"step": "vote", "proposals": (MINE, OTHER), "evidence": EVIDENCE}
    )


def _ballot_after_patch(member: Member, chat: Recorder) -> tuple[list, list]:
    member.propose(_brief())
    patch_prompt = chat.asked[0]
    chat.replies.clear()  # the ballot: a scripted JSON answer
    member.vote(_vote())
    return patch_prompt, chat.asked[-1]


def test_a_developers_ballot_starts_with_its_patch_prompts_system_and_context():
    chat = Recorder(GOOD)
    member = _member("developer-1", chat)
    patch, ballot = _ballot_after_patch(member, chat)
    pack = member._pack(_brief())  # the repository's code, without a context service
    assert ballot[0] == patch[0]  # the author's system prompt, not "<role prompt> Answer in JSON."
    assert patch[1][1].startswith(pack) and ballot[1][1].startswith(pack) and len(pack) > 100
    assert ballot[1][1].endswith("Answer in JSON.")


def test_another_roles_ballot_starts_with_its_own_patch_prompts_system():
    chat = Recorder()
    qa = Member("qa-1", "qa", SPEC, chat, temperature=0.0, seed=7,
                tools=PatchTools(write_patch=write_patch, repo=lambda s: FakeRepo()))  # fmt: skip
    qa.vote(_vote())
    assert chat.asked[-1][0] == ("system", SPEC.system_prompt.strip())


def test_outside_a_patch_council_the_prompt_is_unchanged():
    chat = Recorder()
    _member("developer-1", chat, tools=False).vote(_vote(patch=False))
    system, user = chat.asked[-1]
    assert system == ("system", "You are a developer. Answer in JSON.")
    assert user[1].startswith("## Context\n")


class ChangingContext:
    """A context service whose pack changes with every call, as the real one's does while a
    council works: its latest test results come before the code."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, story_id: str, role: str, phase: str, task_id: str | None, **kw: object):
        from fleet.contracts import ContextPack, ContextSection

        self.calls += 1
        return ContextPack(story_id=story_id, task_id=task_id, role=role, phase="build",
                           sections=(ContextSection(name="test_results", content=f"run {self.calls}"),
                                     ContextSection(name="code", content="def twice(x):\n    pass\n" * 40)))  # fmt: skip


def test_a_ballot_reuses_the_pack_its_members_first_call_in_the_deliberation_saw():
    """The ballot's prompt begins with the patch prompt's whole pack, not the newer one (a
    developer's ballot had 0 of 4,267 prompt tokens cached: the test results before the code had
    changed since its patch); another deliberation gets a fresh pack."""
    chat, context = Recorder(GOOD), ChangingContext()
    member = _member("developer-1", chat)
    member.context = context
    patch, ballot = _ballot_after_patch(member, chat)
    assert context.calls == 1
    assert "run 1" in patch[1][1] and ballot[1][1].startswith(patch[1][1].split("\n\n## code")[0])
    shared = patch[1][1].split("## code\n", 1)[1][:500]
    assert shared in ballot[1][1]
    member.vote(_vote().model_copy(update={"deliberation_id": "d2"}))
    assert context.calls == 2 and "run 2" in chat.asked[-1][1][1]


def test_a_member_keeps_the_packs_of_its_latest_deliberations_only():
    from fleet.council.member import PACKS_KEPT

    chat, context = Recorder(), ChangingContext()
    member = _member("developer-1", chat)
    member.context = context
    for n in range(PACKS_KEPT + 1):
        member.vote(_vote().model_copy(update={"deliberation_id": f"d{n}"}))
    assert context.calls == PACKS_KEPT + 1 and len(member._packs) == PACKS_KEPT
    member.vote(_vote().model_copy(update={"deliberation_id": f"d{PACKS_KEPT}"}))  # kept
    assert context.calls == PACKS_KEPT + 1
    member.vote(_vote().model_copy(update={"deliberation_id": "d0"}))  # dropped: asked again
    assert context.calls == PACKS_KEPT + 2
