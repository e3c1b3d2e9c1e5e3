"""One council member: turns a Brief into a short prompt and a schema-constrained model call.

Pure: the chat model and the context source are injected. The Ray shell around it is
``actors/agent.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from fleet.agents import PatchRequest, author_messages
from fleet.agents.request import asked_for, change_request
from fleet.agents.testsource import with_tests
from fleet.config import RoleSpec
from fleet.contracts import ChatMessage, ContextPack, Evidence, Proposal
from fleet.council import debugging, distinguish, patching, plans, qa
from fleet.council.patching import PatchTools, Sampling
from fleet.council.plans import PlanDraft
from fleet.council.schemas import (
    BallotDraft,
    Brief,
    Candidate,
    CritiqueDraft,
    CritiqueNote,
    ProposalDraft,
    ballot_schema,
)
from fleet.council.seeds import mix
from fleet.errors import InvalidModelOutput
from fleet.ports import ChatModel
from fleet.prompts import render
from fleet.structured import structured

# (story_id, role, lifecycle phase, task_id, *, repo=, ref=) -> the member's scoped context
ContextProvider = Callable[..., ContextPack]

CODE_CHARS = 12_000  # repository text shown when no context service gives a ranked pack
PLAN_TOKENS = 400  # a plan of a few tasks in JSON (a cut reply is invalid, not a shorter plan)
BEGUN_TOKENS = 600  # a begun test module's continuation: its test (a cut one is dropped)
PACKS_KEPT = 8  # deliberations whose context pack a member keeps (a long-lived agent serves many)
CLIP = 160  # characters of another member's text shown in a prompt: small models have small windows


def _clip(text: str, n: int = CLIP) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def results(evidence: Evidence | None) -> str:
    """A proposal's evidence in one line: passed/total and the failing tests."""
    if evidence is None:
        return ""
    if not evidence.tests:
        detail = evidence.detail
        return render("council.results_none", detail=_clip(detail, 100)) if detail else ""
    total = evidence.tests_passed + evidence.tests_failed
    failing = [t.test_id.rsplit("::", 1)[-1] for t in evidence.tests if not t.passed]
    tail = render("council.results_failing", tests=", ".join(failing[:4])) if failing else ""
    return render("council.results", passed=evidence.tests_passed, total=total, failing=tail)


def listing(proposals: Sequence[Proposal], evidence: Sequence[Evidence] = ()) -> str:
    """Proposals numbered from 1, as voters and critics see them (with their test results)."""
    by_id = {e.proposal_id: e for e in evidence}
    return "\n".join(
        render(
            "council.listing_line",
            number=i,
            author=p.author,
            content=_clip(p.content),
            results=results(by_id.get(p.id)),
        )
        for i, p in enumerate(proposals, 1)
    )


