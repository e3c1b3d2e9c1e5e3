"""The words of a :class:`fleet.progress.Progress`: the ``fleet run`` status line and the
report's Progress section (the UI renders the same JSON itself)."""

from __future__ import annotations

from fleet.progress import Progress


def duration(seconds: float | None) -> str:
    """``75`` -> ``1 min 15 s``; None -> ``?``."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def budget_text(p: Progress) -> str:
    """Tokens (and time, when there is a limit) spent and left, in one phrase."""
    tokens = f"tokens {p.tokens_spent:,}"
    if p.tokens_limit is not None:
        tokens += f" of {p.tokens_limit:,} ({p.tokens_left:,} left)"
    time = f"time {duration(p.elapsed_s)}"
    if p.time_limit_s is not None:
        time += f" of {duration(p.time_limit_s)} ({duration(p.time_left_s)} left)"
    return f"{tokens} · {time}"


def estimate_text(p: Progress) -> str:
    if p.outcome or p.state == "DONE":
        return f"nothing left: the story ended ({p.outcome or 'done'})"
    if p.estimate_s is None:
        return p.estimate_note
    return f"about {duration(p.estimate_s)} left (from {p.estimate_note})"


def status_line(p: Progress) -> str:
    """One line for ``fleet run``: the step and its time, the budget, the estimate."""
    step = p.steps[-1] if p.steps else None
    head = f"{step.state} {duration(step.work_s)}" if step and step.ended_ms is None else p.state
    return f"  [{head} · {budget_text(p)} · {estimate_text(p)}]"


def markdown(p: Progress) -> list[str]:
    """The report's Progress section."""
    out = [
        "## Progress",
        "",
        f"{'Last' if p.outcome else 'Now'}: {p.now}",
        "",
        f"Budget: {budget_text(p)}"
        + (f"; cost {p.cost_spent:.4f} of {p.cost_limit:g}" if p.cost_limit is not None else ""),
        "",
        f"Estimate: {estimate_text(p)}",
        "",
        "| step | working time | waiting for the PO |",
        "|---|---|---|",
    ]
    for s in p.steps:
        mark = " (now)" if s.ended_ms is None and not p.outcome else ""
        out.append(f"| {s.state}{mark} | {duration(s.work_s)} | {duration(s.waited_s)} |")
    return [*out, ""]
