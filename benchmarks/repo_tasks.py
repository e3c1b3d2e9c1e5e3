"""Repository-level tasks from real registry packages (for bench_agents.py), three kinds:

- ``stub`` (this module, Commit0-style): each task takes a package's source distribution from PyPI (pinned version), strips one
function's body (signature and docstring kept) and keeps the package plus the one test module
that exercises it. The story asks for the function by name; the judge runs the package's own
tests for it (the original test module, whatever the fleet did to the tests) in bubblewrap.
- ``bug`` and ``change`` (``dev_tasks.py``, data in ``dev_tasks.yaml``): a seeded fault to fix
  from a user's report, or a behaviour to add back, judged by the package's own tests of the
  function, which the fleet never sees.

``python benchmarks/repo_tasks.py [--kind stub,bug,change] [--id ID]`` checks every task: the
judge passes on the original code and fails on the stripped/altered one (bug and change tasks
also: the visible tests pass on the altered code, the story's example shows the fault).

None of these packages is reserved for acceptance (DEVELOPERS.md).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import BenchTask, git_repo, sandbox_python, sdist

from fleet.contracts import Story

# (package, version, package dir in the sdist, module, function, test module, pytest -k)
TASKS = [
    ("toolz", "1.2.0", "toolz", "toolz/itertoolz.py", "frequencies",
     "toolz/tests/test_itertoolz.py", "test_frequencies"),
    ("toolz", "1.2.0", "toolz", "toolz/dicttoolz.py", "valmap",
     "toolz/tests/test_dicttoolz.py", "test_valmap"),
    ("more-itertools", "11.2.1", "more_itertools", "more_itertools/more.py", "ilen",
     "tests/test_more.py", "IlenTests"),
    ("toolz", "1.2.0", "toolz", "toolz/itertoolz.py", "sliding_window",
     "toolz/tests/test_itertoolz.py", "test_sliding_window"),
    ("more-itertools", "11.2.1", "more_itertools", "more_itertools/more.py", "last",
     "tests/test_more.py", "LastTests"),
    ("more-itertools", "11.2.1", "more_itertools", "more_itertools/recipes.py", "take",
     "tests/test_recipes.py", "TakeTests"),
    ("toolz", "1.2.0", "toolz", "toolz/itertoolz.py", "interleave",
     "toolz/tests/test_itertoolz.py", "test_interleave"),
    ("toolz", "1.2.0", "toolz", "toolz/dicttoolz.py", "keyfilter",
     "toolz/tests/test_dicttoolz.py", "test_keyfilter"),
    ("more-itertools", "11.2.1", "more_itertools", "more_itertools/more.py", "first",
     "tests/test_more.py", "FirstTests"),
    ("toolz", "1.2.0", "toolz", "toolz/itertoolz.py", "partition_all",
     "toolz/tests/test_itertoolz.py", "test_partition_all"),
    ("toolz", "1.2.0", "toolz", "toolz/dicttoolz.py", "assoc_in",
     "toolz/tests/test_dicttoolz.py", "test_assoc_in"),
    ("more-itertools", "11.2.1", "more_itertools", "more_itertools/recipes.py",
     "unique_everseen", "tests/test_recipes.py", "UniqueEverseenTests"),
]  # fmt: skip


def strip(source: str, func: str) -> str:
    """``source`` with top-level ``func``'s body removed (signature and docstring kept)."""
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == func)
    lines = source.split("\n")
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    keep_to = first.end_lineno if has_doc else node.body[0].lineno - 1
    indent = " " * (node.col_offset + 4)
    body = [] if has_doc else [f"{indent}pass"]
    return "\n".join(lines[:keep_to] + body + lines[node.end_lineno :])  # type: ignore[index]


