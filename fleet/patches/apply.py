"""Apply parsed edits to file contents (pure: a mapping in, a new mapping out)."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import replace

from fleet import pysource
from fleet.patches import docstrings
from fleet.patches.edits import Edit, EditError, FunctionEdit, SearchReplace, quotes_map
from fleet.patches.merge import carry
from fleet.patches.nearest import foreign, misremembered, nearest
from fleet.workspace import path_problem


def apply_edits(
    files: Mapping[str, str],
    edits: Sequence[Edit],
    *,
    misquotes: bool = True,
    whole_misquotes: bool = True,
) -> dict[str, str]:
    """``files`` with ``edits`` applied, in order; Python files must still parse.

    A SEARCH part that matches nothing is a misquote of the current lines it most likely means
    (``nearest``): its change (SEARCH -> REPLACE) is carried over to those lines
    (``merge.carry``); failing that, a REPLACE part that is whole functions replaces them
    (``_as_functions``). With ``misquotes`` False, neither when a code line of the SEARCH part is
    not in those lines: the REPLACE part was written from code that is not there, and the
    ``misquoted`` error shows the current code (the author asks again before trusting it).
    With ``whole_misquotes`` False, a misquote's change is carried over but its whole functions
    are not applied as written (``misquoted`` then: the author keeps an earlier reply's carried
    change instead).

    Raises:
        EditError: a search text not found or found twice, an unsafe path, a function whose
            file cannot be told, or a Python file that no longer parses.
    """
    out = dict(files)
    touched: list[str] = []
    for edit in edits:
        path = (
            _search_file(out, edit)
            if isinstance(edit, SearchReplace)
            else _function_file(out, edit)
        )
        if why := path_problem(path):
            raise EditError(reason="unsafe_path", path=path, detail=why)
        if isinstance(edit, SearchReplace):
            edit = replace(edit, path=path)  # its errors name the file it went to
            if (whole := _header_then_whole(out.get(path), edit)) is not None:
                out[path] = _replace_functions(out[path], whole, path)
                touched.append(path)
                continue
            edit = _unelided(out.get(path), edit)
            try:
                out[path] = _search_replace(out.get(path), edit)
            except EditError as exc:
                if exc.fields.get("reason") != "not_found":
                    raise
                carried = _carried(out.get(path), edit, path, misquotes=misquotes)
                if carried is not None:
                    out[path] = carried
                    touched.append(path)
                    continue
                whole = _as_functions(out, edit)
                if whole is None:
                    raise
                path = whole.path or path  # the one file defining the functions
                if not (misquotes and whole_misquotes):
                    _check_memory(out[path], edit, whole)
                out[path] = _replace_functions(out[path], whole, path)
        else:
            out[path] = _replace_functions(out.get(path, ""), edit, path)
        touched.append(path)
    for path in dict.fromkeys(touched):
        if path.endswith(".py"):
            _check_syntax(path, out[path], new=[_new_text(e) for e in edits])
    return out


def _unelided(current: str | None, edit: SearchReplace) -> SearchReplace:
    """``edit`` with the docstrings its SEARCH part quotes as elided (code shown to a developer
    elides unchanged ones: ``docstrings.elided``) written out as ``current`` holds them."""
    if current is None or edit.search in current:
        return edit
    found = docstrings.unelided(current, edit.search, edit.replace)
    return edit if found is None else replace(edit, search=found[0], replace=found[1])


def _new_text(edit: Edit) -> str:
    return edit.replace if isinstance(edit, SearchReplace) else edit.code


def _check_syntax(path: str, text: str, new: Sequence[str] = ()) -> None:
    """Raises ``syntax`` naming the line, where on it the parser stopped, and whether the line is
    the reply's own (``new``: the edits' new text), so the correction fixes that part."""
    try:
        pysource.parse(text)
    except SyntaxError as exc:
        raw = (exc.text or "").rstrip("\n")
        line = raw.strip()
        at = raw[exc.offset - 1 :].strip() if exc.offset and 0 < exc.offset <= len(raw) else ""
        where = f" (at {at!r})" if at and at != line else ""
        mine = (
            "; the line is your new code: keep your SEARCH part and correct the new lines"
            if line and any(line in t for t in new)
            else ""
        )
        raise EditError(
            reason="syntax",
            path=path,
            detail=f"after the edit the file does not parse: {exc.msg} at line {exc.lineno}"
            + (f": {line!r}{where}" if line else "")
            + mine,
            new_code=bool(mine),
        ) from None


# ------------------------------------------------------------------ search/replace


def _search_replace(current: str | None, edit: SearchReplace) -> str:
    if not edit.search.strip():
        if current is None or not current.strip():
            return edit.replace
        return current.rstrip("\n") + "\n\n" + edit.replace
    if current is None:
        raise EditError(
            reason="not_found",
            path=edit.path,
            detail="no such file; to create it use an empty SEARCH part",
        )
    count = current.count(edit.search)
    if count == 1:
        return current.replace(edit.search, edit.replace, 1)
    if count > 1:
        raise EditError(
            reason="ambiguous",
            path=edit.path,
            detail=f"the SEARCH text occurs {count} times; include more lines to make it unique",
        )
    return _fuzzy(current, edit)


_HEADER = re.compile(r"^(?:async\s+)?def\s+(\w+)\s*\(.*\)\s*(?:->.*)?:\s*$")


def _header_then_whole(current: str | None, edit: SearchReplace) -> FunctionEdit | None:
    """A block whose SEARCH part is only a function's ``def`` line (and decorators) and whose
    REPLACE part is that whole function, body included: the model quoted the line to say which
    function it rewrites. Applied as written, the new body would land above the old one (which
    still parses, a second body after the first's ``return``); so it replaces the function
    (top-level, or a method of a top-level class). Told apart from an edit that inserts lines
    under the ``def`` (a docstring, a check) by the function's first body line, which the
    REPLACE part repeats, or by its new body ending in ``return``/``raise`` (the old body would
    follow it, unreachable). None when it is not such a block."""
    lines = [ln for ln in edit.search.split("\n") if ln.strip()]
    if not current or not lines or current.count(edit.search) != 1:
        return None
    head = _HEADER.match(lines[-1].strip())
    if head is None or not all(ln.strip().startswith("@") for ln in lines[:-1]):
        return None
    after = current.split(edit.search, 1)[1].split("\n")
    first = next((ln.strip() for ln in after if ln.strip()), "")
    code = textwrap.dedent(edit.replace)
    try:
        new = pysource.parse(code)
        tree = pysource.parse(current)
    except SyntaxError:
        return None
    names = tuple(n.name for n in new.body if isinstance(n, _DEFS))
    ours = [n for n in new.body if isinstance(n, _FUNCS) and n.name == head[1]]
    if not ours or not first or not _defines(tree, head[1]):
        return None
    body = code.split("\n")[ours[0].lineno : ours[0].end_lineno]
    ends = isinstance(ours[0].body[-1], ast.Return | ast.Raise)
    if first not in (ln.strip() for ln in body) and not ends:
        return None
    return FunctionEdit(path=edit.path, code=code, names=names)


def _defines(tree: ast.Module, name: str) -> bool:
    """Whether ``name`` is a top-level function or class, or a method of a top-level class."""
    top = any(isinstance(n, _DEFS) and n.name == name for n in tree.body)
    return top or any(m.name == name for _, m in _methods(tree))


def _fuzzy(current: str, edit: SearchReplace) -> str:
    """Match ignoring trailing spaces and a uniform indentation shift (re-indenting the replacement)."""
    lines = current.split("\n")
    want = edit.search.rstrip("\n").split("\n")
    new = edit.replace.rstrip("\n").split("\n") if edit.replace.strip() else []
    hits: list[tuple[int, str]] = []
    for i in range(len(lines) - len(want) + 1):
        shift = _shift(lines[i : i + len(want)], want)
        if shift is not None:
            hits.append((i, shift))
    if not hits:
        mapped = (
            "; it quotes the repository map (a signature without its colon, with its doc "
            "line), not the file's code"
            if quotes_map(edit)
            else ""
        )
        raise EditError(
            reason="not_found",
            path=edit.path,
            detail=f"the SEARCH text is not in the file{mapped}; copy the current lines exactly "
            f"(first SEARCH line: {want[0].strip()!r})",
            nearest=nearest(current, edit.search) or "",
        )
    if len(hits) > 1:
        raise EditError(
            reason="ambiguous",
            path=edit.path,
            detail=f"the SEARCH text occurs {len(hits)} times; include more lines to make it unique",
        )
    i, shift = hits[0]
    body = [(shift + line) if line.strip() else line for line in new]
    return "\n".join(lines[:i] + body + lines[i + len(want) :])


def _shift(have: list[str], want: list[str]) -> str | None:
    """The indentation to add to ``want`` to get ``have`` (ignoring trailing spaces), or None."""
    shift: str | None = None
    for h, w in zip(have, want, strict=True):
        h, w = h.rstrip(), w.rstrip()
        if not h and not w:
            continue
        if not h.endswith(w.lstrip()) or not w.strip():
            return None
        h_ind, w_ind = h[: len(h) - len(h.lstrip())], w[: len(w) - len(w.lstrip())]
        if not h_ind.endswith(w_ind) or h.lstrip() != w.lstrip():
            return None
        extra = h_ind[: len(h_ind) - len(w_ind)]
        if shift is None:
            shift = extra
        elif shift != extra:
            return None
    return shift


# ------------------------------------------------------------------ whole functions


def _top_names(text: str) -> set[str]:
    try:
        tree = pysource.parse(text)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, _DEFS)}


def _methods(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The methods of the module's top-level classes, with their class names."""
    return [
        (cls.name, node)
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _first(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    params = [*node.args.posonlyargs, *node.args.args]
    return params[0].arg if params else None


def _first_param(source: str) -> str | None:
    """The first parameter of the function ``source`` defines (None: none, or not one function)."""
    try:
        node = pysource.parse(textwrap.dedent(source)).body[0]
    except (SyntaxError, IndexError):
        return None
    return _first(node) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None


def _defined_names(text: str) -> set[str]:
    """Top-level names and top-level classes' method names: what a whole function may replace."""
    try:
        tree = pysource.parse(text)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, _DEFS)} | {m.name for _, m in _methods(tree)}


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _search_file(files: Mapping[str, str], edit: SearchReplace) -> str:
    """The file a SEARCH/REPLACE edit goes to: its path, or — when that file does not exist
    (small models copy the example's path) or no path was given — the one file that holds the
    SEARCH text."""
    if edit.path is not None and (edit.path in files or not edit.search.strip()):
        return edit.path
    holders = [p for p, text in sorted(files.items()) if edit.search in text]
    if len(holders) == 1:
        return holders[0]
    if edit.path is None:
        raise EditError(
            reason="malformed",
            detail="a SEARCH/REPLACE block has no file path"
            + (" and its SEARCH text is in several files" if holders else "")
            + ": put the path on the line before <<<<<<< SEARCH",
        )
    return _same_file(files, edit.path) or edit.path


def _same_file(files: Mapping[str, str], path: str) -> str | None:
    """The one existing file ``path`` (which does not exist) ends like, dropping its leading
    directories one at a time: ``path/to/flow.py`` (the edit example's prefix copied) is
    ``funcy/flow.py`` when no other file is called ``flow.py``. Then a misquoted SEARCH is
    reported as not found in that file, not as "no such file" (which invites creating one)."""
    parts = path.split("/")
    for k in range(1, len(parts)):
        tail = "/".join(parts[k:])
        found = [p for p in files if p == tail or p.endswith(f"/{tail}")]
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _carried(current: str | None, edit: SearchReplace, path: str, *, misquotes: bool) -> str | None:
    """``current`` with a misquoted edit's change carried over to the one place it most likely
    means (``merge.carry``), or None (no such place, nothing carried, or a Python file that
    would no longer parse). Raises ``misquoted`` instead when ``misquotes`` is False and a code
    line of the SEARCH part is not in that place."""
    block = nearest(current, edit.search, limit=None) if current else None
    if not current or block is None or current.count(block) != 1:
        return None
    merged = carry(block, edit.search, edit.replace)
    if merged is None:
        return None
    new = current.replace(block, merged, 1)
    if path.endswith(".py"):
        try:
            pysource.parse(new)
        except SyntaxError:
            return None
    if not misquotes and (line := foreign(block, edit.search)) is not None:
        raise EditError(
            reason="misquoted",
            path=path,
            detail=f"your SEARCH part is not the current code: the line {line!r} is not in it, "
            "so your REPLACE part was written from code that is not there",
            nearest=block,
        )
    return new


def _check_memory(current: str, edit: SearchReplace, whole: FunctionEdit) -> None:
    """Raises ``misquoted`` when a code line of the SEARCH part is not in the functions its
    REPLACE part rewrites (``nearest.misremembered``)."""
    if (wrong := misremembered(current, edit.search, whole.names)) is not None:
        line, code = wrong
        raise EditError(
            reason="misquoted",
            path=whole.path,
            detail=f"your SEARCH part is not the current code of {', '.join(whole.names)}: the "
            f"line {line!r} is not in it, so your REPLACE part was written from code that is "
            "not there",
            nearest=code,
        )


def _as_functions(files: Mapping[str, str], edit: SearchReplace) -> FunctionEdit | None:
    """A block whose SEARCH text matches nothing but whose REPLACE part is whole top-level
    functions, each defined in one and the same file: the model misquoted the current code but
    said plainly what the functions should be (small models often do); None otherwise."""
    try:
        tree = pysource.parse(edit.replace)
    except SyntaxError:
        return None
    names = tuple(n.name for n in tree.body if isinstance(n, _DEFS))
    if not names:
        return None
    owners = {
        p
        for p, t in files.items()
        if p.endswith(".py")
        and all(f"def {n}(" in t or f"class {n}" in t for n in names)  # cheap, before parsing
        and set(names) <= _top_names(t)
    }
    return (
        FunctionEdit(path=owners.pop(), code=edit.replace, names=names)
        if len(owners) == 1
        else None
    )


def _function_file(files: Mapping[str, str], edit: FunctionEdit) -> str:
    """The file a function edit goes to: its path, else the one file defining its names
    (also when the named path does not exist, or is not a Python file, but exactly one file
    defines them; when several do, the one the missing path ends like)."""
    owners = [
        p
        for p, t in sorted(files.items())
        if p.endswith(".py") and set(edit.names) & _defined_names(t)
    ]
    if edit.path and edit.path not in files and len(owners) > 1:
        # several files define it: the one the missing path ends like (``path/to/m.py``, the
        # example's prefix copied), not a new file beside them
        same = _same_file(files, edit.path)
        if same in owners:
            return same
    # the named path, unless exactly one file defines the functions and the path is missing or
    # not a Python file (Qwen sent a whole function to README.md)
    if edit.path and (len(owners) != 1 or (edit.path in files and edit.path.endswith(".py"))):
        return edit.path
    if len(owners) == 1:
        return owners[0]
    names = ", ".join(edit.names)
    if not owners:
        raise EditError(
            reason="not_found",
            detail=f"no file defines {names}; put the file path on the line before the code block",
        )
    raise EditError(
        reason="ambiguous",
        detail=f"{names} is defined in {', '.join(owners)}; put the path before the code block",
    )


def _replace_functions(current: str, edit: FunctionEdit, path: str) -> str:
    try:
        new_tree = pysource.parse(edit.code)
    except SyntaxError as exc:
        raise EditError(
            reason="syntax", path=path, detail=f"the code block does not parse: {exc.msg} "
            f"at line {exc.lineno}", new_code=True,
        ) from None  # fmt: skip
    code_lines = edit.code.split("\n")
    text = current
    imports = [n for n in new_tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    for node in new_tree.body:
        if isinstance(node, _DEFS):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            source = "\n".join(code_lines[start - 1 : node.end_lineno])
            text = _put(text, node.name, source, path)
    return _add_imports(text, [ast.get_source_segment(edit.code, n) or "" for n in imports])


def _put(text: str, name: str, source: str, path: str) -> str:
    """``text`` with top-level ``name`` replaced by ``source``; else with the one method of that
    name of a top-level class (``source`` indented as the method was); else with ``source``
    appended. A replaced definition's docstring stays where ``source`` has none
    (``docstrings.kept``)."""
    try:
        tree = pysource.parse(text)
    except SyntaxError as exc:
        raise EditError(
            reason="syntax", path=path, detail=f"the file does not parse ({exc.msg}); use "
            "SEARCH/REPLACE blocks",
        ) from None  # fmt: skip
    lines = text.split("\n")
    for node in tree.body:
        if isinstance(node, _DEFS) and node.name == name:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = node.end_lineno or node.lineno
            source = docstrings.kept(node, lines, source)
            return "\n".join(lines[: start - 1] + source.split("\n") + lines[end:])
    # a method it rewrites: same name, same first parameter (``self``, ``cls``: a new top-level
    # function that shares a method's name is appended, not put into the class)
    first = _first_param(source)
    methods = [(c, m) for c, m in _methods(tree) if m.name == name and _first(m) == first]
    if len(methods) > 1:
        classes = ", ".join(c for c, _ in methods)
        raise EditError(
            reason="ambiguous", path=path, detail=f"{name} is a method of {classes}: write the "
            "whole class, or use SEARCH/REPLACE blocks",
        )  # fmt: skip
    if methods:
        node = methods[0][1]
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        method = textwrap.indent(textwrap.dedent(source), " " * node.col_offset)
        method = docstrings.kept(node, lines, method)
        return "\n".join(lines[: start - 1] + method.split("\n") + lines[end:])
    base = text.rstrip("\n")
    return (base + "\n\n\n" if base else "") + source + "\n"


def _self_import(line: str, defined: set[str]) -> bool:
    """``from x import a, b`` where the file itself defines ``a`` and ``b``: copying it in would
    shadow the file's own definitions or import the file's package into itself (a cycle)."""
    try:
        node = pysource.parse(line).body[0]
    except (SyntaxError, IndexError):
        return False
    return isinstance(node, ast.ImportFrom) and all(
        (a.asname or a.name) in defined for a in node.names
    )


def _isort(name: str) -> tuple[int, str]:
    """isort's order within one import: CONSTANTS, Classes, then functions and modules."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name.lower()


def _merged(text: str, line: str) -> str | None:
    """``text`` with ``line`` (``from m import a, b``) merged into the file's own one-line
    ``from m import ...`` (an export added to ``__init__.py``), or None when it has none."""
    try:
        new = pysource.parse(line).body[0]
        tree = pysource.parse(text)
    except (SyntaxError, IndexError):
        return None
    if not isinstance(new, ast.ImportFrom):
        return None
    lines = text.split("\n")
    for node in tree.body:
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module, node.level) == (new.module, new.level)
            and node.lineno == node.end_lineno
            and not any(a.name == "*" for a in [*node.names, *new.names])
        ):
            have = [ast.get_source_segment(text, a) or a.name for a in node.names]
            more = [ast.get_source_segment(line, a) or a.name for a in new.names]
            names = list(dict.fromkeys(have + more))
            if have == sorted(have, key=_isort):  # keep a sorted line sorted (the lint checks it)
                names.sort(key=_isort)
            start = lines[node.lineno - 1][: node.col_offset]
            dots = "." * node.level
            lines[node.lineno - 1] = (
                f"{start}from {dots}{node.module or ''} import {', '.join(names)}"
            )
            return "\n".join(lines)
    return None


def _add_imports(text: str, imports: list[str]) -> str:
    """Add import lines the file lacks, after its leading docstring/imports (names imported
    from a module the file already imports from join that import line)."""
    defined = _top_names(text)
    missing = []
    for i in imports:
        if not i or i in text or _self_import(i, defined):
            continue
        if (merged := _merged(text, i)) is not None:
            text = merged
        else:
            missing.append(i)
    if not missing:
        return text
    tree = pysource.parse(text)
    at = 0
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and at == 0
        if isinstance(node, ast.Import | ast.ImportFrom) or (is_doc and node is tree.body[0]):
            at = node.end_lineno or at
        else:
            break
    lines = text.split("\n")
    return "\n".join(lines[:at] + missing + lines[at:])
