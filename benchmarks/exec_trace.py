"""How a report's example runs on the current code, line by line in one function: the lines run,
the local values each line changed, what it yielded, returned or raised (an execution trace, as
NExT and self-debugging show a model; for ``bench_trace.py``).

:data:`TRACER` runs inside bubblewrap over the task's tree (``harness.sandbox_python``): the
repository's code is never run on the host. It prints one JSON line; :func:`render` turns it
into the section shown to the developer, cut to ``HEAD`` lines from the start and ``TAIL`` from
the end (a loop's later turns are where an off-by-one shows).
"""

from __future__ import annotations

import json
import re
from typing import Any

HEAD, TAIL = 40, 20
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # an object's address: noise to a reader
VALUE_CHARS = 60

# {name}: the function's own name (a method's last part); {module}: its file, a path suffix
TRACER = r"""
import json, linecache, sys
NAME, MODULE, LIMIT, WIDTH = {name!r}, {module!r}, 2000, {width}
rows, state = [], {{}}

def short(value):
    try:
        text = repr(value)
    except Exception as exc:
        text = "<unrepresentable: %s>" % type(exc).__name__
    return text if len(text) <= WIDTH else text[:WIDTH - 3] + "..."

def local(frame, event, arg):
    if len(rows) >= LIMIT:
        return None
    now = {{k: short(v) for k, v in frame.f_locals.items()}}
    if event == "call" and id(frame) not in state:
        rows.append({{"kind": "call", "value": ", ".join("%s=%s" % kv for kv in now.items())}})
    prev = state.get(id(frame), {{}})
    changed = {{k: v for k, v in now.items() if prev.get(k) != v}}
    state[id(frame)] = now
    if rows and changed and rows[-1]["kind"] == "line":
        rows[-1]["set"] = changed
    if event == "line":
        text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).rstrip()
        rows.append({{"kind": "line", "at": frame.f_lineno, "text": text}})
    elif event == "return" and rows and rows[-1]["kind"] == "raise" and arg is None:
        pass  # the frame left by the exception just recorded, not by a return
    elif event == "return":
        yielding = bool(frame.f_code.co_flags & 0x20) and arg is not None  # a generator
        rows.append({{"kind": "yield" if yielding else "return", "value": short(arg)}})
    elif event == "exception":
        rows.append({{"kind": "raise", "value": "%s: %s" % (arg[0].__name__, str(arg[1])[:WIDTH])}})
    return local

def tracer(frame, event, arg):
    code = frame.f_code
    if code.co_name == NAME and code.co_filename.replace("\\", "/").endswith(MODULE):
        return local(frame, event, arg) and local
    return None

{setup}
sys.settrace(tracer)
try:
    shown = repr({expr})
except Exception as exc:
    shown = "%s: %s" % (type(exc).__name__, str(exc)[:200])
finally:
    sys.settrace(None)
print("TRACE " + json.dumps({{"rows": rows, "shown": shown, "cut": len(rows) >= LIMIT}}))
"""


def script(target: str, module: str, setup: str, expr: str) -> str:
    """The tracer's source for ``expr`` (after ``setup``) in ``target`` of ``module``."""
    name = target.rsplit(".", 1)[-1]
    return TRACER.format(name=name, module=module, width=VALUE_CHARS, setup=setup, expr=expr)


def parse(stdout: str) -> dict[str, Any] | None:
    """The tracer's JSON line (its last ``TRACE`` line), None when it printed none."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("TRACE ")]
    if not lines:
        return None
    try:
        got = json.loads(lines[-1][6:])
    except ValueError:
        return None
    return got if isinstance(got, dict) and isinstance(got.get("rows"), list) else None


def _row(row: dict[str, Any]) -> str:
    kind = row.get("kind")
    if kind == "line":
        text = str(row.get("text", ""))[:100]
        values = ", ".join(f"{k}={v}" for k, v in dict(row.get("set") or {}).items())
        return f"{row.get('at', '?'):>5}  {text}" + (f"    # {values}" if values else "")
    if kind == "call":
        return f"called with {row.get('value', '')}"
    verb = {"yield": "yields", "return": "returns", "raise": "raises"}.get(str(kind), str(kind))
    return f"       -> {verb} {row.get('value', '')}"


def render(trace: dict[str, Any], *, target: str, expr: str) -> str:
    """The developer's section: the example, its value now, and the lines it ran in ``target``."""
    rows = [r for r in trace["rows"] if isinstance(r, dict)]
    lines = [_ADDRESS.sub("", _row(r)) for r in rows]
    if len(lines) > HEAD + TAIL:
        skipped = len(lines) - HEAD - TAIL
        lines = [*lines[:HEAD], f"       ... {skipped} more lines run ...", *lines[-TAIL:]]
    more = " (and more, not recorded)" if trace.get("cut") else ""
    head = (
        f"## how the report's example runs now\n`{expr}` gives `{trace.get('shown', '?')}` on the "
        f"current code. The lines it ran in `{target}`, in order, with the values each line "
        f"set{more}:"
    )
    return head + "\n" + "\n".join(lines) if lines else head + "\n(it never ran that function)"
