"""Members of one role answer a phase one after another; different roles answer together.

Members of a role read the same prompt up to their name and job (``council.identity``), so a
llama.cpp engine evaluates that prefix once when their requests come one at a time: a request
reuses a prefix only when it lands on an idle slot that holds it, and requests sent together
each evaluate the whole prompt (``bench_models.py --part members``: ``members_sequential_gain``
2.08 for three members on one ~2,000-token prefix). Roles have different prompts and, in the
default routing, different engines, so they still run together.

A member that is slow must not starve the rest of its role: once a call has run for its share
of the phase timeout (the timeout divided by one more than the role's calls) without answering,
the role's remaining calls all start, alongside it, so each still has most of the phase. A call
that has not started by the deadline is not sent.

A phase whose answers fall short of what it needs at the deadline (``needed``: the quorum less
the members that count without answering) waits on for the calls still running, up to one more
timeout, until enough have answered: when most members miss the deadline the machine is slow, not
one member, and a lost quorum costs a whole council convened again. (On two cores, four 1.5B
members' critiques in a story's second council answered 38-71 s after the 600 s deadline at
which that council had lost its quorum.)

The scheduler is pure: the Gather gives it ``start`` (send call *i*, return a handle) and
``wait`` (the handles among those given that finish within *t* seconds, returning as soon as one
has). ``fleet/council/local.py`` runs it on threads, ``actors/council.py`` on Ray refs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

H = TypeVar("H", bound=Hashable)

_NUMBERED = re.compile(r"^(?P<role>.+)-\d+$")


def role_key(member: str) -> str:
    """``developer-2`` -> ``developer``; a member id without a number is its own group."""
    m = _NUMBERED.match(member)
    return m.group("role") if m else member


def chains(asked: Mapping[int, str]) -> list[list[int]]:
    """The calls of ``asked`` (call index -> member) grouped by role, in the calls' order."""
    groups: dict[str, list[int]] = {}
    for i, member in sorted(asked.items()):
        groups.setdefault(role_key(member), []).append(i)
    return list(groups.values())


@dataclass
class Sent(Generic[H]):
    """What the scheduler sent: handle per call index, and the handles that finished in time."""

    handles: dict[int, H] = field(default_factory=dict)
    finished: set[H] = field(default_factory=set)

    def late(self) -> list[int]:
        """Indices sent but not finished by the deadline."""
        return [i for i, h in self.handles.items() if h not in self.finished]


@dataclass(frozen=True)
class Phase:
    """How long a phase's calls have (``timeout`` seconds), and how many answers it needs to go
    on (``needed``: it waits up to one more ``timeout`` while fewer calls have finished; a call
    that finished with an error counts, as the scheduler cannot tell answers from errors)."""

    timeout: float
    needed: int = 0


def cascade(
    asked: Mapping[int, str],
    phase: Phase,
    *,
    start: Callable[[int], H],
    wait: Callable[[list[H], float], set[H]],
    on_sent: Callable[[], None] = lambda: None,
    clock: Callable[[], float] = time.monotonic,
) -> Sent[H]:
    """Send the calls of ``asked`` (call index -> member), each role's one after another, within
    the ``phase``'s timeout, and past it while fewer than it needs have answered.

    ``on_sent`` runs once the first call of every role is out."""
    timeout = phase.timeout
    deadline = clock() + timeout
    groups = chains(asked)
    sent: Sent[H] = Sent()
    running: set[H] = set()
    nxt = [0] * len(groups)  # the next call of each group to send
    share = [timeout / (len(g) + 1) for g in groups]

    def send(g: int) -> tuple[H, float]:
        i = groups[g][nxt[g]]
        nxt[g] += 1
        h = start(i)
        sent.handles[i] = h
        running.add(h)
        return h, clock()

    head = [send(g) for g in range(len(groups))]  # each group's last sent call and when
    on_sent()
    while running:
        now = clock()
        if now >= deadline:
            break
        waiting = [g for g in range(len(groups)) if nxt[g] < len(groups[g])]
        until = min([deadline, *(head[g][1] + share[g] for g in waiting)])
        done = wait(list(running), until - now) if until > now else set()
        sent.finished |= done
        running -= done
        now = clock()
        for g in waiting:
            h, since = head[g]
            if now >= deadline:
                continue
            if h in sent.finished:
                head[g] = send(g)
            elif now >= since + share[g]:  # slow: the rest of the role goes now, together
                while nxt[g] < len(groups[g]):
                    head[g] = send(g)
    if running:  # finished while the loop was deciding to stop
        done = wait(list(running), 0.0)
        sent.finished |= done
        running -= done
    grace = deadline + timeout  # short of the quorum: wait on for the calls still running
    while running and len(sent.finished) < phase.needed and (now := clock()) < grace:
        done = wait(list(running), grace - now)
        sent.finished |= done
        running -= done
    return sent
