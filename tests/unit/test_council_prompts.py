"""Council members ask for a patch the way the single developer does (``fleet.agents.request``):
context, edit format, then the task, its acceptance criteria, the functions with no body yet,
and the instruction last; a stub echoed back is continued like on the single path."""

from __future__ import annotations

from fleet import contracts
from fleet.agents import EDIT_FORMAT, write_patch
from fleet.agents.request import AUTHOR, WRITE, change_request
from fleet.config import load
from fleet.contracts import Evidence, Patch, Proposal, Story, Task
from fleet.council import Brief, Member
from fleet.council.patching import PatchTools, developer_temperature, style
from fleet.orchestrator.implement import instruction
from fleet.prompts import render
from fleet.testing.fakes import ScriptedChatModel

ROLES = load("roles.yaml")
STUB = 'def twice(x):\n    """Return x doubled."""\n'
FILES = {"calc.py": STUB, "tests/test_smoke.py": "import calc\n"}
CRITERIA = ("twice(3) returns 6", "twice(0) returns 0")
GOOD = 'calc.py\n```python\ndef twice(x):\n    """Return x doubled."""\n    return 2 * x\n```\n'


class FakeRepo:
    def files(self, ref: str = "HEAD") -> dict[str, str]:
        return dict(FILES)

    def read(self, ref: str, path: str) -> str | None:
        return FILES.get(path)

    def check(self, patch: Patch) -> str | None:
        return None


class Recorder:
    """A scripted model that records every request and answers from ``replies`` in turn."""

    def __init__(self, *replies: str) -> None:
        self.replies, self.asked, self.kw = list(replies), [], []

    def __call__(self, messages, schema):  # ScriptedChatModel's script
        self.asked.append(list(messages))
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def member(agent_id: str, script: Recorder) -> Member:
    return Member(
        agent_id,
        "developer",
        ROLES.get("developer"),
        ScriptedChatModel(script=script),
        temperature=developer_temperature(agent_id),
        seed=7,
        tools=PatchTools(write_patch=write_patch, repo=lambda source: FakeRepo()),
    )


def brief(**kw) -> Brief:
    return Brief(
        deliberation_id="d", story_id="s", task_id="T1", task="Implement twice", round=0,
        step="propose", source="/repo", base="main", base_commit="abc", acceptance=CRITERIA, **kw,
    )  # fmt: skip


def test_a_members_patch_prompt_names_criteria_and_stubs_and_ends_with_the_instruction():
    script = Recorder(GOOD)
    out = member("developer-1", script).propose(brief())
    assert out.patch is not None and "return 2 * x" in out.patch.diff
    system, user = script.asked[0][0].content, script.asked[0][-1].content
    assert system == AUTHOR  # as the single path; who the member is comes after the context
    assert "You are developer-1." in user and "You are developer-1." not in system
    assert "Acceptance criteria:\n- twice(3) returns 6\n- twice(0) returns 0" in user
    assert "Functions that have no body yet: calc.py: twice" in user
    assert user.endswith(WRITE)  # the instruction is what the model reads last
    assert user.index("### calc.py") < user.index(EDIT_FORMAT) < user.index("Task: Implement twice")


def test_members_and_the_single_developer_share_one_request():
    script = Recorder(GOOD)
    member("developer-1", script).propose(brief())
    story = Story(id="s", title="Implement twice", acceptance_criteria=CRITERIA)
    task = Task(id="T1", story_id="s", role="developer", description="Implement twice")
    single = instruction(story, task, None, [], FILES)
    assert single == change_request("Implement twice", CRITERIA, FILES)
    assert script.asked[0][-1].content.endswith(single)


