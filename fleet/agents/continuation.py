"""The request that gets a body-less function written: its file (or, for a long file, the part
around it) and a reply begun with the function's head, which the model continues
(``fleet.agents.stubs``: small models copy a stub back unchanged when asked for an edit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fleet.agents.stubs import Stub, prefix
from fleet.agents.testsource import failing_tests
from fleet.contracts import ChatMessage
from fleet.prompts import render

# the file in a continuation request, at most, unless the model's profile says otherwise (a
# 0.5B model's context is small)
CONTINUE_CHARS = 6000


def around(text: str, stub: Stub, chars: int = CONTINUE_CHARS) -> str:
    """``text`` (the stub's file), or for a file over ``chars`` its imports and the lines around
    the stub (more_itertools/more.py is ~47k tokens: the whole file overflowed the model's
    context)."""
    text = text.rstrip()
    if len(text) <= chars:
        return text
    lines = text.split("\n")
    imports = [ln for ln in lines if ln.startswith(("import ", "from "))][:30]
    first = stub.head.split("\n")[0]
    at = next(
        (i for i, ln in enumerate(lines) if ln.startswith(first)), len(lines) if stub.why else 0
    )
    window: list[str] = []
    used = 0
    for ln in reversed(lines[max(0, at - 200) : at]):
        used += len(ln) + 1
        if used > chars // 2:
            break
        window.insert(0, ln)
    head = [] if stub.why else [*stub.head.split("\n"), "# ..."]  # a new function: the file's end
    return "\n".join([*imports, "", "# ...", *window, *head])


def continue_request(
    stub: Stub, files: Mapping[str, str], notes: Sequence[str] = (), chars: int = CONTINUE_CHARS
) -> list[ChatMessage]:
    """A focused request to write ``stub``'s body: its file (``chars`` at most: ``around``), and
    the reply begun with the stub (in the long edit-format conversation the model keeps closing
    the function unchanged); ``notes``: what an earlier attempt got wrong."""
    what = (
        render("author.continue_new", name=stub.name, path=stub.path, task=stub.why[:1500])
        if stub.why
        else render("author.continue_stub", name=stub.name, path=stub.path)
    )
    ask = render(
        "author.continue_request",
        what=what,
        code=around(files[stub.path], stub, chars),
        notes="".join(render("author.continue_note", note=n[:300]) for n in notes[:4]),
        tests="".join(render("author.continue_test", test=t) for t in failing_tests(files, notes)),
        name=stub.name,
        goal=render("author.goal_new" if stub.why else "author.goal_stub"),
    )
    return [
        ChatMessage(role="system", content=render("author.system")),
        ChatMessage(role="user", content=ask),
        ChatMessage(role="assistant", content=prefix(stub)),
    ]