@dataclass(eq=False)
class Member:
    """A role instance that proposes, critiques, revises and votes through its model.

    ``tools`` set: this member can propose patches (a patch council's developers)."""

    agent_id: str
    role: str
    spec: RoleSpec
    chat: ChatModel
    _: KW_ONLY
    temperature: float = 0.7
    seed: int = 0
    context: ContextProvider | None = None
    max_tokens: int = 160
    tools: PatchTools | None = None
    # critiques written at once (1: one after another, each reusing the member's shared prompt
    # prefix in the model server's cache; benchmarks/member_turns.py measures both ways)
    parallel_critiques: int = 1
    # for critiques(), created on first use
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    # the context pack of each deliberation the member works in, as its first call there saw it
    # (the latest PACKS_KEPT): see _pack
    _packs: dict[tuple[str, ...], str] = field(default_factory=dict, init=False, repr=False)

    # ------------------------------------------------------------------ the four acts

    def patches(self, brief: Brief) -> bool:
        """Whether this call is a patch council's (the brief names a repository to patch)."""
        return self.tools is not None and brief.source is not None

    def _patch(
        self,
        brief: Brief,
        model: Sampling,
        *,
        turn: patching.Turn | None = None,
        job: str = "",
        files: Mapping[str, str] | None = None,
    ) -> Candidate:
        """A patch written the way the single developer writes one (``fleet.agents``): context,
        edit format, then the request (task, criteria, stubs, a revision's or debugging
        ``turn``'s notes, the instruction; or ``job`` for QA's tests), with the same stub-echo
        continuation in ``write_patch``. ``files``: the repository at the base when the caller
        has read it already. ``model``: this member's model for the call (``_sampling``)."""
        assert self.tools is not None and brief.source is not None
        repo = self.tools.repo(brief.source)
        notes, fixes = (turn.notes, turn.fixes) if turn else ((), ())
        findings = brief.findings if not job and not notes else ()
        files = files if files is not None else self._files(brief, findings)
        request = job or change_request(brief.task, brief.acceptance, files, notes=notes)
        request = f"{self.identity(style=not job)}\n\n{request}"
        ask = PatchRequest(
            author_messages(self._pack(brief), instruction=request, system=self._system(job)),
            files,
            base_commit=brief.base_commit,
            check=repo,
            focus=[] if job else asked_for([brief.task, *brief.acceptance], files),
            # a first proposal on a retry: the continuation with what the last attempt got wrong
            # comes first (greedy, the edit-format request repeats the last attempt's patch)
            notes=findings,
            # a revision's continuation (when the model echoes the request) keeps its failures
            fixes=fixes,
            continue_first=not job and not notes and patching.continues_first(self.agent_id),
            # developer-n's own edit format (QA's tests: the profile's)
            developer=0 if job else patching.developer_number(self.agent_id),
            # the suite's tests are the evidence: a reply that only rewrites them is corrected
            kept_tests=() if job else brief.evidence_files,
            # a revision starts from the member's own version (its edits apply there first)
            start=turn.version if turn else {},
        )
        patch = self.tools.write_patch(model, ask)
        return Candidate(answer=patching.summary(patch), reason=patch.rationale[:400], patch=patch)

    def _sampling(
        self, brief: Brief, salt: str, replies: list[str] | None = None, floor: float = 0.0
    ) -> Sampling:
        """The member's model with its temperature (at least the brief's floor and ``floor``)
        and a seed of its own for ``salt``; its replies' texts go to ``replies`` when given."""
        seed = mix(self.seed, brief.seed, salt)
        hot = max(self.temperature, brief.temperature_floor, floor)
        return Sampling(self.chat, temperature=hot, seed=seed, replies=replies)

    def _files(self, brief: Brief, failures: Sequence[str] = ()) -> Mapping[str, str]:
        """The repository a patch council's change applies to, at its base, with the test files
        ``failures`` name that are too big for ``files`` (their tests' source is shown)."""
        assert self.tools is not None and brief.source is not None
        repo = self.tools.repo(brief.source)
        ref = brief.base_commit or brief.base or "HEAD"
        return with_tests(repo.files(ref), failures, lambda path: repo.read(ref, path))

    def propose(self, brief: Brief) -> ProposalDraft | Candidate | PlanDraft:
        """A first answer to the task (a patch, in a patch council)."""
        if brief.criteria:
            return self._plan(brief, plans.plan_job(brief.criteria))
        if self.patches(brief):
            return self._patch(brief, self._sampling(brief, "propose"))
        return self._ask(brief, render("council.propose"), ProposalDraft)

    def critique(self, brief: Brief, target: Proposal) -> CritiqueDraft | CritiqueNote:
        """A review of ``target`` from this role's point of view."""
        focus = ", ".join(self.spec.critique_focus) or render("council.critique_focus")
        if target.patch is not None:
            job = patching.critique_job(brief, target, focus)
            draft = self._ask(brief, job, CritiqueDraft, salt=target.author)
            return CritiqueNote(
                severity=draft.severity, comment=patching.cited(draft.comment, brief, target)
            )
        job = render(
            "council.critique",
            author=target.author,
            focus=focus,
            proposal=_clip(target.content, 2 * CLIP),
        )
        return self._ask(brief, job, CritiqueDraft, salt=target.author)

    def critiques(
        self, brief: Brief, targets: Sequence[Proposal]
    ) -> list[CritiqueDraft | CritiqueNote | Exception]:
        """Reviews of several proposals: one call per member per phase. By default one after
        another (``parallel_critiques`` 1): the member's critique prompts differ only in their
        last part (the job), so each after the first finds the rest in the model server's prefix
        cache, while requests sent together each evaluate the whole prompt (llama.cpp shares no
        prefix between slots busy at the same time)."""
        if not targets:
            return []
        if self.parallel_critiques <= 1:
            out: list[CritiqueDraft | CritiqueNote | Exception] = []
            for t in targets:
                try:
                    out.append(self.critique(brief, t))
                except Exception as exc:
                    out.append(exc)
            return out
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.parallel_critiques, thread_name_prefix=f"{self.agent_id}-critique"
            )
        futures = [self._pool.submit(self.critique, brief, t) for t in targets[1:]]
        try:  # the first one in this thread: one thread hand-off less at the end of the phase
            first: CritiqueDraft | CritiqueNote | Exception = self.critique(brief, targets[0])
        except Exception as exc:
            first = exc
        return [first] + [f.exception() or f.result() for f in futures]  # type: ignore[misc]

    def close(self) -> None:
        """Stop the critique threads (a long-lived agent drops members of stories it no longer serves)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def revise(self, brief: Brief, own: Proposal | None) -> ProposalDraft | Candidate | PlanDraft:
        """Own proposal improved with the critiques it received (a fresh one if it had none).

        In a patch council: a new patch from the results and critiques; if writing it fails,
        the member keeps its last patch. A member with no patch proposes again, sampled at least
        ``patching.AGAIN_FLOOR`` hot (the same request decoded as before repeats its reply)."""
        if own is None and self.patches(brief) and not brief.criteria:
            again = self._sampling(brief, "again", floor=patching.AGAIN_FLOOR)
            return self._patch(brief, again)
        if own is None:
            return self.propose(brief)
        if brief.criteria:
            said = [f"{c.author} ({c.severity}): {_clip(c.content)}" for c in brief.critiques]
            return self._plan(brief, plans.revise_plan_job(brief.criteria, own.content, said))
        if self.patches(brief):
            try:
                if brief.step == "debug":
                    return self._debug(brief, own)
                mine = patching.evidence_by_id(brief).get(own.id)
                fails = patching.failing(mine, brief.distrusted, brief.advisory)
                files = self._files(brief, fails)  # read once: the notes quote its tests
                version = patching.own_version(own, files, brief.evidence_files)
                said = patching.revise_notes(brief, own, files, version)
                turn = patching.Turn(notes=said, fixes=fails[:4], version=version)
                return self._patch(brief, self._sampling(brief, "revise"), turn=turn, files=files)
            except Exception:
                if own.patch is None:
                    raise
                return Candidate(
                    answer=own.content or "kept", reason="revision failed; kept", patch=own.patch
                )
        notes = "\n".join(
            render(
                "council.critique_line",
                author=c.author,
                severity=c.severity,
                comment=_clip(c.content),
            )
            for c in brief.critiques
        )
        job = render(
            "council.revise",
            proposal=_clip(own.content, 2 * CLIP),
            critiques=notes or render("council.no_critiques"),
        )
        return self._ask(brief, job, ProposalDraft)

    def _debug(self, brief: Brief, own: Proposal) -> Candidate:
        """A new version of ``own`` from its own evidence output (``fleet/council/debugging.py``)."""
        mine = patching.evidence_by_id(brief).get(own.id)
        files = self._files(brief, debugging.failures(mine, brief.advisory))
        version = patching.own_version(own, files, brief.evidence_files)
        said, fails = debugging.notes(brief, own, files, version)
        turn = patching.Turn(notes=said, fixes=fails[:4], version=version)
        return self._patch(brief, self._sampling(brief, f"debug:{own.id}"), turn=turn, files=files)

    def distinguish(self, brief: Brief, targets: Sequence[Proposal]) -> list[str]:
        """QA: calls of the functions ``targets`` change on which they would differ
        (``fleet/council/qa.py``); [] when they change no top-level function."""
        return qa.inputs(self, brief, targets)

    def _plan(self, brief: Brief, job: str) -> PlanDraft:
        """A task DAG over the story's criteria (numbers bounded by the schema)."""
        schema = plans.plan_schema(len(brief.criteria))
        draft = self._ask(brief, job, schema, salt="plan", max_tokens=PLAN_TOKENS)
        # the plain PlanDraft: instances of a create_model class are pickled with their class
        return PlanDraft.model_validate(draft.model_dump())

    def write_tests(self, brief: Brief, criteria: Sequence[str]) -> dict[str, str]:
        """QA: new pytest files for prose ``criteria`` (path -> source), written as a patch."""
        if self.tools is None or brief.source is None:
            return {}
        path = patching.tests_path(brief.task_id, self.agent_id)
        job = render("council.tests", task=brief.task, job=patching.tests_job(criteria, path))
        if brief.begin:
            return self._begun_tests(brief, job, path)
        replies: list[str] = []
        try:
            patch = self._patch(brief, self._sampling(brief, "tests", replies), job=job).patch
        except InvalidModelOutput:
            patch = None  # no edit applied: a test module in a ```python block still counts
            if not patching.test_block(replies):
                raise
        found = patching.new_test_files(patch.diff, path) if patch else {}
        block = patching.test_block(replies) if not found else ""
        return {path: block} if block else found

    def _begun_tests(self, brief: Brief, job: str, path: str) -> dict[str, str]:
        """QA's tests with the module begun for it (``brief.begin``) and no edit format: the
        reply continues the module, and ends where a second test would begin
        (``patching.BEGUN_STOPS``). Asked for an edit, the 1.5B QA wrote code changes or
        repeated a path line to its token limit where a test was wanted."""
        start = patching.FENCE + brief.begin
        request = f"{self.identity()}\n\n{job}"
        messages = author_messages(self._pack(brief), instruction=request,
                                   system=self._system(job), edit_format=False)  # fmt: skip
        reply = self._sampling(brief, "tests").complete(
            [*messages, ChatMessage(role="assistant", content=start)],
            max_tokens=BEGUN_TOKENS, stop=patching.BEGUN_STOPS,
        )  # fmt: skip
        module = patching.begun_module(start, reply.text)
        return {path: module} if module else {}

    def write_examples(self, brief: Brief, criteria: Sequence[str]) -> list[str]:
        """QA: more "f(args) returns value" cases of the functions the task is about
        (``fleet/council/qa.py``); [] when there is no repository or no such function."""
        return qa.examples_of(self, brief, criteria)

    def vote(self, brief: Brief) -> BallotDraft:
        """Rank the proposals in ``brief.proposals`` (numbers, best first) and score each 0-10."""
        n = len(brief.proposals)
        job = render("council.vote", n=n)
        # passing candidates that did different things on the same inputs: judge on the outputs
        outputs = distinguish.table(brief.proposals, brief.evidence, brief.advisory, brief.before)
        job = f"{outputs}\n\n{job}" if outputs else job
        ballot = self._ask(brief, job, ballot_schema(n), show=True)
        # Hand back the plain BallotDraft: an instance of the per-n class made by create_model
        # is pickled with its class by value, ~1 ms each way per ballot across Ray.
        return BallotDraft.model_validate(ballot.model_dump())

    # ------------------------------------------------------------------ prompting

    def _ask(
        self,
        brief: Brief,
        job: str,
        schema: type,
        *,
        salt: str = "",
        show: bool = False,
        max_tokens: int | None = None,
    ) -> Any:
        return structured(
            self.chat,
            self.messages(brief, job, show=show or brief.step != "propose"),
            schema,
            temperature=self.temperature,
            seed=mix(self.seed, brief.seed, salt),
            max_tokens=max_tokens or self.max_tokens,
            name=self.agent_id,
        )

    def _system(self, job: str | None = None) -> str:
        """The role's system prompt (roles.yaml), for a JSON answer (``job`` None); for a patch,
        the single developer's (``AUTHOR``) when it is a change (``job`` empty), the role's for
        another ``job`` (QA's tests). The same for every member of the role: who the member is
        comes after the shared context (:meth:`identity`)."""
        role_prompt = self.spec.system_prompt.strip()
        if job is None:
            return render("council.system_json", role_prompt=role_prompt, agent=self.agent_id)
        head = role_prompt if job else render("request.author")
        style = "" if job else patching.style(self.agent_id)
        return render("council.system_patch", head=head, agent=self.agent_id, style=style).rstrip()

    def identity(self, *, style: bool = False) -> str:
        """Who the member is, just before its job (the instruction stays last): its name and,
        for a change (``style``), its own angle on the task (``patching.style``). After the
        context every member of the role shares, so the model server evaluates that context
        once and the other members' prompts hit its prefix cache."""
        angle = patching.style(self.agent_id) if style else ""
        return render("council.identity", agent=self.agent_id, style=angle).rstrip()

    def messages(self, brief: Brief, job: str, *, show: bool) -> list[ChatMessage]:
        """System prompt from roles.yaml; user prompt = context, proposals so far, the job.

        In a patch council a JSON answer's prompt begins as the member's patch prompts do: their
        system prompt, then the context pack, with "answer in JSON" moved to the job. The model
        server then finds that prefix (the repository context, thousands of tokens) in the slot
        that served the member's patch and evaluates only the rest (a developer's ballot took
        205 s with its whole prompt evaluated again)."""
        shared = self.patches(brief)
        context = self._context(brief)
        parts = [context if shared else render("council.context", text=context)]
        if show and brief.proposals:
            shown = listing(brief.proposals, brief.evidence)
            parts.append(render("council.proposals", listing=shown))
        parts.append(self.identity())
        parts.append(render("council.job_json" if shared else "council.job", job=job))
        # a developer's patch prompts have the author's system prompt, another role's its own
        system = self._system(("" if self.role == "developer" else job) if shared else None)
        return [
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content="\n\n".join(parts)),
        ]

    def _context(self, brief: Brief) -> str:
        """The member's context, then the task and its acceptance criteria."""
        if brief.acceptance:
            criteria = "\n".join(render("council.item", text=c) for c in brief.acceptance)
            task = render("council.task_criteria", task=brief.task, criteria=criteria)
        else:
            task = render("council.task", task=brief.task)
        pack = self._pack(brief)
        return (
            f"{pack}\n\n{task}"
            if pack
            else render("council.story", story_id=brief.story_id, task=task)
        )

    def _pack(self, brief: Brief) -> str:
        """The member's context pack (with the repository map and code in a patch council): the
        one its first call in this deliberation got, for every later call there. The context
        service's pack changes while the council works (its latest test results, the proposals
        so far, the code ranked by the failing tests), and those sections come before the code:
        a ballot, a debugging round or QA's next try evaluated the whole pack again (a
        developer's ballot 176 s and QA's 173 s on the 1.5B, a debugging round 197 s, with
        0 tokens of their prompts cached). What changed reaches them in their own request (the
        proposals and their evidence, the failing output, the wrong reason)."""
        key = (brief.deliberation_id, brief.story_id, brief.phase, brief.task_id or "",
               brief.source or "", brief.base_commit or brief.base or "")  # fmt: skip
        if key not in self._packs:
            self._packs[key] = self._fresh_pack(brief)
            while len(self._packs) > PACKS_KEPT:
                self._packs.pop(next(iter(self._packs)))
        return self._packs[key]

    def _fresh_pack(self, brief: Brief) -> str:
        if self.context is None:
            return self._code(brief) if self.patches(brief) else ""
        if brief.source:
            pack = self.context(
                brief.story_id,
                self.role,
                brief.phase,
                brief.task_id,
                repo=brief.source,
                ref=brief.base_commit or brief.base,
            )
        else:
            pack = self.context(brief.story_id, self.role, brief.phase, brief.task_id)
        return pack.render()

    def _code(self, brief: Brief) -> str:
        """Without a context service: the repository's Python files, smallest first, clipped."""
        assert self.tools is not None and brief.source is not None
        files = self.tools.repo(brief.source).files(brief.base_commit or brief.base or "HEAD")
        out, used = [], 0
        for path, text in sorted(files.items(), key=lambda kv: len(kv[1])):
            if path.endswith(".py") and used + len(text) <= CODE_CHARS:
                out.append(render("council.code_file", path=path, text=text))
                used += len(text)
        return render("council.code", files="\n\n".join(sorted(out))) if out else ""