def test_members_differ_by_request_style_and_temperature():
    one, two = Recorder(GOOD), Recorder("    return 2 * x\n```\n")
    member("developer-1", one).propose(brief())
    out = member("developer-2", two).propose(brief())
    # developer-1 asks the single developer's edit-format request; developer-2 completes the
    # function the task asks for, begun with its stub
    assert one.asked[0][-1].role == "user" and one.asked[0][-1].content.endswith(WRITE)
    assert two.asked[0][-1].role == "assistant" and two.asked[0][-1].content.endswith(STUB)
    assert out.patch is not None and "+    return 2 * x" in out.patch.diff and len(two.asked) == 1
    own = _proposal("developer-2", "--- a/calc.py\n+++ b/calc.py\n+    return x\n")
    revised = Recorder(GOOD)
    member("developer-2", revised).revise(brief().model_copy(update={"step": "revise"}), own)
    assert style("developer-2") and style("developer-2") in revised.asked[0][1].content
    assert style("developer-2") not in one.asked[0][1].content
    assert developer_temperature("developer-1") != developer_temperature("developer-2")


def test_a_continuing_member_whose_continuation_fails_gets_the_edit_request_as_first_asked():
    script = Recorder("    return (((\n```\n", GOOD)
    out = member("developer-2", script).propose(brief())
    assert out.patch is not None and "return 2 * x" in out.patch.diff
    second = script.asked[1]
    assert second[-1].role == "user" and second[-1].content.endswith(WRITE)
    assert not any("could not be applied" in m.content for m in second)


def test_a_member_that_echoes_the_stub_is_asked_to_continue_it():
    script = Recorder(f"calc.py\n```python\n{STUB}```\n", "    return 2 * x\n```\n")
    out = member("developer-1", script).propose(brief())
    assert out.patch is not None and "+    return 2 * x" in out.patch.diff
    follow = script.asked[1]
    assert follow[-1].role == "assistant" and follow[-1].content.endswith(STUB)


def _proposal(author: str, diff: str) -> Proposal:
    patch = Patch(base_commit="abc", diff=diff, files=("calc.py",), rationale="r")
    return Proposal(
        id=f"d:p0:{author}", deliberation_id="d", author=author, role="developer", round=0,
        content="c", patch=patch,
    )  # fmt: skip


def test_a_revision_prompt_shows_its_failing_tests_before_the_instruction():
    own = _proposal("developer-1", "--- a/calc.py\n+++ b/calc.py\n+    return x\n")
    other = _proposal("developer-2", "--- a/calc.py\n+++ b/calc.py\n+    return x + x\n")
    fail = contracts.TestOutcome(
        test_id="tests/test_acc.py::test_twice_1", passed=False, excerpt="3 != 6"
    )
    ev = Evidence(proposal_id=own.id, passed=False, tests_failed=1, tests=(fail,))
    script = Recorder(GOOD)
    b = brief(proposals=(own, other), evidence=(ev,)).model_copy(update={"step": "revise"})
    member("developer-1", script).revise(b, own)
    user = script.asked[0][-1].content
    assert user.endswith(WRITE) and "Acceptance criteria:" in user
    assert user.index("Your current patch (passes 0/1 tests)") < user.index(WRITE)
    assert "FAILS tests/test_acc.py::test_twice_1: 3 != 6" in user
    assert "### developer-2" in user and "return x + x" in user


def test_critics_see_the_acceptance_criteria():
    script = Recorder('{"severity": "minor", "comment": "fine"}')
    target = _proposal("developer-2", "--- a/calc.py\n+++ b/calc.py\n+    return x + x\n")
    b = brief(proposals=(target,)).model_copy(update={"step": "critique"})
    member("developer-1", script).critique(b, target)
    assert "- twice(3) returns 6" in script.asked[0][-1].content


def test_critics_and_revisers_see_a_candidates_own_edits_not_the_evidence_tests_it_carries():
    suite = "diff --git a/tests/test_acc.py b/tests/test_acc.py\nnew file mode 100644\n+def _find(name):\n"
    own = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n+    return x + x\n"
    target = _proposal("developer-2", own + suite)
    b = brief(proposals=(target,), evidence_files=("tests/test_acc.py",))
    script = Recorder('{"severity": "minor", "comment": "fine"}')
    member("developer-1", script).critique(b.model_copy(update={"step": "critique"}), target)
    asked = script.asked[0][-1].content
    assert "return x + x" in asked and "_find" not in asked
    revised = Recorder(GOOD)
    member("developer-2", revised).revise(b.model_copy(update={"step": "revise"}), target)
    assert "return x + x" in revised.asked[0][-1].content
    assert "_find" not in revised.asked[0][-1].content


