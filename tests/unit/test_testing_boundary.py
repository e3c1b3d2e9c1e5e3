"""Test doubles stay out of production: ``fleet.testing`` (fakes, scripted council members,
sample timelines) is imported by tests and benchmarks only.

Production code (``fleet``, ``actors``, ``serve_apps``, ``cluster``) never imports it at module
level. The one way in is the user-facing ``scripted`` model backend: the adapter registry names
``fleet.testing.fakes:ScriptedChatModel`` (imported only when that backend is asked for) and the
bundled sample's scripts for that model import ``instance_of`` inside the script.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.unit.test_architecture import ROOT, modules

PRODUCTION = ("fleet", "actors", "serve_apps", "cluster")
# module -> why it may import fleet.testing inside a function (never at module level)
LAZY_ALLOWED = {
    "fleet.orchestrator.sample": "scripted_developer is a script of the scripted model only",
}
# module -> why it may name fleet.testing in a string (an import path resolved on demand)
NAMED_ALLOWED = {
    "fleet.adapters.registry": "the scripted chat backend, imported only when it is named",
}


def _is_testing(name: str) -> bool:
    return name == "fleet.testing" or name.startswith("fleet.testing.")


def _testing_imports(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """Each import of ``fleet.testing`` with whether it sits inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool]]:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import) and any(_is_testing(a.name) for a in child.names):
                yield child, inner
            elif isinstance(child, ast.ImportFrom) and child.module is not None:
                names = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
                if any(_is_testing(n) for n in names):
                    yield child, inner
            yield from walk(child, inner)

    yield from walk(tree, False)


def offences(mods: Mapping[str, Path]) -> list[str]:
    """Production modules that import or name ``fleet.testing`` where they may not."""
    out = []
    for name, path in sorted(mods.items()):
        if _is_testing(name):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, in_function in _testing_imports(tree):
            if not in_function:
                out.append(f"{name}:{node.lineno}: imports fleet.testing at module level")
            elif name not in LAZY_ALLOWED:
                out.append(f"{name}:{node.lineno}: imports fleet.testing (in a function)")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _is_testing(node.value.partition(":")[0])
                and name not in NAMED_ALLOWED
            ):
                out.append(f"{name}:{node.lineno}: names {node.value!r}")
    return out


def test_production_never_imports_the_test_doubles():
    mods = modules(ROOT, PRODUCTION)
    assert "fleet.testing.fakes" in mods and "fleet.adapters.registry" in mods
    assert offences(mods) == []


def test_the_scripted_backend_is_the_way_in():
    from fleet.adapters import registry
    from fleet.testing.fakes import ScriptedChatModel

    assert registry.implementation("chat", "scripted") is ScriptedChatModel


def test_no_test_double_is_left_in_the_domain_packages():
    left = [
        str(p.relative_to(ROOT))
        for top in PRODUCTION
        for p in (ROOT / top).rglob("*.py")
        if (p.stem in ("fakes", "sample_timeline") or p.stem.startswith("fake_"))
        and "testing" not in p.parts
    ]
    assert left == []


def test_the_rule_sees_module_level_lazy_and_named_uses(tmp_path):
    files = {
        "fleet/__init__.py": "",
        "fleet/testing/__init__.py": "",
        "fleet/testing/fakes.py": "from fleet import a\n",
        "fleet/a.py": "from fleet.testing.fakes import FakeClock\n",
        "fleet/b.py": "def f():\n    from fleet.testing import fakes\n",
        "fleet/c.py": "if True:\n    import fleet.testing.council\n",
        "fleet/d.py": 'PATH = "fleet.testing.fakes:ScriptedChatModel"\n',
        "fleet/e.py": '"""See fleet.testing for the fakes."""\n',
        "actors/__init__.py": "",
        "actors/x.py": "class X:\n    def m(self):\n        from fleet.testing.fakes import Y\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert offences(modules(tmp_path, ("fleet", "actors"))) == [
        "actors.x:3: imports fleet.testing (in a function)",
        "fleet.a:1: imports fleet.testing at module level",
        "fleet.b:2: imports fleet.testing (in a function)",
        "fleet.c:2: imports fleet.testing at module level",
        "fleet.d:1: names 'fleet.testing.fakes:ScriptedChatModel'",
    ]
