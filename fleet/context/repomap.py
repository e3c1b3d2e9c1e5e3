"""A repository map ranked by relevance to a task, and the most relevant code (aider-style).

Each Python file is indexed with ``ast``: classes, functions and methods with their signatures
and first docstring lines, the modules it imports, and the identifiers it uses. Files are
ranked by BM25 between the task's words (identifiers split into words) and each file's words
(its path and symbol names weigh more than its body), then the score spreads along the import
graph, so a file that imports or is imported by a matching file ranks above unrelated ones.
Other text files are listed by path and ranked by their words.
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fleet import pysource

WHOLE_FILE_CHARS = 6_000  # larger files are shown as their most relevant functions
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by for from if in into is it of on or so that the this to with "
        "self cls def return none true false import class not as i we want should can when then "
        "given user story task returns raises",
    )
)
TEXT_SUFFIXES = (".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".json")


def words(text: str) -> list[str]:
    """Lower-case words of ``text``: identifiers and their snake/camel parts, no stop words."""
    out: list[str] = []
    for ident in _WORD.findall(text):
        parts = [p for p in re.split(r"_|(?<=[a-z0-9])(?=[A-Z])", ident) if p]
        for w in {ident.lower(), *(p.lower() for p in parts)}:
            if len(w) > 1 and w not in _STOP:
                out.append(w)
    return out


@dataclass(frozen=True)
class Symbol:
    """A class, function or method: where it is and how it is called."""

    name: str
    line: str  # "def f(a, b) -> int" / "class C(Base)"
    doc: str
    start: int
    end: int
    depth: int = 0


@dataclass
class FileInfo:
    path: str
    symbols: list[Symbol] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)
    terms: Counter[str] = field(default_factory=Counter)


def _signature(node: ast.AST) -> str:
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(pysource.unparse(b) for b in node.bases)
        return f"class {node.name}({bases})" if bases else f"class {node.name}"
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ret = f" -> {pysource.unparse(node.returns)}" if node.returns else ""
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    return f"{prefix} {node.name}({pysource.unparse(node.args)}){ret}"


def _symbols(body: list[ast.stmt], depth: int = 0) -> list[Symbol]:
    out = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            doc = (ast.get_docstring(node) or "").strip().split("\n")[0][:120]
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.append(
                Symbol(node.name, _signature(node), doc, start, node.end_lineno or start, depth)
            )
            if isinstance(node, ast.ClassDef) and depth == 0:
                out += _symbols(node.body, depth + 1)
    return out


def _module(path: str) -> str:
    mod = path[:-3] if path.endswith(".py") else path
    mod = mod.removesuffix("/__init__")
    return mod.removeprefix("src/").replace("/", ".")


def index(files: Mapping[str, str]) -> dict[str, FileInfo]:
    """Index every text file (Python ones with their symbols and imports)."""
    out: dict[str, FileInfo] = {}
    for path, text in sorted(files.items()):
        if not path.endswith(TEXT_SUFFIXES):
            continue
        info = FileInfo(path)
        info.terms.update(words(path) * 3)
        if path.endswith(".py"):
            try:
                tree = pysource.parse(text)
            except SyntaxError:
                tree = None
            if tree is not None:
                info.symbols = _symbols(tree.body)
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        info.imports |= {a.name for a in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.module:
                        base = node.module
                        info.imports |= {base, *(f"{base}.{a.name}" for a in node.names)}
                for s in info.symbols:
                    info.terms.update(words(s.name) * 3 + words(s.doc))
        info.terms.update(words(text[:50_000]))
        out[path] = info
    return out


def rank(infos: Mapping[str, FileInfo], query: str) -> list[tuple[str, float]]:
    """Files by relevance to ``query``: BM25, then spread along the import graph."""
    q = set(words(query))
    n = len(infos) or 1
    avg = sum(sum(i.terms.values()) for i in infos.values()) / n or 1.0
    df = Counter(t for i in infos.values() for t in set(i.terms) & q)
    scores: dict[str, float] = {}
    for path, info in infos.items():
        size = sum(info.terms.values())
        s = 0.0
        for t in q & set(info.terms):
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            tf = info.terms[t]
            s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * size / avg))
        scores[path] = s + _prior(path)
    by_module = {_module(p): p for p in infos if p.endswith(".py")}
    spread = dict(scores)
    for path, info in infos.items():
        for imp in info.imports:
            target = by_module.get(imp) or by_module.get(imp.rsplit(".", 1)[0])
            if target and target != path:
                spread[target] += 0.3 * scores[path]
                spread[path] += 0.3 * scores[target]
    return sorted(spread.items(), key=lambda kv: (-kv[1], kv[0]))


def _is_source(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.endswith(".py") and not (name.startswith("test") or path.startswith("tests/"))


def _prior(path: str) -> float:
    """A tie-breaker when no word matches: source before tests before other files."""
    if not path.endswith(".py"):
        return 0.0
    name = path.rsplit("/", 1)[-1]
    return 0.01 if name.startswith("test") or path.startswith("tests/") else 0.02


def map_items(
    infos: Mapping[str, FileInfo],
    ranked: list[tuple[str, float]],
    hide: Sequence[tuple[str, int, int]] = (),
) -> list[str]:
    """One map entry per file, most relevant first: its symbols with signatures and doc lines,
    less those inside a ``hide`` span (path, first line, last line)."""
    items = []
    for path, _ in ranked:
        lines = [f"{path}:"]
        for s in infos[path].symbols:
            if any(p == path and a <= s.start and s.end <= b for p, a, b in hide):
                continue
            doc = f"  # {s.doc}" if s.doc else ""
            lines.append(f"{'    ' * (s.depth + 1)}{s.line}{doc}")
        items.append("\n".join(lines))
    return items


def code_items(
    files: Mapping[str, str], infos: Mapping[str, FileInfo], ranked: list[tuple[str, float]],
    query: str, *, top: int = 5,
) -> list[str]:  # fmt: skip
    """Full text of the most relevant files (large ones: their most relevant functions), source
    files first: the code a change goes into, before the tests and documents that mention the
    task's words (the budget keeps as many as fit, in this order)."""
    q = set(words(query))
    items = []
    relevant = [(p, s) for p, s in ranked if s > 0]
    relevant.sort(key=lambda ps: not _is_source(ps[0]))  # stable: by relevance within each kind
    for path, _ in relevant[:top]:
        text = files[path]
        if len(text) <= WHOLE_FILE_CHARS:
            items.append(f"### {path}\n{text}")
            continue
        lines = text.split("\n")
        syms = sorted(
            (s for s in infos[path].symbols if s.depth == 0),
            key=lambda s: -len(q & set(words(s.name + " " + s.doc))),
        )
        for s in syms[:3]:
            body = "\n".join(lines[s.start - 1 : s.end])
            items.append(f"### {path} (lines {s.start}-{s.end})\n{body}")
    return items