def repo_tasks(limit: int) -> list[Any]:
    out = []
    for name, version, pkg, module, func, test_mod, selector in TASKS[:limit]:
        files = sdist(name, version)
        kept = {p: t for p, t in files.items() if p.startswith(f"{pkg}/") and "/tests/" not in p}
        original = kept[module]
        kept[module] = strip(original, func)
        kept[test_mod] = files[test_mod]
        for init in ("tests/__init__.py", f"{pkg}/tests/__init__.py"):
            if test_mod.startswith(init.rsplit("/", 1)[0] + "/") and init in files:
                kept[init] = files[init]
        kept["README.md"] = f"# {name} {version}\n"
        dotted = module.removesuffix(".py").replace("/", ".")
        story = Story(
            id=f"repo-{name}-{func}",
            title=f"Implement {func} in {dotted.split('.')[0]}",
            description=f"The function {func} lost its implementation: only its signature and "
            "docstring are left. Implement it so that it does what its docstring says and the "
            "package's tests pass.",
        )

        def judge(tree: Path, test_mod: str = test_mod, selector: str = selector,
                  original_test: str = files[test_mod], pkg: str = pkg) -> tuple[bool, str]:  # fmt: skip
            tree_files = {
                str(p.relative_to(tree)): p.read_text()
                for p in tree.rglob("*.py")
                if ".git" not in p.parts and ".fleet" not in p.parts
            }
            tree_files[test_mod] = original_test  # the package's own test, never the fleet's
            argv = ["-m", "pytest", "-q", "-p", "no:cacheprovider", test_mod, "-k", selector]
            result = sandbox_python(tree_files, argv, timeout_s=120)
            ok = result.status == "passed" and result.exit_code == 0
            return ok, "" if ok else result.stdout[-300:]

        out.append(BenchTask(id=f"{name}:{func}", kind="stub", files=kept, story=story,
                             judge=judge, extra={"original": original, "module": module}))  # fmt: skip
    return out


KINDS = ("stub", "bug", "change")


def all_tasks(kinds: Sequence[str] = KINDS) -> list[Any]:
    """The repository tasks of ``kinds``: the stubs in their order when alone, else the kinds
    interleaved (stub, bug, change, stub, ...) so that a slice still measures every kind."""
    import dev_tasks

    lists = [repo_tasks(len(TASKS))] if "stub" in kinds else []
    table = dev_tasks.load()
    lists += [[dev_tasks.bench_task(t) for t in table if t.kind == k] for k in dev_tasks.KINDS
              if k in kinds]  # fmt: skip
    out = []
    for n in range(max(map(len, lists), default=0)):
        out += [tasks[n] for tasks in lists if n < len(tasks)]
    return out


def parse_kinds(spec: str) -> list[str]:
    """``"bug,change"`` -> ``["bug", "change"]`` (an unknown kind is an error)."""
    kinds = [k.strip() for k in spec.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be among {', '.join(KINDS)}: {spec!r}")
    return kinds


def _check_stub(task: Any, root: Path) -> list[str]:
    module = task.extra["module"]
    fixed = git_repo({**task.files, module: task.extra["original"]}, root / "o")
    ok_fixed, why = task.judge(fixed)
    problems = [] if ok_fixed else [f"judge fails on the original: {why[-200:]}"]
    if task.judge(git_repo(task.files, root / "s"))[0]:
        problems.append("judge passes on the stripped code (it judges nothing)")
    return problems


def check_originals(kinds: Sequence[str] = KINDS, ids: Sequence[str] = ()) -> int:
    """Sanity check of every task (``ids``: only these); the number of tasks with a problem."""
    import tempfile

    import dev_tasks

    bad = 0
    for task in all_tasks(kinds):
        if ids and task.id not in ids:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            check = _check_stub if task.kind == "stub" else dev_tasks.check
            problems = check(task, Path(tmp))
        print(f"{task.kind} {task.id}: {'ok' if not problems else 'BAD: ' + '; '.join(problems)}",
              flush=True)  # fmt: skip
        bad += bool(problems)
    print(f"{bad} bad task(s)")
    return bad


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    ap = argparse.ArgumentParser(description="check every repository task")
    ap.add_argument("--kind", default=",".join(KINDS), help="stub,bug,change")
    ap.add_argument("--id", action="append", default=[], help="only this task (repeatable)")
    a = ap.parse_args()
    raise SystemExit(check_originals(parse_kinds(a.kind), a.id))
