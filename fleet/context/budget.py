"""Fit section drafts into a token budget, in priority order, counted with the real tokenizer.

Greedy by section priority, then by each section's keep order; an item that
does not fit whole is cut to what remains (``Tokenizer.truncate``). The result
is then counted as rendered and trimmed until it is within budget, so the
budget holds exactly, not on an estimate.
"""

from __future__ import annotations

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


def _counts(tok: Tokenizer, texts: list[str]) -> list[int]:
    many = getattr(tok, "count_many", None)
    return list(many(texts)) if many else [tok.count(t) for t in texts]


def _render(name: str, items: list[str]) -> str:
    return f"## {name}\n" + "\n".join(items)


def _pick(draft: Draft, costs: list[int], head: int, left: int, tok: Tokenizer) -> tuple[dict[int, str], bool]:
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
    return chosen, len(chosen) < len(draft.items) or any(chosen[i] != draft.items[i] for i in chosen)


def fit(drafts: list[Draft], budget: int, tok: Tokenizer) -> Fitted:
    """Keep what fits in ``budget`` tokens; list every section dropped or shortened."""
    left = budget
    kept: list[tuple[Draft, dict[int, str]]] = []
    dropped: list[str] = []
    for draft in drafts:
        if left < MIN_CUT:  # nothing useful fits: do not even tokenize the rest
            dropped.append(draft.name)
            continue
        head, *own = _counts(tok, [f"## {draft.name}\n", *draft.items])
        chosen, lost = _pick(draft, own, head + 2, left, tok)  # +2: blank line between sections
        if not chosen:
            dropped.append(draft.name)
            continue
        if lost:
            dropped.append(f"{draft.name} (shortened: kept {len(chosen)} of {len(draft.items)} items)")
        left -= head + 2 + sum(own[i] + 1 if chosen[i] == draft.items[i] else tok.count(chosen[i]) + 1 for i in chosen)
        kept.append((draft, chosen))
    return _exact(kept, dropped, budget, tok)


def _exact(kept: list[tuple[Draft, dict[int, str]]], dropped: list[str], budget: int, tok: Tokenizer) -> Fitted:
    """Count the rendered pack; if merges across lines pushed it over, drop the least important items."""
    while True:
        rendered = [(d, [c[i] for i in sorted(c)]) for d, c in kept]
        texts = [_render(d.name, items) for d, items in rendered]
        total, *per_section = _counts(tok, ["\n\n".join(texts), *texts])
        if total <= budget or not kept:
            break
        draft, chosen = kept[-1]
        least = next(i for i in reversed(draft.keep) if i in chosen)
        del chosen[least]
        dropped[:] = [x for x in dropped if not x.startswith(f"{draft.name} (")]
        if not chosen:
            kept.pop()
            dropped.append(draft.name)
        else:
            dropped.append(f"{draft.name} (shortened: kept {len(chosen)} of {len(draft.items)} items)")
    sections = [
        ContextSection(name=d.name, content="\n".join(items), tokens=n, priority=p)
        for p, ((d, items), n) in enumerate(zip(rendered, per_section, strict=True))
    ]
    return Fitted(sections=sections, token_count=total, dropped=dropped)