def test_a_critic_of_a_candidate_that_passes_every_test_is_told_so():
    target = _proposal("developer-2", "--- a/calc.py\n+++ b/calc.py\n+    return x + x\n")
    ok = contracts.TestOutcome(test_id="tests/test_acc.py::test_twice_1", passed=True)
    ev = Evidence(proposal_id=target.id, passed=True, tests_passed=1, tests=(ok,))
    b = brief(proposals=(target,), evidence=(ev,)).model_copy(update={"step": "critique"})
    script = Recorder('{"severity": "info", "comment": "looks correct"}')
    member("developer-1", script).critique(b, target)
    asked = script.asked[0][-1].content
    assert "It passes all its tests" in asked and "name the failing test" not in asked


def test_scripted_developers_rank_their_own_proposal_first():
    # the story tests' scripted model: several developers disagree, so a council reaches its
    # critique round whatever the prompts' lengths (a supermajority would stop it in round 0)
    import json

    from fleet.contracts import ChatMessage
    from fleet.council.schemas import ballot_schema
    from fleet.orchestrator.sample import scripted_developer

    schema = ballot_schema(3).model_json_schema()
    firsts = [
        json.loads(
            scripted_developer(
                [
                    ChatMessage(role="system", content=f"Reviewer. You are {who}. Answer in JSON."),
                    ChatMessage(role="user", content="Rank proposals 1 to 3."),
                ],
                schema,
            )
        )["ranking"][0]
        for who in ("developer-1", "developer-2", "developer-3")
    ]
    assert firsts == [1, 2, 3]


def test_a_member_whose_reply_has_no_usable_edit_continues_the_function_the_task_names():
    # as on the single path (write_change's focus): Qwen 0.5B sometimes repeats the prompt's tail
    echo = "To create a new file, leave the SEARCH part empty.\nTask: Implement twice\n"
    script = Recorder(echo, "    return 2 * x\n```\n")
    out = member("developer-1", script).propose(brief())
    assert out.patch is not None and "+    return 2 * x" in out.patch.diff
    assert script.asked[1][-1].role == "assistant" and "`twice`" in script.asked[1][1].content


def test_a_first_proposal_on_a_retry_continues_the_stub_with_the_last_attempts_findings():
    script = Recorder("    return 2 * x\n```\n")
    finding = "T1: failed: tests/test_acc.py::test_twice_1: assert 3 == 6"
    out = member("developer-1", script).propose(brief(findings=(finding,)))
    assert out.patch is not None and "+    return 2 * x" in out.patch.diff
    ask = script.asked[0]
    assert ask[-1].role == "assistant" and f"An earlier attempt failed: {finding}" in ask[1].content


def test_members_of_a_role_share_their_prompt_up_to_who_they_are():
    # the model server's prefix cache then evaluates the shared context once for the council
    asked = []
    for who in ("developer-1", "developer-2", "developer-3"):
        script = Recorder(GOOD)
        own = _proposal(who, "--- a/calc.py\n+++ b/calc.py\n+    return x\n")
        member(who, script).revise(brief().model_copy(update={"step": "revise"}), own)
        asked.append(script.asked[0])
    systems = {a[0].content for a in asked}
    users = [a[1].content for a in asked]
    heads = [u[: u.index("You are developer-")] for u in users]
    # developers 2 and 3 are asked for whole functions (council_formats): the same text up to it
    assert len(systems) == 1 and heads[1] == heads[2] != heads[0]
    context = {u[: u.index("Reply with")] for u in users}
    assert len(context) == 1 and "### calc.py" in context.pop()  # the shared context
    assert EDIT_FORMAT in heads[0] and EDIT_FORMAT not in heads[1]
    assert render("author.function_format") in heads[1]
    assert all(u.endswith(WRITE) for u in users)  # the instruction is still read last
    assert users[1][len(heads[1]) :] != users[2][len(heads[2]) :]  # each one's name and style
