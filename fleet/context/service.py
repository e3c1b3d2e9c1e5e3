"""The context engine: digests kept current from the timeline, packs cached until a story changes.

Flow of ``pack(story, role, phase, task)``:

1. load the story's digest (memory, else the scratch store, else empty);
2. read only the events after the digest's last entry id and fold them in
   (one short range read; nothing new means nothing to do);
3. serve the cached pack if it was built at that same last entry id, else
   build it and cache it (memory and the store).

Because digest and packs live in the store (Redis scratch keys), a restarted
service serves the same pack from storage alone; because the cache key is the
story's last entry id, any new event of that story invalidates its packs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from fleet.context.builder import ContextBuilder
from fleet.context.compress import llm_summary
from fleet.context.digest import StoryDigest
from fleet.contracts import ContextPack
from fleet.errors import NotFound
from fleet.ports import ChatModel, DecisionGraph, EventLog

MEMO_MAX = 5000  # token counts of rendered lines kept in a digest


def _fingerprint(repo: Mapping[str, str]) -> str:
    h = hashlib.blake2b(digest_size=8)
    for path in sorted(repo):
        h.update(path.encode() + b"\0" + repo[path].encode() + b"\0")
    return h.hexdigest()


class Scratch(Protocol):
    """Short-lived keys with a TTL (``RedisEventLog`` provides them)."""

    def set_scratch(self, key: str, value: str, ttl_s: int | None = None) -> None: ...

    def get_scratch(self, key: str) -> str | None: ...


class MemoryScratch:
    """Scratch store in process memory (unit tests, or when no Redis is configured)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def set_scratch(self, key: str, value: str, ttl_s: int | None = None) -> None:
        self.data[key] = value

    def get_scratch(self, key: str) -> str | None:
        return self.data.get(key)


class ContextEngine:
    """Packs for (story, role, phase, task) from an event log, a graph and a scratch store."""

    ttl_s = 7 * 86_400  # how long stored digests and packs live (a story idle a week rebuilds)

    def __init__(
        self, log: EventLog, builder: ContextBuilder, *, store: Scratch | None = None,
        graph: DecisionGraph | None = None, summarizer: ChatModel | None = None,
        summary_every: int = 200,
    ) -> None:  # fmt: skip
        self.log, self.builder, self.graph, self.summarizer = log, builder, graph, summarizer
        self.store: Scratch = store or (log if hasattr(log, "get_scratch") else MemoryScratch())  # type: ignore[assignment]
        self.summary_every = summary_every
        self._digests: dict[str, StoryDigest] = {}
        self._packs: dict[str, tuple[str, ContextPack]] = {}
        self._lock = threading.Lock()
        self.stats = {"hits": 0, "builds": 0, "events_folded": 0}

    @staticmethod
    def digest_key(story_id: str) -> str:
        return f"context:digest:{story_id}"

    @staticmethod
    def pack_key(story_id: str, role: str, phase: str, task_id: str | None) -> str:
        return f"context:pack:{story_id}:{role}:{phase}:{task_id or '-'}"

    def digest(self, story_id: str) -> StoryDigest:
        """The story's digest, brought up to date with its timeline (and stored)."""
        with self._lock:
            digest, changed = self._refresh(story_id)
            if changed:
                self._save(digest)
            return digest

    def _save(self, digest: StoryDigest) -> None:
        self.store.set_scratch(self.digest_key(digest.story_id), digest.to_json(), self.ttl_s)

    def _refresh(self, story_id: str) -> tuple[StoryDigest, bool]:
        """The digest with every new event folded in, and whether it changed (the caller stores it)."""
        digest = self._digests.get(story_id)
        fresh = False
        if digest is None:
            stored = self.store.get_scratch(self.digest_key(story_id))
            digest = StoryDigest.from_json(stored) if stored else None
            if digest is None:
                digest, fresh = StoryDigest(story_id), True
        new = self.log.read(story_id, after=digest.last_id)
        folded = digest.apply_all(new)
        if fresh and self.graph is not None:
            folded += digest.merge_graph_decisions(self.graph.decisions(story_id))
        if (
            self.summarizer is not None
            and digest.s["events"] - digest.s.get("summary_at", 0) >= self.summary_every
        ):
            folded += llm_summary(self.summarizer, digest)
        if folded:
            self.stats["events_folded"] += len(new)
        self._digests[story_id] = digest
        return digest, bool(folded)

    def pack(
        self,
        story_id: str,
        role: str,
        phase: str,
        task_id: str | None = None,
        *,
        repo: Mapping[str, str] | None = None,
        repo_key: str = "",
    ) -> ContextPack:
        """The pack for ``role`` in ``phase`` (and ``task_id``), cached until the story changes.

        ``repo`` (path -> text at the task's base commit; ``repo_key`` names it, e.g. the commit)
        feeds the repository map and code sections.

        Raises:
            UnknownName: no scope for this role/phase.
            NotFound: unknown story or task.
            StorageUnavailable: Redis or the graph cannot be reached.
        """
        self.builder.scope(role, phase)  # fail fast on a bad role/phase, before any I/O
        with self._lock:
            digest, changed = self._refresh(story_id)
            if not digest.s["events"]:
                raise NotFound(what="story", id=story_id)
            key = self.pack_key(story_id, role, phase, task_id)
            if repo:
                key += ":" + (repo_key or _fingerprint(repo))
            pack = self._cached(key, digest.last_id)
            if pack is not None:
                self.stats["hits"] += 1
            else:
                memo = digest.s.setdefault("tc", {})  # the builder counts lines into it
                if len(memo) > MEMO_MAX:  # lines of long-gone events: start over, do not grow
                    memo.clear()
                known = len(memo)
                pack = self.builder.build(digest, role, phase, task_id=task_id, repo=repo)
                changed = (
                    changed or len(memo) != known
                )  # new line counts are worth keeping for the next pack
                self.stats["builds"] += 1
                self._packs[key] = (digest.last_id, pack)
                self.store.set_scratch(
                    key,
                    json.dumps({"at": digest.last_id, "pack": pack.model_dump_json()}),
                    self.ttl_s,
                )
            if changed:  # one write per pack: folded events and new token counts together
                self._save(digest)
            return pack

    def _cached(self, key: str, last_id: str) -> ContextPack | None:
        hit = self._packs.get(key)
        if hit is not None and hit[0] == last_id:
            return hit[1]
        stored = self.store.get_scratch(key)
        if stored:
            raw: dict[str, Any] = json.loads(stored)
            if raw.get("at") == last_id:
                pack = ContextPack.model_validate_json(raw["pack"])
                self._packs[key] = (last_id, pack)
                return pack
        return None

    def forget(self) -> None:
        """Drop in-memory state (what a restart does); storage is untouched."""
        with self._lock:
            self._digests.clear()
            self._packs.clear()
