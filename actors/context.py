"""The context service actor: a thin shell around ``fleet.context.ContextEngine``.

Everything that must survive a restart (digests, cached packs) lives in Redis
scratch keys, so a restarted actor serves the same pack from storage alone.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from actors.builder import ActorOptions, build
from fleet.contracts import ContextPack

ACTOR_NAME = "context"
REPOS_KEPT = 8


class ContextService:
    """Builds role/phase context packs from the Redis timeline and the decision graph.

    The constructor is cheap; connections and the tokenizer are made on ``start()``
    (called lazily by the first request).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        graph: str | dict[str, Any] | None = "fleet",
        prefix: str = "fleet",
        storage_patience_s: float = 0.0,
    ) -> None:
        self.redis_url, self.graph_name, self.prefix = redis_url, graph, prefix
        self.storage_patience_s = storage_patience_s
        self._engine: Any = None
        self._repos: dict[str, dict[str, str]] = {}  # commit -> files (bounded)
        # The actor is threaded: after a restart several packs arrive at once, and each must
        # not build (and load the tokenizer for) an engine of its own.
        self._starting = threading.Lock()

    def start(self) -> None:
        """Connect to Redis (and the graph) and load the serving model's tokenizer."""
        if self._engine is not None:
            return
        with self._starting:
            if self._engine is None:
                self._engine = self._build()

    def _build(self) -> Any:
        from fleet.adapters import registry
        from fleet.adapters.gguf_tokenizer import GGUFTokenizer
        from fleet.config import load
        from fleet.context import ContextBuilder, ContextEngine
        from fleet.context.builder import require_scopes

        scopes = load("scopes.yaml")
        require_scopes(scopes, load("roles.yaml").agent_roles())
        log = registry.event_log(
            self.redis_url, prefix=self.prefix, patience_s=self.storage_patience_s
        )
        graph = None
        if self.graph_name:  # a name (fleet.yaml's backend) or a full graph config
            graph = registry.decision_graph(
                self.graph_name, redis_url=self.redis_url, patience_s=self.storage_patience_s
            )
        return ContextEngine(log, ContextBuilder(scopes, GGUFTokenizer()), graph=graph)

    def pack(
        self,
        story_id: str,
        role: str,
        phase: str,
        task_id: str | None = None,
        repo: str | None = None,
        ref: str | None = None,
    ) -> ContextPack:
        """The context pack for ``role`` in ``phase`` (see ``ContextEngine.pack``); with ``repo``
        (a local git repository) and ``ref``, it holds the repository map and the relevant code
        at that commit."""
        self.start()
        if not repo:
            return self._engine.pack(story_id, role, phase, task_id)
        commit, files = self.repository(repo, ref)
        return self._engine.pack(story_id, role, phase, task_id, repo=files, repo_key=commit)

    def repository(self, repo: str, ref: str | None = None) -> tuple[str, dict[str, str]]:
        """(commit, path -> text) of ``repo`` at ``ref``, read once per commit."""
        from fleet.adapters.git_repo import GitRepo

        git = GitRepo(repo)
        commit = git.commit(ref or "HEAD")
        if commit not in self._repos:
            if len(self._repos) >= REPOS_KEPT:
                self._repos.pop(next(iter(self._repos)))
            self._repos[commit] = git.files(commit)
        return commit, self._repos[commit]

    def stats(self) -> dict[str, int]:
        """Cache hits, pack builds and events folded since this process (``pid``) started."""
        self.start()
        return {**self._engine.stats, "pid": os.getpid()}

    def check_health(self) -> dict[str, Any]:
        """Whether Redis (and the graph) answer and the tokenizer is loaded; never raises."""
        try:
            self.start()
        except Exception as exc:  # health reports the failure instead of raising it
            return {"ok": False, "error": str(exc)}
        redis_ok = bool(self._engine.log.ping())
        graph_ok = self._engine.graph.ping() if self._engine.graph is not None else None
        return {"ok": redis_ok and graph_ok is not False, "redis": redis_ok, "graph": graph_ok,
                "tokenizer": getattr(self._engine.builder.tokenizer, "name", "?")}  # fmt: skip


def build_context_service(
    redis_url: str, *, name: str = ACTOR_NAME, namespace: str | None = None, **kwargs: Any
) -> Any:
    """The named, detached, restartable context actor (``get_if_exists``)."""
    opts = ActorOptions(name=name, max_task_retries=3, max_concurrency=8)
    if namespace:
        opts = ActorOptions(name=name, namespace=namespace, max_task_retries=3, max_concurrency=8)
    return build(ContextService, opts, redis_url, **kwargs)
