"""Repository-level tasks from real registry packages, Commit0-style (for bench_agents.py).

Each task takes a package's source distribution from PyPI (pinned version), strips one
function's body (signature and docstring kept) and keeps the package plus the one test module
that exercises it. The story asks for the function by name; the judge runs the package's own
tests for it (the original test module, whatever the fleet did to the tests) in bubblewrap.

None of these packages is reserved for acceptance (DEVELOPERS.md).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

from fleet.contracts import Story

CACHE = Path.home() / ".cache" / "swe-fleet-bench"
RESERVED = {
    "inflection", "humanize", "parse", "semver", "docopt", "schema", "isodate", "jmespath",
    "pytimeparse", "python-slugify", "tabulate", "wcwidth", "boltons", "cachetools", "tinydb",
    "jsonpointer", "pathspec", "iso8601",
}  # fmt: skip

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


def sdist(name: str, version: str) -> dict[str, str]:
    """Path -> text of the package's source distribution (cached), from PyPI's simple index."""
    assert name not in RESERVED, f"{name} is reserved for acceptance"
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"{name}-{version}.tar.gz"
    if not target.exists():
        print(f"  fetching {name}=={version} (sdist)", flush=True)
        page = urllib.request.urlopen(f"https://pypi.org/simple/{name}/", timeout=60).read()
        norm = re.escape(name.replace("-", "_"))
        links = re.findall(rf'href="([^"#]*(?:{norm}|{re.escape(name)})-{re.escape(version)}'
                           rf'\.tar\.gz)[^"]*"', page.decode(), re.I)  # fmt: skip
        if not links:
            raise RuntimeError(f"no sdist of {name}=={version} on the index")
        target.write_bytes(urllib.request.urlopen(links[0], timeout=120).read())
    out: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(target.read_bytes())) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".py"):
                rel = member.name.split("/", 1)[1]
                out[rel] = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    return out


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
    from bench_agents import BenchTask, sandbox_python

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

        out.append(BenchTask(id=f"{name}:{func}", kind="repo", files=kept, story=story,
                             judge=judge, extra={"original": original, "module": module}))  # fmt: skip
    return out


def check_originals() -> int:
    """Sanity check: every task's judge passes on the original function, fails on the stripped."""
    import tempfile

    from bench_agents import git_repo

    bad = 0
    for task in repo_tasks(len(TASKS)):
        with tempfile.TemporaryDirectory() as tmp:
            stripped = git_repo(task.files, Path(tmp) / "s")
            module = task.extra["module"]
            fixed = git_repo({**task.files, module: task.extra["original"]}, Path(tmp) / "o")
            ok_fixed, why = task.judge(fixed)
            ok_stripped, _ = task.judge(stripped)
            print(f"{task.id}: original {'pass' if ok_fixed else 'FAIL ' + why[-200:]}, "
                  f"stripped {'PASS (bad task)' if ok_stripped else 'fails'}")  # fmt: skip
            bad += (not ok_fixed) + ok_stripped
    return bad


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(check_originals())
