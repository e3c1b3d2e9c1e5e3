"""Every internal link of the README and docs/ resolves: the file exists, and so does the anchor.

`make docs` runs this before `mkdocs build --strict` (which checks the site's own links again);
this test also covers the README, which is not part of the site, and links into the repository.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _slug(heading: str) -> str:
    """Python-Markdown's toc slug (what MkDocs uses for anchors)."""
    text = re.sub(r"[`*_]", "", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    body = FENCE.sub("", page.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", body, re.M)}


def _links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text()))


def _broken(page: Path, target: str) -> str | None:
    if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
        return None
    path, _, anchor = target.partition("#")
    dest = (page.parent / path).resolve() if path else page
    if not dest.exists():
        return f"{target}: no such file"
    if anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
        return f"{target}: no heading #{anchor} in {dest.name}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_internal_link_resolves(page: Path):
    broken = [b for t in _links(page) if (b := _broken(page, t))]
    assert broken == []


def test_every_docs_page_is_in_the_site_nav():
    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict):
            return [p for v in node.values() for p in pages(v)]
        if isinstance(node, list):
            return [p for v in node for p in pages(v)]
        return []

    nav = pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    assert sorted(nav) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))


def test_the_link_check_catches_a_broken_link(tmp_path: Path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n\n## A section\n")
    assert _broken(page, "p.md#a-section") is None
    assert _broken(page, "p.md#nope") == "p.md#nope: no heading #nope in p.md"
    assert _broken(page, "missing.md") == "missing.md: no such file"
