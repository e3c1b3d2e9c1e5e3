"""Python source from hostile hands (a repository's files, a model's reply), parsed safely.

``ast.parse`` fails on text nested deeply enough in more ways than ``SyntaxError``: a few
thousand unary minuses (``x = ------...1``) or attribute accesses raise ``RecursionError`` or
``MemoryError``, a null byte ``ValueError`` (Python 3.11), and ``ast.unparse`` of a signature
nested 500 deep raises ``RecursionError``. One such file in a repository must not stop every
story on it (the repository map, the stub scan and the patch writer read every Python file), and
one such model reply must be a reply that does not parse, nothing worse. Callers use these two
instead of ``ast.parse`` / ``ast.unparse``.
"""

from __future__ import annotations

import ast

_BROKEN = (RecursionError, MemoryError, ValueError)


def parse(text: str) -> ast.Module:
    """``ast.parse(text)``; every failure is a ``SyntaxError``."""
    try:
        return ast.parse(text)
    except SyntaxError:
        raise
    except _BROKEN as exc:
        raise SyntaxError(f"cannot be parsed ({type(exc).__name__}: nested too deeply?)") from None


def unparse(node: ast.AST, default: str = "...") -> str:
    """``ast.unparse(node)``, or ``default`` when the node is nested too deeply to print."""
    try:
        return ast.unparse(node)
    except _BROKEN:
        return default
