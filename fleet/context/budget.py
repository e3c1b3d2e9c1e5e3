"""Fit section drafts into a token budget, in priority order, counted with the real tokenizer.

Greedy by section priority, then by each section's keep order; an item that
does not fit whole is cut to what remains (``Tokenizer.truncate``). The result
is then counted as rendered and trimmed until it is within budget, so the
budget holds exactly, not on an estimate. A draft with ``shown`` spends its budget as if
whole, then shows only its first items: the pack as built, cut (the developer's located code).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from fleet.context.sections import Draft
from fleet.contracts import ContextSection
from fleet.ports import Tokenizer

MIN_CUT = 24  # below this many spare tokens a cut item says too little to be worth it


@dataclass
class Fitted:
    sections: list[ContextSection]
    token_count: int
    dropped: list[str] = field(default_factory=list)


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _counts(tok: Tokenizer, texts: list[str], memo: dict[str, int] | None = None) -> list[int]:
    """Token counts, reusing ``memo`` (stable hash -> count) for lines counted before."""
    keys = [_key(t) for t in texts] if memo is not None else []
    missing = (
        [t for t, k in zip(texts, keys, strict=True) if k not in memo]
        if memo is not None
        else texts
    )
    many = getattr(tok, "count_many", None)
    fresh = list(many(missing)) if many else [tok.count(t) for t in missing]
    if memo is None:
        return fresh
    memo.update(zip((_key(t) for t in missing), fresh, strict=True))
    return [memo[k] for k in keys]


def _render(name: str, items: list[str]) -> str:
    return f"## {name}\n" + "\n".join(items)


def _pick(
    draft: Draft, costs: list[int], head: int, left: int, tok: Tokenizer
) -> tuple[dict[int, str], bool]:
    """Items of one draft that fit in ``left`` tokens (+1 per line break); whether any was lost."""
    chosen: dict[int, str] = {}
    left -= head
    for i in draft.keep:
        cost = costs[i] + 1
        if cost <= left:
            chosen[i], left = draft.items[i], left - cost
        elif left - 2 >= MIN_CUT:
            chosen[i] = tok.truncate(draft.items[i], left - 2) + "…"
            left = 0
        else:
            continue
    return chosen, len(chosen) < len(draft.items) or any(
        chosen[i] != draft.items[i] for i in chosen
    )


def _used(draft: Draft, chosen: dict[int, str], own: list[int], head: int, tok: Tokenizer) -> int:
    """Tokens ``chosen`` of ``draft`` take with its heading and the blank line after it."""
    return (
        head
        + 2
        + sum(
            own[i] + 1 if chosen[i] == draft.items[i] else tok.count(chosen[i]) + 1 for i in chosen
        )
    )


def fit(
    drafts: list[Draft], budget: int, tok: Tokenizer, memo: dict[str, int] | None = None
) -> Fitted:
    """Keep what fits in ``budget`` tokens; list every section dropped or shortened.

    ``memo`` (line hash -> token count) lets unchanged lines skip the tokenizer: a story's
    digest carries it, so only lines that changed since the last pack are tokenized.
    """
    heads = [f"## {d.name}\n" for d in drafts]
    costs = _counts(
        tok, heads + [it for d in drafts for it in d.items], memo
    )  # one batch for every line
    pos, left = len(drafts), budget
    kept: list[tuple[Draft, dict[int, str], int]] = []
    dropped: list[str] = []
    for draft, head in zip(drafts, costs, strict=False):
        own = costs[pos : pos + len(draft.items)]
        pos += len(draft.items)
        chosen, lost = _pick(draft, own, head + 2, left, tok)  # +2: blank line between sections
        if not chosen:
            dropped.append(draft.name)
            continue
        if lost:
            dropped.append(
                f"{draft.name} (shortened: kept {len(chosen)} of {len(draft.items)} items)"
            )
        used = _used(draft, chosen, own, head, tok)
        left -= used
        if draft.shown is not None:  # cut once its budget is spent: the rest is not refilled
            chosen = {i: c for i, c in chosen.items() if i < draft.shown}
            used = _used(draft, chosen, own, head, tok)
            if not chosen:
                dropped.append(draft.name)
                continue
        kept.append((draft, chosen, used))
    return _exact(kept, dropped, budget, tok)


def _exact(
    kept: list[tuple[Draft, dict[int, str], int]], dropped: list[str], budget: int, tok: Tokenizer
) -> Fitted:
    """Count the rendered pack; if merges across lines pushed it over, drop the least important items."""
    while True:
        rendered = [(d, [c[i] for i in sorted(c)], used) for d, c, used in kept]
        total = tok.count("\n\n".join(_render(d.name, items) for d, items, _ in rendered))
        if total <= budget or not kept:
            break
        draft, chosen, used = kept[-1]
        least = next(i for i in reversed(draft.keep) if i in chosen)
        del chosen[least]
        dropped[:] = [x for x in dropped if not x.startswith(f"{draft.name} (")]
        if not chosen:
            kept.pop()
            dropped.append(draft.name)
        else:
            dropped.append(
                f"{draft.name} (shortened: kept {len(chosen)} of {len(draft.items)} items)"
            )
    sections = [  # tokens: the section's accounted share (its lines + line breaks), an upper bound
        ContextSection(name=d.name, content="\n".join(items), tokens=used, priority=p)
        for p, (d, items, used) in enumerate(rendered)
    ]
    return Fitted(sections=sections, token_count=total, dropped=dropped)
