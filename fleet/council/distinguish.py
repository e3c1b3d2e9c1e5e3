"""Selection by distinguishing inputs: run passing candidates that differ on inputs that separate them.

Two candidates that both pass the evidence suite but have different code may still behave
differently; the suite cannot tell which is right. QA is shown their changes and asked for calls
of the changed functions on which they would return different values (S*, Li et al. 2025); the
calls run on each candidate in the sandbox through the council's evidencer, as probes (they
assert nothing, ``fleet/evidence/probes.py``), and what each candidate did joins its evidence
(``Evidence.observed``). Candidates whose outputs differ are then shown side by side to the
voters (:func:`table`), who judge on the outputs; where every passing candidate does the same on
every input, the evidence decides and no ballot is asked (``fleet/council/selection.py``).

Pure: the model call is the member's, the runs the evidencer's (``fleet/council/stages.py``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fleet.contracts import Evidence, Proposal
from fleet.evidence.acceptance import FINDER
from fleet.evidence.probes import probe_module
from fleet.evidence.suite import EvidenceSuite, strip_paths
from fleet.prompts import render

WANTED = 6  # inputs asked for
MAX_INPUTS = 8  # inputs kept at most (a reply may ignore the count)
TOKENS = 240  # six short calls; a cut reply loses only its last line
DIFF_CHARS = 1_200  # characters of one candidate's change shown to QA
MAX_ROWS = 6  # differing inputs shown to a voter
_OUT = 60  # characters of one output in the voters' table
_DEF = re.compile(r"^[ +-](?:async )?def (\w+)\(")
_HEADER_DEF = re.compile(r"@@ (?:async )?def (\w+)\(")


def own_edits(proposal: Proposal, suite: EvidenceSuite) -> str:
    """A candidate's own edits (without the suite's files every candidate carries)."""
    return strip_paths(proposal.patch.diff, suite)[0] if proposal.patch else ""


def distinct(proposals: Sequence[Proposal], suite: EvidenceSuite) -> list[Proposal]:
    """``proposals`` with one of each different change (the first), in order."""
    seen: dict[str, Proposal] = {}
    for p in proposals:
        seen.setdefault(own_edits(p, suite), p)
    return list(seen.values())


def functions(diffs: Sequence[str], *, limit: int = 3) -> list[str]:
    """Top-level functions whose lines the candidates' changes (``diffs``) add, remove or edit:
    each changed line belongs to the last ``def`` above it (in the hunk, or named by the hunk
    header), until a changed line at the top level."""
    names: list[str] = []
    for diff in diffs:
        current: str | None = None
        for line in diff.splitlines():
            if line.startswith(("+++", "---", "diff ", "index ")):
                continue
            if line.startswith("@@"):
                found = _HEADER_DEF.search(line)
                current = found.group(1) if found else None
                continue
            defined = _DEF.match(line)
            if defined:
                current = defined.group(1)
            changed = line[:1] in ("+", "-") and line[1:].strip()
            if changed and not defined and not line[1:2].isspace():
                current = None  # a top-level statement: outside any function
            if changed and current and current not in names and not current.startswith("test"):
                names.append(current)
    return names[:limit]


def job(task: str, funcs: Sequence[str], shown: Sequence[tuple[str, str]]) -> str:
    """QA's request: the task, each differing candidate's change, the form of the reply."""
    parts = [render("distinguish.task", task=task)]
    parts += [
        render("distinguish.candidate", number=i, author=author, diff=diff[:DIFF_CHARS])
        for i, (author, diff) in enumerate(shown, 1)
    ]
    calls = render("distinguish.or").join(funcs)
    parts.append(render("distinguish.ask", wanted=WANTED, funcs=calls, name=funcs[0]))
    return "\n\n".join(parts)


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def calls(reply: str, funcs: Sequence[str], *, limit: int = MAX_INPUTS) -> list[str]:
    """The reply's calls of ``funcs`` with literal arguments only, re-written from the parsed
    values (nothing of the reply's text but data reaches the sandbox), new ones only."""
    out: list[str] = []
    for raw in reply.splitlines():
        text = raw.strip().lstrip("-*0123456789.) ").strip("`").strip()
        text = text.split(" returns ", 1)[0].split("  #", 1)[0].strip().rstrip(";,")
        try:
            node = ast.parse(text, mode="eval").body
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in funcs or not all(_literal(a) for a in node.args):
            continue
        if any(k.arg is None or not _literal(k.value) for k in node.keywords):
            continue
        args = [repr(ast.literal_eval(a)) for a in node.args]
        args += [f"{k.arg}={ast.literal_eval(k.value)!r}" for k in node.keywords]
        call = f"{node.func.id}({', '.join(args)})"
        if call not in out and len(call) <= 200:
            out.append(call)
        if len(out) >= limit:
            break
    return out


def probe_suite(suite: EvidenceSuite, inputs: Sequence[str], *, name: str) -> EvidenceSuite | None:
    """A suite of only the probes of ``inputs`` (the task's other tests are not run again);
    None without inputs. The candidates' edits to the suite's files are ignored as ever."""
    tests_dir = next(iter(suite.probes), "tests/x.py").rsplit("/", 1)[0]
    module = probe_module(inputs, FINDER.format(depth=tests_dir.count("/") + 1))
    if module is None:
        return None
    path = f"{tests_dir}/test_{name}_distinguish.py"
    return EvidenceSuite(
        test_paths=(path,),
        protected=suite.protected,
        probes={path: module},
        timeout_s=suite.timeout_s,
    )


def merged(evidence: Evidence, seen: Evidence) -> Evidence:
    """``evidence`` with what ``seen`` (a probe-only run) observed added to its observations."""
    return evidence.model_copy(update={"observed": {**evidence.observed, **seen.observed}})


def differing(observed: Mapping[Any, Mapping[str, str]]) -> list[str]:
    """The inputs on which the candidates (id -> input -> what it did) did not all do the same."""
    inputs = list(dict.fromkeys(k for seen in observed.values() for k in seen))
    return [k for k in inputs if len({seen.get(k) for seen in observed.values()} - {None}) > 1]


def alike(evidence: Sequence[Evidence | None]) -> bool:
    """Every candidate did the same as every other on every input both were run on."""
    seen = [e.observed if e is not None else {} for e in evidence]
    return not differing(dict(enumerate(seen)))


def passes(evidence: Evidence | None, advisory: Sequence[str] = ()) -> bool:
    """The run has test results and fails none of them (QA's advisory examples aside)."""
    if evidence is None or not evidence.tests:
        return False
    return all(t.passed or any(t.test_id.startswith(a) for a in advisory) for t in evidence.tests)


def table(
    proposals: Sequence[Proposal],
    evidence: Sequence[Evidence],
    advisory: Sequence[str] = (),
    before: Mapping[str, str] | None = None,
) -> str:
    """For voters: the inputs on which the shown candidates that pass their tests did different
    things, side by side, numbered as the voters' listing, then what the base commit did there
    (``before``) ("" when they all did the same)."""
    by_id = {e.proposal_id: e for e in evidence}
    observed = {
        i: by_id[p.id].observed
        for i, p in enumerate(proposals, 1)
        if passes(by_id.get(p.id), advisory)
    }
    if len(observed) < 2:
        return ""
    rows = []
    for call in differing(observed)[:MAX_ROWS]:
        outputs = render("distinguish.sep").join(
            render("distinguish.output", number=i, observed=seen[call][:_OUT])
            for i, seen in observed.items()
            if call in seen
        )
        if before and call in before:
            was = render("distinguish.before", observed=before[call][:_OUT])
            outputs += render("distinguish.sep") + was
        rows.append(render("distinguish.row", call=call, outputs=outputs))
    return render("distinguish.table", rows="\n".join(rows)) if rows else ""
