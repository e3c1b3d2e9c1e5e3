"""Assemble a ``ContextPack`` for (story, role, phase, task) from a story digest.

Scope filtering is by construction: only the sections ``scopes.yaml`` lists
for that role and phase are built, in its priority order, and the digest only
ever folds events of its own story.
"""

from __future__ import annotations

from collections.abc import Mapping

from fleet.config import Scope, ScopesConfig
from fleet.context.budget import fit
from fleet.context.digest import StoryDigest
from fleet.context.redact import redact
from fleet.context.sections import BUILDERS, REPO_BUILDERS, Draft
from fleet.contracts import ContextPack
from fleet.errors import ConfigError, NotFound, UnknownName
from fleet.ports import Tokenizer

REDACTED_MARK = "[REDACTED:"


class ContextBuilder:
    """Pure pack assembly: scopes + tokenizer in, ``ContextPack`` out."""

    def __init__(self, scopes: ScopesConfig, tokenizer: Tokenizer) -> None:
        missing = sorted(
            {s for phases in scopes.scopes.values() for sc in phases.values() for s in sc.sections}
            - set(BUILDERS)
            - set(REPO_BUILDERS)
        )
        if missing:
            raise ConfigError(
                file="scopes.yaml",
                key="scopes",
                problem=f"no builder for section(s) {', '.join(missing)}",
            )
        self.scopes = scopes
        self.tokenizer = tokenizer

    def scope(self, role: str, phase: str) -> Scope:
        """The scope for ``role`` in ``phase``; a clear error naming the valid ones otherwise."""
        phases = self.scopes.scopes.get(role)
        if phases is None:
            raise UnknownName(what="context role", name=role, valid=list(self.scopes.scopes))
        if phase not in phases:
            raise UnknownName(what=f"phase for role {role}", name=phase, valid=list(phases))
        return phases[phase]

    def drafts(
        self,
        digest: StoryDigest,
        role: str,
        phase: str,
        task_id: str | None = None,
        repo: Mapping[str, str] | None = None,
    ) -> list[Draft]:
        """The allowed sections, in priority order, before budgeting (``repo``: path -> text of
        the repository at the task's base commit, for the repository sections)."""
        out = []
        scope = self.scope(role, phase)
        for name in scope.sections:
            if name in REPO_BUILDERS:
                draft = REPO_BUILDERS[name](digest, task_id, repo, scope) if repo else None
            else:
                draft = BUILDERS[name](digest, task_id)
            if draft is not None:
                draft.name = name
                out.append(draft)
        return out

    def build(
        self,
        digest: StoryDigest,
        role: str,
        phase: str,
        *,
        task_id: str | None = None,
        budget: int | None = None,
        repo: Mapping[str, str] | None = None,
    ) -> ContextPack:
        """The pack for ``role`` in ``phase``; ``budget`` overrides the configured one.

        ``repo`` (path -> text) feeds the repository sections (``repo_map``, ``code``); its
        content is redacted like everything else. Token counts of lines are cached in the
        digest's ``tc`` when it has one (``budget.fit``; the engine's digests do).

        Raises:
            UnknownName: no scope for this role/phase.
            NotFound: the story has no events (or its task is unknown).
        """
        scope = self.scope(role, phase)
        if not digest.s["events"]:
            raise NotFound(what="story", id=digest.story_id)
        if task_id is not None and task_id not in digest.s["tasks"]:
            raise NotFound(what=f"task of story {digest.story_id}", id=task_id)
        drafts = self.drafts(digest, role, phase, task_id, repo)
        for d in drafts:  # the digest is redacted on the way in; this guards hand-made digests too
            d.items = [redact(it)[0] for it in d.items]
        limit = budget if budget is not None else scope.budget_tokens
        fitted = fit(drafts, limit, self.tokenizer, digest.s.get("tc"))
        kept = {s.name for s in fitted.sections}
        return ContextPack(
            story_id=digest.story_id,
            task_id=task_id,
            role=role,
            phase=phase,  # validated by ScopesConfig
            sections=tuple(fitted.sections),
            token_count=fitted.token_count,
            budget=limit,
            dropped=tuple(fitted.dropped),
            compressed=tuple(d.name for d in drafts if d.compressed and d.name in kept),
            redacted=sum(s.content.count(REDACTED_MARK) for s in fitted.sections),
        )


USED_PHASES = ("design", "build", "test")  # the phases in which the fleet calls agents


def require_scopes(
    scopes: ScopesConfig, roles: list[str], phases: tuple[str, ...] = USED_PHASES
) -> None:
    """Every (role, phase) the fleet uses has a scope: a missing one is a start-up error.

    Raises:
        ConfigError: naming every missing ``scopes.<role>.<phase>``.
    """
    missing = [
        f"scopes.{r}.{p}" for r in roles for p in phases if p not in scopes.scopes.get(r, {})
    ]
    if missing:
        raise ConfigError(
            file="scopes.yaml",
            key="scopes",
            problem=f"no context scope for {', '.join(missing)}: every agent role needs one for "
            f"each of {', '.join(phases)}",
        )
