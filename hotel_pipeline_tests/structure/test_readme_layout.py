"""README's layout section names every package, module and document there is (and docs/architecture.md exists)."""

from __future__ import annotations

import re

from hotel_pipeline.core import settings


def layout_block() -> str:
    readme = (settings.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"## Layout\n\n```\n(.*?)```", readme, re.S).group(1)


def test_the_layout_names_every_part_of_the_package() -> None:
    package = settings.REPO_ROOT / "hotel_pipeline"
    parts = {p.name + ("/" if p.is_dir() else "") for p in package.iterdir()
             if not p.name.startswith(("_", ".")) and (p.is_dir() or p.suffix == ".py")}
    parts |= {f"{p.parent.name}/{p.name}/" for p in (package / "sources").iterdir() if p.is_dir() and p.name[0] != "_"}
    block = layout_block()
    assert [p for p in sorted(parts) if p not in block and p.removesuffix("/") + "/" not in block] == []


def test_the_layout_names_every_document() -> None:
    block = layout_block()
    docs = sorted(p.name for p in (settings.REPO_ROOT / "docs").glob("*.md"))
    assert "architecture.md" in docs
    assert [d for d in docs if d not in block] == []
